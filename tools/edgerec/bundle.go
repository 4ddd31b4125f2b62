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
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/rank"
	"github.com/edgerec/edgerec/host"
	"github.com/edgerec/edgerec/host/sign"
	"github.com/edgerec/edgerec/tools/builder"
	"github.com/edgerec/edgerec/tools/model"
)

func runBundle(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("want a subcommand: build, inspect, diff, upgrade, sign or verify")
	}
	subs := map[string]func(args []string, stdout, stderr io.Writer) error{
		"build":   runBundleBuild,
		"inspect": runBundleInspect,
		"diff":    runBundleDiff,    // diff.go
		"upgrade": runBundleUpgrade, // upgrade.go
		"sign":    runBundleSign,    // sign.go
		"verify":  runBundleVerify,  // sign.go
	}
	if sub, ok := subs[args[0]]; ok {
		return inCommand(sub(args[1:], stdout, stderr), "bundle "+args[0])
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprintf(stdout, "Usage:\n  edgerec bundle build --model MODELDIR --data DIR --out FILE [--region R] [--max-bytes N] [--min-recall R]\n  edgerec bundle inspect FILE [--json] [--public-key FILE]\n  edgerec bundle diff OLD NEW [--json]\n  edgerec bundle upgrade --out FILE [--max-format 3] BUNDLE\n  edgerec bundle sign --key FILE [--out FILE] BUNDLE\n  edgerec bundle verify [--public-key FILE] [--json] BUNDLE\n\nRun 'edgerec bundle SUBCOMMAND --help' for a subcommand's flags.\n")
		return nil
	}
	return usagef("unknown subcommand %q (want build, inspect, diff, upgrade, sign or verify)", args[0])
}

func runBundleBuild(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bundle build", "bundle build --model MODELDIR --data DIR [--format F] --out FILE [flags]", `
Build a bundle from a trained model and a catalog: run the item tower over
every catalog item (items the model never saw are embedded from their
categories alone), quantize the embeddings to int8, and pack them with the
query tower, the vocabularies and the item metadata (bundles/FORMAT.md).
The same inputs and flags always give the same bytes: nothing depends on
the clock, map order or the number of cores. The creation time comes from
--created, else SOURCE_DATE_EPOCH, else the later of the model's training
time and the data's last interaction: the popular, trending and
item-to-item lists count the interactions up to it.

--compact stores the item embeddings as 32-byte product-quantization codes
in inverted lists (bundles/FORMAT.md §8.7) instead of 68-byte int8 rows:
for catalogs that must fit a small memory (a million items in an edge
isolate). Retrieval then probes the lists its sample users need to find
92% of the exact top 100 (float32); the build prints the recall it
measured, and a note when the catalog is too small for the codes to save
bytes.

Budgets for release pipelines: --max-bytes and --min-recall make the build
fail (exit 1, nothing written) when the bundle is too large or its
retrieval loses too much against exact float32 search.`)
	modelDir := fs.String("model", "", "`MODELDIR` from edgerec train or edgerec import")
	dir, format := dataFlags(fs)
	out := fs.String("out", "", "bundle file to write")
	version := fs.String("version", "", "version label (default: the data set's name and the creation time)")
	created := fs.Int64("created", 0, fmt.Sprintf("creation time in Unix seconds, 1 to %d (default: the later of the model's training time and the data's last interaction)", builder.MaxCreated))
	rulesFile := fs.String("rules", "", "JSON file of business rules and experiment arms (see bundles/FORMAT.md §5.8)")
	noSources := fs.Bool("no-sources", false, "leave out the co-visitation, popular, trending, fresh and exploration sources")
	noTitles := fs.Bool("no-titles", false, "leave the items' titles out (responses and catalog pages carry ids alone): a smaller bundle for a client that has the titles")
	region := fs.String("region", "", "a regional bundle: keep only the items licensed in `R` (and those licensed everywhere)")
	maxBytes := fs.Int64("max-bytes", 0, "budget: fail, writing nothing, when the bundle would be larger than `N` bytes (0: no budget)")
	minRecall := fs.Float64("min-recall", 0, "budget: fail, writing nothing, when retrieval recall@K against exact float search on sample users is below `R` (0: not measured)")
	recallK := fs.Int("recall-k", 100, "list depth K of --min-recall")
	recallQueries := fs.Int("recall-queries", 200, "sample users of --min-recall")
	compactMode := fs.Bool("compact", false, "compact bundle: item embeddings as product-quantization codes (FORMAT.md §8.7)")
	compactBytes := fs.Int("compact-bytes", 32, "bytes per item of --compact's codes; must divide the embedding dimension")
	maxFormat := maxFormatFlag(fs)
	historyBytes := fs.Int("history-bytes", 0, "bytes of the product-quantization code of an item's history row, which the query tower pools (-1: int8 rows; 0: int8 rows, or with --compact codes of half their bytes; a positive value must divide the history dimension)")
	fs.IntVar(historyBytes, "compact-history-bytes", 0, "the same as --history-bytes (its name when only --compact coded the rows)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := checkCreated("--created", *created); err != nil {
		return err
	}
	major, err := maxFormat()
	if err != nil {
		return err
	}
	if err := required(fs, "model", "data", "out"); err != nil {
		return err
	}
	if err := checkOutPath("out", *out); err != nil {
		return err
	}
	budget := builder.Budget{MaxBytes: *maxBytes, MinRecall: *minRecall,
		Recall: builder.RecallOptions{K: *recallK, Queries: *recallQueries}}
	if budget.Validate() != nil || *recallK == 0 || *recallQueries == 0 {
		return usagef("--max-bytes must be ≥ 0, --min-recall in [0, 1], --recall-k and --recall-queries > 0")
	}
	// Release pipelines set SOURCE_DATE_EPOCH (reproducible-builds.org);
	// --created wins over it, and without either the builder takes the
	// newest of the inputs' times.
	if *created == 0 {
		if env := os.Getenv("SOURCE_DATE_EPOCH"); env != "" {
			v, err := strconv.ParseInt(env, 10, 64)
			if err != nil {
				return usagef("SOURCE_DATE_EPOCH=%q is not a time in Unix seconds", env)
			}
			if v == 0 {
				return usagef("SOURCE_DATE_EPOCH=0 is not a creation time: want Unix seconds, 1 to %d", builder.MaxCreated)
			}
			if err := checkCreated("SOURCE_DATE_EPOCH", v); err != nil {
				return err
			}
			*created = v
		}
	}
	m, err := model.Load(*modelDir)
	if err != nil {
		return err
	}
	// The code widths are checked against the model before the data set
	// loads and the catalog is embedded, which take the time.
	if err := checkCodeBytes(*compactMode, *compactBytes, m.Item.Dim(), "the model's embedding dimension",
		*historyBytes, m.Query.HistoryDim, "the model's history dimension"); err != nil {
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
	if *region != "" {
		all := len(ds.Items)
		if ds, err = builder.Regional(ds, *region); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "region %s: %d of %d items licensed there\n", *region, len(ds.Items), all)
	}
	// A status line redrawn in place on a terminal; a release pipeline's
	// log gets the report alone.
	status := progressf(nil)
	if isTerminal(stderr) {
		status = progressf(stderr)
	}
	var compact *builder.CompactOptions
	if *compactMode {
		compact = &builder.CompactOptions{M: *compactBytes, Progress: func(stage string, done, total int) {
			status("compact codes: %s %d/%d", stage, done, total)
		}}
	}
	start := time.Now()
	b, err := builder.Build(m, ds, builder.Options{Version: *version, Created: *created, Builder: "edgerec bundle build",
		Rules: rules, NoSources: *noSources, NoTitles: *noTitles, Compact: compact, HistoryBytes: *historyBytes,
		Progress: func(done, total int) { status("embedding items %d/%d", done, total) },
		Warnf: func(format string, a ...any) {
			status("") // a warning on a line of its own, not over the status line
			fmt.Fprintf(stderr, "warning: "+format+"\n", a...)
		}})
	status("")
	if err != nil {
		return err
	}
	data, err := bundle.EncodeMax(b, major)
	if err != nil {
		return err
	}
	rep, err := budget.Check(m, ds, b, int64(len(data)))
	if err == nil && rep == nil && b.Compact() {
		// A compact bundle trades recall for bytes: say what it kept.
		r, rerr := builder.Recall(m, ds, b, budget.Recall)
		if rerr == nil {
			rep = &r
		}
	}
	if rep != nil {
		fmt.Fprintf(stderr, "recall@%d %.4f against exact float32 search (%d sample users; served by %s)\n", rep.K, rep.Recall, rep.Queries, rep.Served)
	}
	if err != nil {
		return budgetError(err, *out)
	}
	if err := writeFileAtomic(*out, data); err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	fmt.Fprintf(stdout, "wrote %s: %d items, %d bytes (%.1f bytes/item), version %s, sha256 %s (%.1fs)\n",
		*out, b.Manifest.Items, len(data), float64(len(data))/float64(b.Manifest.Items), b.Manifest.Version,
		hex.EncodeToString(sum[:]), time.Since(start).Seconds())
	if b.Compact() {
		if note := compactSizeNote(b, data, *historyBytes == 0); note != "" {
			fmt.Fprintln(stderr, note)
		}
	}
	return nil
}

// checkOutPath returns a usage error when the file path, the value of
// --flag, cannot be written because it names a directory or one that
// does not exist: found before the work, not when the result is written.
func checkOutPath(flag, path string) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return usagef("--%s %s is a directory: want the path of the file to write", flag, path)
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return usagef("--%s %s: directory %s does not exist", flag, path, dir)
	}
	return nil
}

// checkCreated returns a usage error when the creation time v, from the
// flag or variable name, is not 0 (the default) and outside 1 to
// builder.MaxCreated Unix seconds: a negative time gives a bundle created in 1969
// whose lists count no interaction, a time in milliseconds one created
// thousands of years ahead.
func checkCreated(name string, v int64) error {
	if v == 0 || v >= 1 && v <= builder.MaxCreated {
		return nil
	}
	sep := " " // a flag: "--created -5"
	if name[0] != '-' {
		sep = "=" // a variable: "SOURCE_DATE_EPOCH=-5"
	}
	hint := ""
	if s := v / 1000; s >= 1e9 && s <= builder.MaxCreated { // milliseconds since 2001
		hint = fmt.Sprintf("; in milliseconds it would be %s, which is %s%s%d", time.Unix(s, 0).UTC().Format(time.RFC3339), name, sep, s)
	}
	return usagef("%s%s%d is out of range: want a time in Unix seconds, 1 to %d (%s)%s",
		name, sep, v, builder.MaxCreated, time.Unix(builder.MaxCreated, 0).UTC().Format(time.RFC3339), hint)
}

// checkCodeBytes returns a usage error when a code width of bundle build
// or bench does not fit the widths it codes: --compact-bytes must be
// positive and, with --compact, divide the embedding dimension dim;
// --history-bytes must be -1 (int8 rows), 0 (the default) or divide the
// history dimension hdim (a product quantizer's subspaces divide the width
// it codes). dimName and hdimName say where the widths come from: the
// model's, or bench's flags.
func checkCodeBytes(compact bool, compactBytes, dim int, dimName string, historyBytes, hdim int, hdimName string) error {
	switch {
	case compactBytes < 1 || compact && dim%compactBytes != 0:
		return usagef("--compact-bytes %d: want a divisor of %s %d: %s", compactBytes, dimName, dim, divisors(dim))
	case historyBytes < -1 || historyBytes > 0 && hdim%historyBytes != 0:
		return usagef("--history-bytes %d: want -1 (int8 rows), 0 (the default) or a divisor of %s %d: %s", historyBytes, hdimName, hdim, divisors(hdim))
	}
	return nil
}

// divisors lists the divisors of n for a usage message: "1, 2, 4, 8".
func divisors(n int) string {
	var d []string
	for i := 1; i <= n; i++ {
		if n%i == 0 {
			d = append(d, strconv.Itoa(i))
		}
	}
	return strings.Join(d, ", ")
}

// compactSizeNote returns a note when the compact bundle b, encoded as
// data, is larger than the full bundle of the same catalog would be, and
// "" otherwise. The full bundle is estimated from data's sections: an
// int8 row of dim+4 bytes an item (EMBD) where the compact one holds the
// code bytes and what does not grow with the items, its codebooks above
// all (IVPQ); likewise the history rows (HIST for HIPQ) when history
// counts, that is when the compact mode alone coded them
// (--history-bytes 0). Compact starts to pay at the item count where the
// bytes saved an item cover the fixed bytes.
func compactSizeNote(b *bundle.Bundle, data []byte, history bool) string {
	h, err := bundle.ReadHeader(data)
	if err != nil || b.Codes == nil {
		return ""
	}
	n := int64(b.Manifest.Items)
	stored := map[string]int64{}
	for _, e := range h.Entries {
		stored[e.Tag] = int64(e.Stored)
	}
	// fixed: the compact sections' bytes beyond their codes; saved: the
	// bytes an item's int8 rows would take beyond its codes.
	m := int64(b.Codes.PQ.M)
	fixed := stored[bundle.TagCompact] - n*m
	saved := int64(b.Manifest.Dim) + 4 - m
	if hc := b.HistoryCodes; history && hc != nil {
		hm := int64(hc.PQ.M)
		fixed += stored[bundle.TagHistoryCodes] - n*hm
		saved += int64(b.Manifest.HistoryDim) + 4 - hm
	}
	if saved <= 0 || fixed <= n*saved {
		return ""
	}
	full := int64(len(data)) - fixed + n*saved
	return fmt.Sprintf("note: this compact bundle (%d bytes) is larger than a full one would be (about %d bytes): below about %d items its codebooks outweigh the %d bytes an item the codes save; build without --compact for this catalog",
		len(data), full, (fixed+saved-1)/saved, saved)
}

// budgetError says, in the flags' terms, how a bundle broke its budget
// (a *builder.BudgetError) and that out was not written; other errors
// pass unchanged.
func budgetError(err error, out string) error {
	var be *builder.BudgetError
	switch {
	case !errors.As(err, &be):
		return err
	case be.Limit == builder.OverBytes:
		return fmt.Errorf("budget exceeded: the bundle is %d bytes, over --max-bytes %d by %d (%.1f bytes/item); %s was not written",
			be.Bytes, be.MaxBytes, be.Bytes-be.MaxBytes, be.BytesPerItem(), out)
	}
	r := be.Recall
	return fmt.Errorf("budget exceeded: recall@%d is %.4f, below --min-recall %g (%d sample users, %s); %s was not written",
		r.K, r.Recall, be.MinRecall, r.Queries, r.Served, out)
}

// writeFileAtomic writes a file the edgerec command produces (a bundle, a
// signed bundle) so that a node watching it never sees half of it.
func writeFileAtomic(path string, data []byte) error { return host.WriteFileAtomic(path, data, 0o644) }

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
	// Demotion is how items shown and not taken are demoted: "learned"
	// (the ranker weighs shown_log, and the rule is left out wherever it
	// ranks) or "rule" (Params.Demote, bundles/FORMAT.md §5.8).
	Demotion string `json:"demotion"`

	// The summary a release pipeline checks, without digging in the
	// manifest.
	Items        int        `json:"items"`
	Dims         dimsInfo   `json:"dims"`
	Quantization string     `json:"quantization"`
	Index        *indexInfo `json:"index"` // null: exact search
	Model        modelInfo  `json:"model"`
	// Signature reports the SIGN section (FORMAT.md §5.9), verified when
	// inspect is given --public-key.
	Signature signatureInfo `json:"signature"`
}

type dimsInfo struct {
	Embedding int `json:"embedding"`
	History   int `json:"history"`
}

type indexInfo struct {
	Kind   string `json:"kind"`
	Lists  int    `json:"lists"`
	NProbe int    `json:"nprobe"`
	// Recall is the recall@100 against the exact int8 scan the builder
	// measured and recorded for an IVF index; nil (left out) when the
	// bundle records none: a compact bundle's IVPQ has no field for it
	// (bundle build prints it, --min-recall checks it), an older IVF
	// index recorded 0.
	Recall *float32 `json:"recall_at_100,omitempty"`
	// CodeBytes is the bytes of an item's code in a compact bundle.
	CodeBytes int `json:"code_bytes,omitempty"`
}

// modelInfo identifies the towers in the bundle: the model's name and
// training time, and the CRC-32C of the query tower and ranker sections,
// which change whenever their weights do.
type modelInfo struct {
	Name         string `json:"name"`
	TrainedAt    int64  `json:"trained_at"`
	Data         string `json:"data"`
	QueryTowerID string `json:"query_tower_crc32c"`
	RankerID     string `json:"ranker_crc32c,omitempty"`
}

type signatureInfo struct {
	Present bool   `json:"present"`
	KeyID   string `json:"key_id,omitempty"`
	// Status is "unsigned", "not verified" (no --public-key), "valid", or
	// "invalid: REASON".
	Status string `json:"status"`
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
	fs := newFlags("bundle inspect", "bundle inspect [--json] [--public-key FILE] FILE", `
Validate a bundle completely (header, section checksums, decompression,
semantic checks) and describe it: format version, sections, manifest and
counts. A corrupt bundle gives an error saying what is wrong, and exit 1.`)
	asJSON := fs.Bool("json", false, "print JSON")
	pubFile := fs.String("public-key", "", "verify the signature with this public key file (edgerec keygen)")
	file, err := parseFile(fs, args, "inspect")
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
	sum := sha256.Sum256(data)
	in := inspection{File: file, Bytes: len(data), SHA256: hex.EncodeToString(sum[:]),
		Format: fmt.Sprintf("%d.%d", h.Major, h.Minor), Manifest: &b.Manifest,
		Counts: map[string]int{
			"items": b.Items.Len(), "categories": len(b.Vocab.Categories.Values),
			"licensing_regions": len(b.Vocab.Licensing.Values),
		}}
	for _, f := range b.Query.Fields {
		in.Counts["field:"+f.Name] = len(f.Vocab.Values)
	}
	in.Counts["items_known_to_model"] = builder.KnownItems(b.Items.Known)
	if b.Ranker != nil {
		in.Ranker = &rankerInfo{Depth: b.Ranker.Depth, Features: b.Ranker.Features}
	}
	in.Demotion = demotionOf(b.Ranker)
	in.Items, in.Quantization = b.Manifest.Items, b.Manifest.Quantization
	in.Dims = dimsInfo{Embedding: b.Manifest.Dim, History: b.Manifest.HistoryDim}
	if x := b.Index; x != nil {
		in.Index = &indexInfo{Kind: "ivf", Lists: x.Lists(), NProbe: x.NProbe}
		if r := x.Recall; r > 0 {
			in.Index.Recall = &r
		}
	}
	if c := b.Codes; c != nil {
		in.Index = &indexInfo{Kind: "ivfpq", Lists: c.Lists(), NProbe: c.NProbe, CodeBytes: c.PQ.M}
	}
	in.Model = modelInfo{Name: b.Manifest.Model.Name, TrainedAt: b.Manifest.Model.TrainedAt, Data: b.Manifest.Model.Data}
	for _, e := range h.Entries {
		in.Sections = append(in.Sections, sectionInfo{Tag: e.Tag, Compressed: e.Compressed(),
			Stored: e.Stored, Raw: e.Raw, CRC32C: fmt.Sprintf("%08x", e.Checksum)})
		switch e.Tag {
		case bundle.TagQuery:
			in.Model.QueryTowerID = fmt.Sprintf("%08x", e.Checksum)
		case bundle.TagRanker:
			in.Model.RankerID = fmt.Sprintf("%08x", e.Checksum)
		}
	}
	st, err := sign.Inspect(data)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	in.Signature = signatureInfo{Present: st.Signed, KeyID: safe(st.KeyID), Status: "unsigned"}
	if st.Signed {
		in.Signature.Status = "not verified"
		if *pubFile != "" {
			pub, err := sign.ReadPublicKeyFile(*pubFile)
			if err != nil {
				return err
			}
			in.Signature.Status = "valid"
			if _, err := sign.Verify(data, pub); err != nil {
				in.Signature.Status = "invalid: " + err.Error()
			}
		}
	}
	// A key that does not verify the bundle fails the command, after the
	// report says why.
	var sigErr error
	if *pubFile != "" && in.Signature.Status != "valid" {
		sigErr = fmt.Errorf("%s: signature %s with %s", file, in.Signature.Status, *pubFile)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(in); err != nil {
			return err
		}
		if sigErr != nil {
			return errSilent
		}
		return nil
	}
	m := b.Manifest
	// Every string below comes from the bundle: quoted when it holds
	// anything but printable characters, so that it cannot forge a line
	// (a "signature ... valid" one, say) or drive the terminal.
	m.Version, m.Builder, m.Model.Name, m.Model.Data = safe(m.Version), safe(m.Builder), safe(m.Model.Name), safe(m.Model.Data)
	fmt.Fprintf(stdout, "%s: edgerec bundle %s, %d bytes, sha256 %s\n", file, in.Format, len(data), in.SHA256)
	prior := ""
	if m.Model.PopPrior != 0 {
		prior = fmt.Sprintf(", popularity prior %g", m.Model.PopPrior)
	}
	fmt.Fprintf(stdout, "version   %s\ncreated   %s\nbuilder   %s\nmodel     %s trained on %s at %s (temperature %g%s)\n",
		m.Version, time.Unix(m.Created, 0).UTC().Format(time.RFC3339), m.Builder, m.Model.Name, m.Model.Data,
		time.Unix(m.Model.TrainedAt, 0).UTC().Format(time.RFC3339), m.Model.Temperature, prior)
	fmt.Fprintf(stdout, "items     %d, embeddings %d-dim %s (%.1f bytes/item in the file), history rows %d-dim\n",
		m.Items, m.Dim, m.Quantization, float64(len(data))/float64(max(m.Items, 1)), m.HistoryDim)
	fmt.Fprintf(stdout, "catalog   %d categories, %d licensing regions, %d items known to the model\n",
		len(b.Vocab.Categories.Values), len(b.Vocab.Licensing.Values), in.Counts["items_known_to_model"])
	fmt.Fprintf(stdout, "query     history %d-dim, last %d items, decays %v, seed %v; fields:", m.HistoryDim, b.Query.MaxHistory, b.Query.Decays, b.Query.Seed)
	for _, f := range b.Query.Fields {
		fmt.Fprintf(stdout, " %s(%d)", safe(f.Name), len(f.Vocab.Values))
	}
	fmt.Fprintf(stdout, "; numeric:")
	for _, n := range b.Query.Numerics {
		fmt.Fprintf(stdout, " %s", safe(n.Name))
	}
	fmt.Fprintf(stdout, "; %d cross, %d dense layers\n", len(b.Query.Cross), len(b.Query.MLP.Layers))
	if x := in.Index; x != nil && x.Kind == "ivfpq" {
		fmt.Fprintf(stdout, "index     compact: %d-byte codes in %d lists, nprobe %d (recall not recorded in compact bundles: bundle build prints it, and --min-recall checks it, at build time)\n",
			x.CodeBytes, x.Lists, x.NProbe)
	} else if x != nil && x.Recall != nil {
		fmt.Fprintf(stdout, "index     IVF, %d lists, nprobe %d (recall@100 %.3f against the exact scan)\n", x.Lists, x.NProbe, *x.Recall)
	} else if x != nil {
		fmt.Fprintf(stdout, "index     IVF, %d lists, nprobe %d (recall not recorded)\n", x.Lists, x.NProbe)
	} else {
		fmt.Fprintf(stdout, "index     none (exact search)\n")
	}
	if b.Ranker != nil {
		fmt.Fprintf(stdout, "ranker    %d features, %d cross and %d dense layers\n", len(b.Ranker.Features), len(b.Ranker.Cross), len(b.Ranker.MLP.Layers))
	} else {
		fmt.Fprintf(stdout, "ranker    none (retrieval order)\n")
	}
	demote := bundle.DefaultParams().Demote
	if b.Pipeline != nil {
		demote = b.Pipeline.Defaults.Demote
	}
	if in.Demotion == "learned" {
		fmt.Fprintf(stdout, "demotion  learned: the ranker weighs shown_log; the rule (demote %g) only where the ranker is off\n", demote)
	} else {
		fmt.Fprintf(stdout, "demotion  rule: demote %g × ln(1 + times shown), halved each week since\n", demote)
	}
	switch sig := in.Signature; {
	case !sig.Present:
		fmt.Fprintf(stdout, "signature unsigned\n")
	case sig.Status == "not verified":
		fmt.Fprintf(stdout, "signature ed25519 key %s (not verified: add --public-key FILE, or edgerec bundle verify)\n", sig.KeyID)
	default:
		fmt.Fprintf(stdout, "signature ed25519 key %s: %s\n", sig.KeyID, sig.Status)
	}
	fmt.Fprintf(stdout, "sections:\n  tag   stored      raw         zstd  crc32c\n")
	for _, s := range in.Sections {
		fmt.Fprintf(stdout, "  %s  %-10d  %-10d  %-5v %s\n", safe(s.Tag), s.Stored, s.Raw, s.Compressed, s.CRC32C)
	}
	return sigErr
}

// demotionOf names the demotion of items shown and not taken that a bundle
// with ranker r applies: "learned" when r weighs shown_log, else "rule".
func demotionOf(r *rank.Model) string {
	if r != nil && r.LearnedDemotion() {
		return "learned"
	}
	return "rule"
}

// safe returns s as it is when it holds only printable characters, else
// quoted with Go escapes (strconv.Quote), so that a string from a bundle
// prints on one line of its own and cannot drive the terminal.
func safe(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) || r == utf8.RuneError {
			return strconv.Quote(s)
		}
	}
	return s
}

// readBundleFile reads a bundle file, refusing one larger than any valid
// bundle before reading it.
// readBundleHeader reads a bundle file and checks its header and section
// table (bundle.ReadHeader).
func readBundleHeader(path string) ([]byte, *bundle.Header, error) {
	data, err := readBundleFile(path)
	if err != nil {
		return nil, nil, err
	}
	h, err := bundle.ReadHeader(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, h, nil
}

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

// maxFormatFlag defines --max-format, the newest bundle format major to
// write (bundle.EncodeMax), and returns its checked value's getter.
func maxFormatFlag(fs *flag.FlagSet) func() (uint16, error) {
	v := fs.Int("max-format", bundle.Major, fmt.Sprintf("the newest format major to write: %d leaves out the catalog columns its values imply (3.x modules refuse it), %d writes every column for modules that read format %d (a rolling deployment)", bundle.MajorLean, bundle.MajorPacked, bundle.MajorPacked))
	return func() (uint16, error) {
		if *v < bundle.MajorPacked || *v > bundle.Major {
			return 0, usagef("--max-format must be %d to %d", bundle.MajorPacked, bundle.Major)
		}
		return uint16(*v), nil
	}
}
