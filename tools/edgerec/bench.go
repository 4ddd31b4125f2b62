package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/edgerec/edgerec/core/ann"
	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/pipeline"
	"github.com/edgerec/edgerec/host"
	"github.com/edgerec/edgerec/tools/benchdata"
)

// benchOptions are the flags of `edgerec bench`, checked.
type benchOptions struct {
	items, dim, hist int    // catalog size, embedding and history widths
	queries, k       int    // timed requests and their k
	wasmPath         string // --wasm ("" finds the module)
	json             bool   // print JSON
	exact            bool   // build no index
	compact          bool   // a compact bundle (codes of compactBytes bytes)
	compactBytes     int
	historyBytes     int     // --history-bytes
	lists            int     // inverted lists (0: the builder's choice)
	target           float64 // recall the default nprobe is tuned for (0: builder default)
	seed             uint64
	reserve          bool    // host.Options.ReserveMemory
	keep             string  // also write the bundle here
	advReps          int     // times each adversarial request is sent (0: none)
	soak             int     // requests sent to the module after the run, memory measured after them (0: none)
	noSources        bool    // leave out the other candidate sources (bundle build --no-sources)
	noTitles         bool    // leave out the titles (bundle build --no-titles)
	popPrior         float64 // the bundle's popularity prior (train chooses one on validation)
	// progress receives the status lines of the long work (stderr).
	progress io.Writer
}

const benchAbout = `
Measure retrieval at scale. Build a synthetic catalog bundle of N items
(clustered embeddings with the structure of trained ones: anisotropic,
skewed cluster sizes, see tools/benchdata) with an IVF index (--compact:
as compact codes, tuned on 200 other sample users), load it into
recommender.wasm in wazero and into the same pipeline compiled natively, and
send Q requests (a user's 10 history items, k = 100, debug on) to both.

Prints the bundle's size per item, the module's size (raw and zstd), the
load time in the module, recall@100 of retrieval against exact float32
search (excluding the history), and for the module and native code the
50th and 99th percentiles of the retrieve stage (the response's debug
timing of the two-tower ANN search alone: the query tower is the embed
stage before it, the other sources and the filters the sources+filter
stage after it) and of the whole recommend call (round trip through the
host for the module), and each stage's p50 and p99.

Then sends the costliest requests the module accepts (k = 500 with an
all-ones consumed filter, an allow-list of 4096 items, allow and exclude
lists that cancel out, all at once) --adversarial times each, and prints
their p50 and p99 in the module, the rows each examined against the
per-request budget, and the slowest one's p99 over the normal p99.`

func runBench(args []string, stdout, stderr io.Writer) error {
	o, err := parseBench(args, stderr)
	if err != nil {
		return err
	}
	rep, err := bench(o)
	if err != nil {
		return err
	}
	if o.json {
		return writeJSON(stdout, rep)
	}
	rep.print(stdout)
	return nil
}

// parseBench parses and checks the flags of `edgerec bench`: every
// argument is checked before any work.
func parseBench(args []string, stderr io.Writer) (benchOptions, error) {
	fs := newFlags("bench", "bench --items N --dim D [--queries Q] [--json] [flags]", benchAbout)
	var o benchOptions
	if isTerminal(stderr) {
		o.progress = stderr // a log file gets the report alone, not the redrawn status line
	}
	fs.IntVar(&o.items, "items", 100_000, "catalog size")
	fs.IntVar(&o.dim, "dim", 64, "embedding width (a multiple of 8 takes the fast kernel)")
	fs.IntVar(&o.hist, "history-dim", 32, "width of the history rows the query tower pools (≤ dim)")
	fs.IntVar(&o.queries, "queries", 200, "requests to time")
	fs.IntVar(&o.k, "k", 20, "items per timed recommend request (recall@100 is measured on retrieval, whatever k)")
	fs.StringVar(&o.wasmPath, "wasm", "", "recommender.wasm (default: next to the edgerec binary, then bin/recommender.wasm)")
	fs.BoolVar(&o.json, "json", false, "print JSON")
	fs.BoolVar(&o.exact, "exact", false, "build no index: measure the exact scan")
	fs.BoolVar(&o.compact, "compact", false, "a compact bundle: product-quantization codes in place of int8 rows and index (bundle build --compact)")
	fs.IntVar(&o.compactBytes, "compact-bytes", 32, "bytes per item of --compact's codes (divides --dim)")
	fs.IntVar(&o.historyBytes, "history-bytes", 0, "bytes of the code of a history row (-1: int8 rows; 0: int8 rows, or with --compact codes of half their bytes; a positive value must divide --history-dim), as bundle build --history-bytes")
	fs.IntVar(&o.historyBytes, "compact-history-bytes", 0, "the same as --history-bytes")
	fs.IntVar(&o.lists, "lists", 0, fmt.Sprintf("inverted lists, at most --items and %d (0: 2·√N for the IVF index, 4·√N with --compact)", ann.MaxLists))
	fs.Float64Var(&o.target, "target", 0, "recall@100 the default nprobe is tuned for: against the exact int8 scan for the IVF index, against exact float32 search with --compact (0: the builder's default)")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the catalog and the users")
	fs.BoolVar(&o.reserve, "reserve-memory", false, "reserve the instance's linear memory up front, so that it grows in place, as edgerec serve does by default (host.Options.ReserveMemory, Linux): loads a bundle faster and removes the stalls of wazero copying a memory that grows")
	fs.StringVar(&o.keep, "keep", "", "also write the bundle to this file")
	fs.BoolVar(&o.noSources, "no-sources", false, "leave out the other candidate sources and their neighbour lists, as bundle build --no-sources")
	fs.BoolVar(&o.noTitles, "no-titles", false, "leave out the items' titles, as bundle build --no-titles")
	fs.Float64Var(&o.popPrior, "pop-prior", 0, "the bundle's popularity prior, as train chooses one (0 to 1): the two-tower source then ranks by score + prior·popularity, added in the index scan")
	fs.IntVar(&o.advReps, "adversarial", 20, "times to send each adversarial request (0: none)")
	fs.IntVar(&o.soak, "soak", 0, "after the run, send the module this many more of the timed requests in turn and report its memory after them (0: none; 100000 shows whether memory stays flat)")
	if err := parse(fs, args); err != nil {
		return o, err
	}
	if err := o.check(); err != nil {
		return o, err
	}
	if o.keep != "" {
		return o, checkOutPath("keep", o.keep)
	}
	return o, nil
}

// check returns a usage error for the first option out of range.
func (o *benchOptions) check() error {
	switch {
	case o.items < 100 || o.items > bundle.MaxItems:
		return usagef("--items %d out of range [100, %d]", o.items, bundle.MaxItems)
	case o.dim < 1 || o.dim > 4096:
		return usagef("--dim %d out of range [1, 4096]", o.dim)
	case o.hist < 1 || o.hist > o.dim:
		return usagef("--history-dim %d out of range [1, --dim]", o.hist)
	case o.queries < 1 || o.queries > 100_000:
		return usagef("--queries %d out of range [1, 100000]", o.queries)
	case o.k < 1 || o.k > api.MaxK:
		return usagef("--k %d out of range [1, %d]", o.k, api.MaxK)
	case o.target < 0 || o.target > 1:
		return usagef("--target %v out of range [0, 1]", o.target)
	case o.advReps < 0 || o.advReps > 10_000:
		return usagef("--adversarial %d out of range [0, 10000]", o.advReps)
	case o.soak < 0 || o.soak > 10_000_000:
		return usagef("--soak %d out of range [0, 10000000]", o.soak)
	case o.compact && o.exact:
		return usagef("--compact and --exact exclude each other: a compact bundle has no exact scan")
	case o.lists < 0 || o.lists > min(o.items, ann.MaxLists):
		return usagef("--lists %d out of range [0, %d] (at most --items; 0: the builder's choice)", o.lists, min(o.items, ann.MaxLists))
	case !(o.popPrior >= 0 && o.popPrior <= 1):
		return usagef("--pop-prior %v out of range [0, 1]", o.popPrior)
	}
	return checkCodeBytes(o.compact, o.compactBytes, o.dim, "--dim", o.historyBytes, o.hist, "--history-dim")
}

// bench builds the synthetic catalog bundle, loads it into the module and
// natively, and measures both: the work of `edgerec bench`, whose report
// it returns.
func bench(o benchOptions) (*benchReport, error) {
	progress := progressf(o.progress)
	defer progress("")
	// The module first: a missing file should fail before minutes of work.
	path, wasm, err := readModule(o.wasmPath)
	if err != nil {
		return nil, err
	}
	rep := &benchReport{Items: o.items, Dim: o.dim, HistoryDim: o.hist, Queries: o.queries, K: o.k, Index: "exact", ModuleBytes: len(wasm)}
	if rep.ModuleBytesZstd, rep.ZstdTool, err = zstdSize(wasm); err != nil {
		return nil, err
	}
	progress("generating %d items", o.items)
	cat := benchdata.Clustered(o.items, o.dim, o.hist, o.seed)
	data, catRow, err := encodeBenchBundle(o, cat, rep, progress)
	if err != nil {
		return nil, err
	}

	progress("loading natively")
	start := time.Now()
	rec, err := pipeline.Load(data)
	if err != nil {
		return nil, err
	}
	rep.LoadNativeMS = ms(time.Since(start))

	ctx := context.Background()
	progress("cold start: verify, compile, instantiate, load, answer")
	if err := timeColdStart(ctx, rep, wasm, data, o); err != nil {
		return nil, err
	}
	progress("compiling %s", path)
	inst, closeAll, err := openInstanceWith(ctx, wasm, host.Options{CacheDir: host.DefaultCacheDir(), ReserveMemory: o.reserve})
	if err != nil {
		return nil, err
	}
	defer closeAll()
	progress("loading into the module")
	start = time.Now()
	if _, err := inst.LoadBundle(ctx, data); err != nil {
		return nil, err
	}
	rep.LoadMS = ms(time.Since(start))
	rep.InstanceBytes = inst.MemoryBytes()

	reqs := benchUsers(cat, o)
	progress("exact float32 search for %d queries", o.queries)
	if err := measureRecall(rep, rec, cat, catRow, reqs); err != nil {
		return nil, err
	}
	if err := timeBench(ctx, rep, inst, rec, reqs, progress); err != nil {
		return nil, err
	}
	if err := timeAdversarial(ctx, rep, inst, o, progress); err != nil {
		return nil, err
	}
	rep.InstanceBytesAfter = inst.MemoryBytes()
	if o.soak > 0 {
		for i := range o.soak {
			if i%1000 == 0 {
				progress("soak: request %d/%d", i, o.soak)
			}
			if _, err := inst.Recommend(ctx, cloneRequest(reqs[i%len(reqs)])); err != nil {
				return nil, fmt.Errorf("soak request %d: %w", i, err)
			}
		}
		rep.Soak, rep.InstanceBytesSoak = o.soak, inst.MemoryBytes()
	}
	return rep, nil
}
