package main

import (
	"fmt"
	"io"
	"slices"

	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/host/sign"
)

func runBundleUpgrade(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bundle upgrade", "bundle upgrade --out FILE BUNDLE", `
Rewrite a bundle of an older format version as the current one
(bundles/FORMAT.md §8.6): the same content, laid out so that the module
uses it in place, every section stored raw, the neighbour lists packed
(format 3), the catalog columns its values imply left out (format 4,
when there are any: 3.x modules refuse it; --max-format 3 keeps them).
A raw bundle of format 3 or newer is left as it is. Sections a format 2
bundle stored compressed (as written before 2026-12-07) are written
raw: the module does not decompress
(edgerec serve does it for the module, a browser or edge worker cannot).
The bundle is validated completely first. A signature does not survive
(it covers the old layout): sign the upgraded bundle again with edgerec
bundle sign.`, stderr)
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
	compressed := slices.ContainsFunc(h.Entries, func(e bundle.Entry) bool { return e.Flags&bundle.FlagZstd != 0 })
	// A raw bundle of format 3 or newer is laid out as modules use it: a
	// deployed 3.x module reads it as it is, which a rewrite as 4.0 would
	// end.
	if !compressed && h.Major >= bundle.MajorPacked {
		return fmt.Errorf("%s is format %d.%d with every section raw already; nothing to upgrade", file, h.Major, h.Minor)
	}
	b, err := bundle.Decode(data)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
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
	fmt.Fprintf(stdout, "upgraded %s (format %s, %d bytes) to %s (format %d.%d, every section raw, %d bytes)\n",
		file, b.Format, len(data), *out, nh.Major, nh.Minor, len(upgraded))
	if st.Signed {
		fmt.Fprintf(stderr, "note: %s was signed (key id %s); the signature covers the old layout and was dropped: sign %s again\n", file, st.KeyID, *out)
	}
	return nil
}
