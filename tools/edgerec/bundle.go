package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/host/sign"
	"github.com/edgerec/edgerec/tools/builder"
	"github.com/edgerec/edgerec/tools/model"
)

func runBundle(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("want a subcommand: build, inspect, sign or verify")
	}
	switch args[0] {
	case "build":
		return runBundleBuild(args[1:], stdout, stderr)
	case "inspect":
		return runBundleInspect(args[1:], stdout, stderr)
	case "sign": // sign.go
		return runBundleSign(args[1:], stdout, stderr)
	case "verify": // sign.go
		return runBundleVerify(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintf(stderr, "Usage:\n  edgerec bundle build --model MODELDIR --data DIR --out FILE\n  edgerec bundle inspect FILE [--json]\n  edgerec bundle sign --key FILE [--out FILE] BUNDLE\n  edgerec bundle verify [--public-key FILE] [--json] BUNDLE\n")
		return nil
	}
	return usagef("unknown subcommand %q (want build, inspect, sign or verify)", args[0])
}

func runBundleBuild(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bundle build", "bundle build --model MODELDIR --data DIR [--format F] --out FILE [flags]", `
Build a bundle from a trained model and a catalog: run the item tower over
every catalog item (items the model never saw are embedded from their
categories alone), quantize the embeddings to int8, and pack them with the
query tower, the vocabularies and the item metadata (bundles/FORMAT.md).
The same inputs always give the same bytes.`, stderr)
	modelDir := fs.String("model", "", "model directory from `edgerec train`")
	dir, format := dataFlags(fs)
	out := fs.String("out", "", "bundle file to write")
	version := fs.String("version", "", "version label (default: data set name and training time)")
	created := fs.Int64("created", 0, "creation time in Unix seconds (default: the model's training time)")
	rulesFile := fs.String("rules", "", "JSON file of business rules and experiment arms (see bundles/FORMAT.md §5.8)")
	noSources := fs.Bool("no-sources", false, "leave out the co-visitation, popular, trending, fresh and exploration sources")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "model", "data", "out"); err != nil {
		return err
	}
	m, err := model.Load(*modelDir)
	if err != nil {
		return err
	}
	var rules *builder.Rules
	if *rulesFile != "" {
		if rules, err = builder.LoadRules(*rulesFile); err != nil {
			return err
		}
	}
	ds, err := loadData(*dir, *format, stderr)
	if err != nil {
		return err
	}
	start := time.Now()
	b, err := builder.Build(m, ds, builder.Options{Version: *version, Created: *created, Builder: "edgerec bundle build",
		Rules: rules, NoSources: *noSources,
		Progress: func(done, total int) {
			fmt.Fprintf(stderr, "\rembedding items %d/%d", done, total)
			if done == total {
				fmt.Fprintln(stderr)
			}
		}})
	if err != nil {
		return err
	}
	data, err := bundle.Encode(b)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(*out, data); err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	fmt.Fprintf(stdout, "wrote %s: %d items, %d bytes (%.1f bytes/item), version %s, sha256 %s (%.1fs)\n",
		*out, b.Manifest.Items, len(data), float64(len(data))/float64(b.Manifest.Items), b.Manifest.Version,
		hex.EncodeToString(sum[:]), time.Since(start).Seconds())
	return nil
}

// writeFileAtomic writes data to a temporary file beside path and renames
// it, so a reader (a serving node watching the file) never sees half a file.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".bundle-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// inspection is what `bundle inspect --json` prints.
type inspection struct {
	File     string           `json:"file"`
	Bytes    int              `json:"bytes"`
	SHA256   string           `json:"sha256"`
	Format   string           `json:"format_version"`
	Sections []sectionInfo    `json:"sections"`
	Manifest *bundle.Manifest `json:"manifest"`
	Counts   map[string]int   `json:"counts"`
	Ranker   *rankerInfo      `json:"ranker,omitempty"`
	// Signature is "unsigned" or "ed25519 key KEYID (not verified)"
	// (sign.go; bundle verify checks it).
	Signature string `json:"signature"`
}

type rankerInfo struct {
	Depth    int      `json:"depth"`
	Features []string `json:"features"`
}

type sectionInfo struct {
	Tag        string `json:"tag"`
	Compressed bool   `json:"compressed"`
	Stored     uint64 `json:"stored_bytes"`
	Raw        uint64 `json:"raw_bytes"`
	CRC32C     string `json:"crc32c"`
}

func runBundleInspect(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bundle inspect", "bundle inspect [--json] FILE", `
Validate a bundle completely (header, section checksums, decompression,
semantic checks) and describe it: format version, sections, manifest and
counts. A corrupt bundle gives an error saying what is wrong, and exit 1.`, stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	// Accept the file before or after the flags.
	var file string
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		file, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{err.Error()}
	}
	if file == "" && fs.NArg() == 1 {
		file = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if file == "" {
		return usagef("want the bundle FILE to inspect")
	}
	data, err := readBundleFile(file)
	if err != nil {
		return err
	}
	h, err := bundle.ReadHeader(data)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	b, err := bundle.Decode(data)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	sum := sha256.Sum256(data)
	in := inspection{File: file, Bytes: len(data), SHA256: hex.EncodeToString(sum[:]),
		Format: fmt.Sprintf("%d.%d", h.Major, h.Minor), Manifest: &b.Manifest,
		Counts: map[string]int{
			"items": len(b.Items.IDs), "categories": len(b.Vocab.Categories.Values),
			"licensing_regions": len(b.Vocab.Licensing.Values),
		}}
	for _, f := range b.Query.Fields {
		in.Counts["field:"+f.Name] = len(f.Vocab.Values)
	}
	known := 0
	for _, k := range b.Items.Known {
		if k {
			known++
		}
	}
	in.Counts["items_known_to_model"] = known
	if b.Ranker != nil {
		in.Ranker = &rankerInfo{Depth: b.Ranker.Depth, Features: b.Ranker.Features}
	}
	for _, e := range h.Entries {
		in.Sections = append(in.Sections, sectionInfo{Tag: e.Tag, Compressed: e.Flags&bundle.FlagZstd != 0,
			Stored: e.Stored, Raw: e.Raw, CRC32C: fmt.Sprintf("%08x", e.Checksum)})
	}
	in.Signature = "unsigned"
	if st, err := sign.Inspect(data); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	} else if st.Signed {
		in.Signature = "ed25519 key " + st.KeyID + " (not verified: edgerec bundle verify --public-key FILE)"
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(in)
	}
	m := b.Manifest
	fmt.Fprintf(stdout, "%s: edgerec bundle %s, %d bytes, sha256 %s\n", file, in.Format, len(data), in.SHA256)
	fmt.Fprintf(stdout, "version   %s\ncreated   %s\nbuilder   %s\nmodel     %s trained on %s at %s (temperature %g)\n",
		m.Version, time.Unix(m.Created, 0).UTC().Format(time.RFC3339), m.Builder, m.Model.Name, m.Model.Data,
		time.Unix(m.Model.TrainedAt, 0).UTC().Format(time.RFC3339), m.Model.Temperature)
	fmt.Fprintf(stdout, "items     %d, embeddings %d-dim %s (%.1f bytes/item in the file), history rows %d-dim\n",
		m.Items, m.Dim, m.Quantization, float64(len(data))/float64(max(m.Items, 1)), m.HistoryDim)
	fmt.Fprintf(stdout, "catalog   %d categories, %d licensing regions, %d items known to the model\n",
		len(b.Vocab.Categories.Values), len(b.Vocab.Licensing.Values), known)
	fmt.Fprintf(stdout, "query     history %d-dim, last %d items, decays %v, seed %v; fields:", m.HistoryDim, b.Query.MaxHistory, b.Query.Decays, b.Query.Seed)
	for _, f := range b.Query.Fields {
		fmt.Fprintf(stdout, " %s(%d)", f.Name, len(f.Vocab.Values))
	}
	fmt.Fprintf(stdout, "; numeric:")
	for _, n := range b.Query.Numerics {
		fmt.Fprintf(stdout, " %s", n.Name)
	}
	fmt.Fprintf(stdout, "; %d cross, %d dense layers\n", len(b.Query.Cross), len(b.Query.MLP.Layers))
	if b.Ranker != nil {
		fmt.Fprintf(stdout, "ranker    %d features, %d cross and %d dense layers\n", len(b.Ranker.Features), len(b.Ranker.Cross), len(b.Ranker.MLP.Layers))
	} else {
		fmt.Fprintf(stdout, "ranker    none (retrieval order)\n")
	}
	fmt.Fprintf(stdout, "signature %s\n", in.Signature)
	fmt.Fprintf(stdout, "sections:\n  tag   stored      raw         zstd  crc32c\n")
	for _, s := range in.Sections {
		fmt.Fprintf(stdout, "  %s  %-10d  %-10d  %-5v %s\n", s.Tag, s.Stored, s.Raw, s.Compressed, s.CRC32C)
	}
	return nil
}

// readBundleFile reads a bundle file, refusing one larger than any valid
// bundle before reading it.
func readBundleFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s is a directory, not a bundle", path)
	}
	if uint64(st.Size()) > bundle.MaxBundleBytes {
		return nil, fmt.Errorf("%s is %d bytes, larger than any valid bundle (%d)", path, st.Size(), uint64(bundle.MaxBundleBytes))
	}
	return os.ReadFile(path)
}
