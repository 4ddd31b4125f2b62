package main

import (
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/host/sign"
)

func runBundleUpgrade(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bundle upgrade", "bundle upgrade --out FILE [--max-format 3] BUNDLE", `
Rewrite a bundle of an older format version as the current one
(bundles/FORMAT.md §8.6): the same content, laid out so that the module
uses it in place, every section stored raw, the neighbour lists packed
(format 3), the catalog columns its values imply left out (format 4,
when there are any: 3.x modules refuse it; --max-format 3 keeps them).
Sections a format 2 bundle stored compressed (as written before
2026-12-07) are written raw: the module does not decompress
(edgerec serve does it for the module, a browser or edge worker cannot).

A raw bundle of format 3 or newer is laid out as modules use it already:
it is copied to --out unchanged (exit 0, with a note on stderr), so that
deployed 3.x modules keep reading a 3.x one, unless --max-format 3 asks
for a 4.x one as 3.x, which is then rewritten.

The bundle is validated completely first. A signature does not survive
a rewrite (it covers the old layout): sign the upgraded bundle again
with edgerec bundle sign. A copy keeps it.`)
	out := fs.String("out", "", "file to write the upgraded bundle to")
	maxFormat := maxFormatFlag(fs)
	file, err := parseFile(fs, args, "upgrade")
	if err != nil {
		return err
	}
	if err := required(fs, "out"); err != nil {
		return err
	}
	major, err := maxFormat()
	if err != nil {
		return err
	}
	data, h, err := readBundleHeader(file)
	if err != nil {
		return err
	}
	b, err := bundle.Decode(data)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	compressed := slices.ContainsFunc(h.Entries, bundle.Entry.Compressed)
	// A raw bundle of format 3 or newer is laid out as modules use it: a
	// deployed 3.x module reads it as it is, which a rewrite as 4.0 would
	// end. Only --max-format below its major rewrites it.
	if !compressed && h.Major >= bundle.MajorPacked && h.Major <= major {
		return copyUnchanged(file, *out, data, h, stderr)
	}
	st, err := sign.Inspect(data)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	upgraded, err := bundle.EncodeMax(b, major)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	nh, err := bundle.ReadHeader(upgraded)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(*out, upgraded); err != nil {
		return err
	}
	verb := "upgraded"
	if nh.Major < h.Major {
		verb = "rewrote" // a 4.x bundle as 3.x, for deployed 3.x modules
	}
	fmt.Fprintf(stdout, "%s %s (format %s, %d bytes) to %s (format %d.%d, every section raw, %d bytes)\n",
		verb, file, b.Format, len(data), *out, nh.Major, nh.Minor, len(upgraded))
	if st.Signed {
		fmt.Fprintf(stderr, "note: %s was signed (key id %s); the signature covers the old layout and was dropped: sign %s again\n", file, st.KeyID, *out)
	}
	return nil
}

// copyUnchanged writes data, the bundle file with header h that needs no
// upgrade, to out unchanged (nothing when out is file itself) and says so
// on stderr: "nothing to do" succeeds, so that a pipeline can upgrade
// every bundle it holds.
func copyUnchanged(file, out string, data []byte, h *bundle.Header, stderr io.Writer) error {
	why := fmt.Sprintf("%s is format %d.%d with every section raw, as the builder writes it: nothing to upgrade", file, h.Major, h.Minor)
	also := ""
	if h.Major > bundle.MajorPacked {
		also = fmt.Sprintf(" (--max-format %d rewrites it as %d.x for %d.x modules)", bundle.MajorPacked, bundle.MajorPacked, bundle.MajorPacked)
	}
	if sameFile(file, out) {
		fmt.Fprintf(stderr, "note: %s; left as it is (--out is the input)%s\n", why, also)
		return nil
	}
	if err := writeFileAtomic(out, data); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "note: %s; copied unchanged to %s%s\n", why, out, also)
	return nil
}

// sameFile reports whether the paths a and b name one existing file.
func sameFile(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(sa, sb)
}
