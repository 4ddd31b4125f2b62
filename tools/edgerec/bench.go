package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os/exec"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/edgerec/edgerec/core/ann"
	"github.com/edgerec/edgerec/core/ann/anntest"
	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bloom"
	"github.com/edgerec/edgerec/core/bloom/bloomtest"
	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/bundle/bundletest"
	"github.com/edgerec/edgerec/core/feature"
	"github.com/edgerec/edgerec/core/nn"
	"github.com/edgerec/edgerec/core/pipeline"
	"github.com/edgerec/edgerec/core/quant"
	"github.com/edgerec/edgerec/core/tower"
	"github.com/edgerec/edgerec/core/vec"
	"github.com/edgerec/edgerec/host"
	"github.com/edgerec/edgerec/tools/builder"
	"github.com/edgerec/edgerec/tools/train"
)

// benchReport is what `edgerec bench` prints (--json: these keys).
type benchReport struct {
	Items           int     `json:"items"`
	Dim             int     `json:"dim"`
	HistoryDim      int     `json:"history_dim"`
	Queries         int     `json:"queries"`
	K               int     `json:"k"`     // items per timed recommend request
	Index           string  `json:"index"` // "ivf" or "exact"
	Lists           int     `json:"lists,omitempty"`
	NProbe          int     `json:"nprobe,omitempty"`
	BuildIndexMS    float64 `json:"build_index_ms,omitempty"`
	BundleBytes     int     `json:"bundle_bytes"`
	BytesPerItem    float64 `json:"bytes_per_item"`
	SectionBytes    []kv    `json:"section_bytes"`
	ModuleBytes     int     `json:"module_bytes"`
	ModuleBytesZstd int     `json:"module_bytes_zstd"`
	ZstdTool        string  `json:"module_zstd_tool"`
	LoadMS          float64 `json:"load_ms"`
	LoadNativeMS    float64 `json:"load_native_ms"`
	InstanceBytes   uint64  `json:"instance_memory_bytes"`
	RecallAt100     float64 `json:"recall_at_100"`
	RecallExactInt8 float64 `json:"recall_at_100_exact_int8"`
	Mismatches      int     `json:"wasm_native_mismatches"`
	Wasm            timings `json:"wasm"`
	Native          timings `json:"native"`
	RetrieveRatio   float64 `json:"retrieve_p50_ratio"`
	// Stages are the p50 of every debug stage of the timed requests.
	Stages []stageTimes `json:"stages"`
	// Adversarial times the costliest requests the module accepts, in the
	// module; AdversarialRatio is the slowest one's p99 over the normal
	// recommend p99 (Wasm.RecommendP99).
	Adversarial      []adversarialTimes `json:"adversarial,omitempty"`
	AdversarialRatio float64            `json:"adversarial_worst_ratio,omitempty"`
}

// adversarialTimes is one adversarial request's cost in the module.
type adversarialTimes struct {
	Name      string   `json:"name"`
	Bytes     int      `json:"request_bytes"` // the msgpack request
	P50       float64  `json:"p50_ms"`
	P99       float64  `json:"p99_ms"`
	Examined  int      `json:"examined"` // rows examined (debug), against pipeline.MaxExamined
	Items     int      `json:"items"`
	Warnings  []string `json:"warnings,omitempty"`
	MaxBudget int      `json:"max_examined"`
}

// stageTimes is one pipeline stage's median time in the module and natively.
type stageTimes struct {
	Name      string  `json:"name"`
	WasmP50   float64 `json:"wasm_p50_ms"`
	NativeP50 float64 `json:"native_p50_ms"`
}

// kv is one section's stored size.
type kv struct {
	Tag   string `json:"tag"`
	Bytes uint64 `json:"bytes"`
	Zstd  bool   `json:"zstd"`
}

// timings are percentiles over the queries, in milliseconds.
type timings struct {
	RetrieveP50  float64 `json:"retrieve_p50_ms"`
	RetrieveP99  float64 `json:"retrieve_p99_ms"`
	RecommendP50 float64 `json:"recommend_p50_ms"`
	RecommendP99 float64 `json:"recommend_p99_ms"`
}

func runBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", "bench --items N --dim D [--queries Q] [--json] [flags]", `
Measure retrieval at scale. Build a synthetic catalog bundle of N items
(clustered embeddings with the structure of trained ones: anisotropic,
skewed cluster sizes, see core/ann/anntest) with an IVF index, load it into
recommender.wasm in wazero and into the same pipeline compiled natively, and
send Q requests (a user's 10 history items, k = 100, debug on) to both.

Prints the bundle's size per item, the module's size (raw and zstd), the
load time in the module, recall@100 of retrieval against exact float32
search (excluding the history), and for the module and native code the
50th and 99th percentiles of the retrieve stage (the response's debug
timing: query tower, ANN search, filters) and of the whole recommend call
(round trip through the host for the module).

Then sends the costliest requests the module accepts (k = 500 with an
all-ones consumed filter, an allow-list of 4096 items, allow and exclude
lists that cancel out, all at once) --adversarial times each, and prints
their p50 and p99 in the module, the rows each examined against the
per-request budget, and the slowest one's p99 over the normal p99.`, stderr)
	items := fs.Int("items", 100_000, "catalog size")
	dim := fs.Int("dim", 64, "embedding width (a multiple of 8 takes the fast kernel)")
	hist := fs.Int("history-dim", 32, "width of the history rows the query tower pools (≤ dim)")
	queries := fs.Int("queries", 200, "requests to time")
	k := fs.Int("k", 20, "items per timed recommend request (recall@100 is measured on retrieval, whatever k)")
	wasmPath := fs.String("wasm", "", "recommender.wasm (default: next to the edgerec binary, then bin/recommender.wasm)")
	asJSON := fs.Bool("json", false, "print JSON")
	exact := fs.Bool("exact", false, "build no index: measure the exact scan")
	lists := fs.Int("lists", 0, "inverted lists (0: 2·√N)")
	target := fs.Float64("target", 0, "recall@100 against the exact int8 scan the default nprobe is tuned for (0: builder default)")
	seed := fs.Uint64("seed", 1, "seed of the catalog and the users")
	reserve := fs.Bool("reserve-memory", false, "reserve the instance's linear memory up front (host.Options.ReserveMemory: faster loading, slower requests)")
	keep := fs.String("keep", "", "also write the bundle to this file")
	advReps := fs.Int("adversarial", 20, "times to send each adversarial request (0: none)")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case *items < 100 || *items > bundle.MaxItems:
		return usagef("--items %d out of range [100, %d]", *items, bundle.MaxItems)
	case *dim < 1 || *dim > 4096:
		return usagef("--dim %d out of range [1, 4096]", *dim)
	case *hist < 1 || *hist > *dim:
		return usagef("--history-dim %d out of range [1, --dim]", *hist)
	case *queries < 1 || *queries > 100_000:
		return usagef("--queries %d out of range [1, 100000]", *queries)
	case *target < 0 || *target > 1:
		return usagef("--target %v out of range [0, 1]", *target)
	case *advReps < 0 || *advReps > 10_000:
		return usagef("--adversarial %d out of range [0, 10000]", *advReps)
	}
	progress := func(format string, a ...any) { fmt.Fprintf(stderr, "\r\033[K"+format, a...) }

	// The module first: a missing file should fail before minutes of work.
	path, wasm, err := readModule(*wasmPath)
	if err != nil {
		return err
	}

	if *k < 1 || *k > api.MaxK {
		return usagef("--k %d out of range [1, %d]", *k, api.MaxK)
	}
	rep := &benchReport{Items: *items, Dim: *dim, HistoryDim: *hist, Queries: *queries, K: *k, Index: "exact", ModuleBytes: len(wasm)}
	if rep.ModuleBytesZstd, rep.ZstdTool, err = zstdSize(wasm); err != nil {
		return err
	}

	progress("generating %d items", *items)
	cat := anntest.Clustered(*items, *dim, *hist, *seed)
	b := benchBundle(cat, *seed)
	if !*exact {
		start := time.Now()
		err := builder.Index(b, builder.IndexOptions{MinItems: 1, Lists: *lists, Target: *target, Seed: *seed,
			Progress: func(stage string, done, total int) { progress("index: %s %d/%d", stage, done, total) }})
		if err != nil {
			return err
		}
		rep.BuildIndexMS = ms(time.Since(start))
		rep.Index, rep.Lists, rep.NProbe = "ivf", b.Index.Lists(), b.Index.NProbe
	}
	// The other candidate sources, so that recommend times the whole
	// pipeline (they refer to rows, so they come after the index).
	b.Pipeline = bundletest.RandomPipeline(*items, *seed)
	progress("encoding the bundle")
	data, err := bundle.Encode(b)
	if err != nil {
		return err
	}
	if *keep != "" {
		if err := writeFileAtomic(*keep, data); err != nil {
			return err
		}
	}
	rep.BundleBytes = len(data)
	rep.BytesPerItem = float64(len(data)) / float64(*items)
	h, err := bundle.ReadHeader(data)
	if err != nil {
		return err
	}
	for _, e := range h.Entries {
		rep.SectionBytes = append(rep.SectionBytes, kv{Tag: e.Tag, Bytes: e.Stored, Zstd: e.Flags&bundle.FlagZstd != 0})
	}
	// Catalog index of each bundle row (the index reorders rows).
	catRow := make([]int32, *items)
	for r, id := range b.Items.IDs {
		i, err := strconv.Atoi(id[1:])
		if err != nil {
			return err
		}
		catRow[r] = int32(i)
	}
	b = nil

	progress("loading natively")
	start := time.Now()
	rec, err := pipeline.Load(data)
	if err != nil {
		return err
	}
	rep.LoadNativeMS = ms(time.Since(start))

	ctx := context.Background()
	progress("compiling %s", path)
	inst, closeAll, err := openInstanceWith(ctx, wasm, host.Options{CacheDir: host.DefaultCacheDir(), ReserveMemory: *reserve})
	if err != nil {
		return err
	}
	defer closeAll()
	progress("loading into the module")
	start = time.Now()
	if _, err := inst.LoadBundle(ctx, data); err != nil {
		return err
	}
	rep.LoadMS = ms(time.Since(start))
	rep.InstanceBytes = inst.MemoryBytes()

	// Users and the exact float32 top 100 of their queries.
	rng := rand.New(rand.NewPCG(*seed, 99))
	reqs := make([]*api.Request, *queries)
	for i := range reqs {
		req := &api.Request{K: *k, Debug: true, Context: api.Context{Region: "eu", Device: "mobile", Age: 30}}
		for _, c := range cat.User(rng, 10) {
			req.History = append(req.History, api.Event{Item: benchID(int(c))})
		}
		reqs[i] = req
	}
	progress("exact float32 search for %d queries", *queries)
	var mu sync.Mutex
	var sumRecall, sumInt8 float64
	var firstErr error
	parallelDo(len(reqs), func(i int) {
		req := cloneRequest(reqs[i])
		req.Normalize()
		q := rec.Resolve(req)
		emb := rec.Embed(q)
		excl := map[int32]bool{}
		for _, r := range q.Exclude {
			excl[catRow[r]] = true
		}
		want := exactFloat(cat, emb, 100, excl)
		var got, gotExact []int32
		for _, c := range rec.Retrieve(q, emb, 100) {
			got = append(got, catRow[c.Row])
		}
		skip := func(r int32) bool { return slices.Contains(q.Exclude, r) }
		for _, h := range (ann.Exact{Items: rec.Bundle().Embeddings}).Search(emb, 100, skip) {
			gotExact = append(gotExact, catRow[h.Item])
		}
		mu.Lock()
		defer mu.Unlock()
		if len(want) == 0 {
			firstErr = fmt.Errorf("query %d has no exact neighbours", i)
			return
		}
		sumRecall += anntest.Recall(got, want)
		sumInt8 += anntest.Recall(gotExact, want)
	})
	if firstErr != nil {
		return firstErr
	}
	rep.RecallAt100 = sumRecall / float64(len(reqs))
	rep.RecallExactInt8 = sumInt8 / float64(len(reqs))

	// Timings: module and native alternate, after a warm-up.
	var wr, wt, nr, nt []float64
	var names []string
	wstage, nstage := map[string][]float64{}, map[string][]float64{}
	for i := -min(20, len(reqs)); i < len(reqs); i++ {
		req := reqs[(i+len(reqs))%len(reqs)]
		if i >= 0 && i%20 == 0 {
			progress("query %d/%d", i, len(reqs))
		}
		start := time.Now()
		wresp, err := inst.Recommend(ctx, cloneRequest(req))
		if err != nil {
			return err
		}
		wtime := ms(time.Since(start))
		start = time.Now()
		nresp, err := rec.Recommend(cloneRequest(req))
		if err != nil {
			return err
		}
		ntime := ms(time.Since(start))
		if i < 0 {
			continue
		}
		if !sameItems(wresp, nresp) {
			rep.Mismatches++
		}
		wr, wt = append(wr, retrieveMS(wresp)), append(wt, wtime)
		nr, nt = append(nr, retrieveMS(nresp)), append(nt, ntime)
		for _, st := range wresp.Debug.Stages {
			if _, ok := wstage[st.Name]; !ok {
				names = append(names, st.Name)
			}
			wstage[st.Name] = append(wstage[st.Name], float64(st.Micros)/1000)
		}
		for _, st := range nresp.Debug.Stages {
			nstage[st.Name] = append(nstage[st.Name], float64(st.Micros)/1000)
		}
	}
	for _, n := range names {
		rep.Stages = append(rep.Stages, stageTimes{n, percentile(wstage[n], 50), percentile(nstage[n], 50)})
	}
	rep.Wasm = timings{percentile(wr, 50), percentile(wr, 99), percentile(wt, 50), percentile(wt, 99)}
	rep.Native = timings{percentile(nr, 50), percentile(nr, 99), percentile(nt, 50), percentile(nt, 99)}
	if rep.Native.RetrieveP50 > 0 {
		rep.RetrieveRatio = rep.Wasm.RetrieveP50 / rep.Native.RetrieveP50
	}
	if *advReps > 0 {
		var worst float64
		for _, a := range adversarialRequests(*items, *seed) {
			progress("adversarial: %s", a.name)
			at := adversarialTimes{Name: a.name, MaxBudget: pipeline.MaxExamined}
			// Timed as the edge server serves it: the client's bytes in,
			// the response decoded.
			body, err := api.EncodeRequest(a.req)
			if err != nil {
				return err
			}
			at.Bytes = len(body)
			var times []float64
			for i := -1; i < *advReps; i++ {
				start := time.Now()
				out, err := inst.RecommendBytes(ctx, body)
				if err != nil {
					return fmt.Errorf("adversarial request %q: %w", a.name, err)
				}
				resp, err := api.DecodeResponse(out)
				if err != nil {
					return err
				}
				if i < 0 {
					continue // warm-up
				}
				times = append(times, ms(time.Since(start)))
				at.Items, at.Warnings = len(resp.Items), resp.Warnings
				if resp.Debug != nil {
					at.Examined = resp.Debug.Examined
				}
			}
			at.P50, at.P99 = percentile(times, 50), percentile(times, 99)
			worst = max(worst, at.P99)
			rep.Adversarial = append(rep.Adversarial, at)
		}
		if rep.Wasm.RecommendP99 > 0 {
			rep.AdversarialRatio = worst / rep.Wasm.RecommendP99
		}
	}
	progress("")
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printBench(stdout, rep)
	return nil
}

func printBench(w io.Writer, r *benchReport) {
	idx := "exact scan"
	if r.Index == "ivf" {
		idx = fmt.Sprintf("IVF, %d lists, nprobe %d (built in %.1f s)", r.Lists, r.NProbe, r.BuildIndexMS/1000)
	}
	var secs []string
	for _, s := range r.SectionBytes {
		z := ""
		if s.Zstd {
			z = " zstd"
		}
		secs = append(secs, fmt.Sprintf("%s %.1f%s", s.Tag, float64(s.Bytes)/float64(r.Items), z))
	}
	fmt.Fprintf(w, "items              %d × dim %d (history rows %d), %d queries of k = %d\n", r.Items, r.Dim, r.HistoryDim, r.Queries, r.K)
	fmt.Fprintf(w, "index              %s\n", idx)
	fmt.Fprintf(w, "bundle_bytes       %d (%.1f bytes per item: %s)\n", r.BundleBytes, r.BytesPerItem, strings.Join(secs, ", "))
	fmt.Fprintf(w, "module_bytes       %d (%s: %d)\n", r.ModuleBytes, r.ZstdTool, r.ModuleBytesZstd)
	fmt.Fprintf(w, "load_ms            %.1f in the module (%.1f natively); instance memory %.1f MiB\n", r.LoadMS, r.LoadNativeMS, float64(r.InstanceBytes)/(1<<20))
	fmt.Fprintf(w, "recall_at_100      %.4f against exact float32 (the exact int8 scan: %.4f)\n", r.RecallAt100, r.RecallExactInt8)
	fmt.Fprintf(w, "                   retrieve p50   p99      recommend p50   p99   (ms)\n")
	fmt.Fprintf(w, "wasm               %8.3f %8.3f      %8.3f %8.3f\n", r.Wasm.RetrieveP50, r.Wasm.RetrieveP99, r.Wasm.RecommendP50, r.Wasm.RecommendP99)
	fmt.Fprintf(w, "native             %8.3f %8.3f      %8.3f %8.3f\n", r.Native.RetrieveP50, r.Native.RetrieveP99, r.Native.RecommendP50, r.Native.RecommendP99)
	fmt.Fprintf(w, "wasm/native        retrieve p50 %.2f×; responses that differ: %d\n", r.RetrieveRatio, r.Mismatches)
	fmt.Fprintf(w, "stage p50 (ms)     wasm     native\n")
	for _, st := range r.Stages {
		fmt.Fprintf(w, "  %-16s %7.3f  %7.3f\n", st.Name, st.WasmP50, st.NativeP50)
	}
	if len(r.Adversarial) == 0 {
		return
	}
	fmt.Fprintf(w, "adversarial (wasm)  recommend p50   p99 (ms)  examined  items  request bytes  warnings\n")
	for _, a := range r.Adversarial {
		fmt.Fprintf(w, "  %-32s %8.3f %8.3f  %8d  %5d  %13d  %s\n", a.Name, a.P50, a.P99, a.Examined, a.Items, a.Bytes, strings.Join(a.Warnings, ","))
	}
	fmt.Fprintf(w, "adversarial worst  %.2f× the normal recommend p99 (budget %d rows examined per request)\n", r.AdversarialRatio, r.Adversarial[0].MaxBudget)
}

// adversarial is one costly request the bench sends.
type adversarial struct {
	name string
	req  *api.Request
}

// adversarialRequests returns the costliest requests the module accepts
// against the bench catalog of n items: k at api.MaxK and filters that
// reject (nearly) everything the sources propose — an all-ones consumed
// filter (the smallest and the largest), the fullest filter the module
// still applies with the longest exclusion list, an allow-list at the
// limit, allow and exclude lists that cancel out, and all of it at once
// with the longest history, the most impressions and the most probes.
func adversarialRequests(n int, seed uint64) []adversarial {
	ids := func(count, from int) []string {
		out := make([]string, count)
		for j := range out {
			out[j] = benchID((from + j*max(1, n/count)) % n)
		}
		return out
	}
	below, _ := bloomtest.Below(2000, api.MaxConsumedFPRate, seed).MarshalBinary()
	half := ids(api.MaxExclude/2, 0)
	all := &api.Request{K: api.MaxK, Debug: true, NProbe: 1 << 20, Consumed: bloomtest.Full(bloom.MaxBits, bloom.MaxHashes),
		Filters: &api.Filters{Allow: half, Exclude: half}, Context: api.Context{Region: "eu", Device: "mobile", Age: 30}}
	for _, id := range ids(api.MaxHistory, 7) {
		all.History = append(all.History, api.Event{Item: id})
	}
	for _, id := range ids(api.MaxImpressions, 11) {
		all.Impressions = append(all.Impressions, api.Impression{Item: id, Count: 3})
	}
	return []adversarial{
		{"all-ones consumed, 64 bits", &api.Request{K: api.MaxK, Debug: true, Consumed: bloomtest.Full(64, 1)}},
		{"all-ones consumed, 512 KiB", &api.Request{K: api.MaxK, Debug: true, Consumed: bloomtest.Full(bloom.MaxBits, bloom.MaxHashes)}},
		{"consumed below saturation", &api.Request{K: api.MaxK, Debug: true, Consumed: below,
			Filters: &api.Filters{Exclude: ids(api.MaxExclude, 3)}}},
		{"allow-list of 4096", &api.Request{K: api.MaxK, Debug: true, Filters: &api.Filters{Allow: ids(api.MaxExclude, 5)}}},
		{"allow = exclude, 2048 each", &api.Request{K: api.MaxK, Debug: true, Filters: &api.Filters{Allow: half, Exclude: half}}},
		{"everything at once", all},
	}
}

// benchID is the id of catalog item i.
func benchID(i int) string { return fmt.Sprintf("i%07d", i) }

// benchBundle packs a synthetic catalog as a bundle whose query tower turns
// a history into the catalog's query for it (anntest.Catalog.Query), with
// the shape and cost of a trained tower: two history pools and a seed row
// of HistoryDim, region and device fields, age, a cross layer and a
// two-layer MLP. Only the plain mean pool reaches the output: layer 1 holds
// ±Pᵀ (P the catalog's projection) with ReLU and layer 2 adds the halves, so
// the output is Pᵀ·mean(history rows) exactly; the cross layer's weights
// are zero, which leaves its input unchanged.
func benchBundle(cat *anntest.Catalog, seed uint64) *bundle.Bundle {
	n, d, h := cat.N, cat.Dim, cat.History
	rng := rand.New(rand.NewPCG(seed, 7))
	b := &bundle.Bundle{
		Vocab:      bundle.Vocab{Categories: *feature.NewVocab(genres()), Licensing: *feature.NewVocab(nil)},
		Embeddings: quant.NewInt8(n, d),
		History:    quant.NewInt8(n, h),
	}
	it := &b.Items
	it.CategoryOffsets = make([]uint32, 0, n+1)
	it.CategoryOffsets = append(it.CategoryOffsets, 0)
	it.RegionOffsets = make([]uint32, n+1)
	p := make([]float32, h)
	for i := 0; i < n; i++ {
		it.IDs = append(it.IDs, benchID(i))
		it.Titles = append(it.Titles, fmt.Sprintf("Item %d", i))
		it.Categories = append(it.Categories, 1+cat.Cluster[i]%anntest.Genres)
		it.CategoryOffsets = append(it.CategoryOffsets, uint32(len(it.Categories)))
		it.Released = append(it.Released, 1_700_000_000+int64(rng.IntN(365*86400)))
		it.Available = append(it.Available, true)
		it.AgeRating = append(it.AgeRating, 0)
		pop := float32(math.Log1p(float64(rng.IntN(1000))))
		it.Popularity = append(it.Popularity, pop)
		it.Recent = append(it.Recent, pop/2)
		it.Known = append(it.Known, true)
		b.Embeddings.Set(i, cat.Row(i))
		cat.Project(p, cat.Row(i))
		b.History.Set(i, p)
	}
	field := func(name string, values []string) tower.Field {
		v := feature.NewVocab(values)
		t := nn.NewTable(v.Size(), 4)
		for j := range t.Data {
			t.Data[j] = float32(rng.NormFloat64()) * 0.1
		}
		return tower.Field{Name: name, Vocab: *v, Table: t}
	}
	q := tower.Query{HistoryDim: h, MaxHistory: 50, Decays: []float32{1, 0.8}, Seed: true,
		Fields:   []tower.Field{field(feature.Region, bundletest.Regions), field(feature.Device, bundletest.Devices)},
		Numerics: []tower.Numeric{{Name: feature.Age, Quantiles: feature.Quantiles{Bounds: []float32{18, 25, 35, 50, 65}}}}}
	in := q.InputDim()
	q.Cross = nn.Stack{{Dim: in, W: make([]float32, in*in), B: make([]float32, in)}}
	w1 := make([]float32, 2*d*in)
	for o := 0; o < d; o++ {
		for k := 0; k < h; k++ {
			w1[o*in+k] = cat.Proj[k*d+o]      // the first pool: mean of the rows
			w1[(d+o)*in+k] = -cat.Proj[k*d+o] // and its negation
		}
	}
	w2 := make([]float32, d*2*d)
	for o := 0; o < d; o++ {
		w2[o*2*d+o], w2[o*2*d+d+o] = 1, -1
	}
	q.MLP = nn.MLP{Layers: []nn.Dense{
		{In: in, Out: 2 * d, W: w1, B: make([]float32, 2*d), Act: nn.ReLU},
		{In: 2 * d, Out: d, W: w2, B: make([]float32, d), Act: nn.Linear},
	}}
	b.Query = q
	// A ranker of the trainer's default shape, untrained: what a trained
	// bundle's rank stage costs.
	b.Ranker = train.NewRanker(train.DefaultRankerConfig(), rng)
	b.Manifest = bundle.Manifest{Format: bundle.FormatName, Version: fmt.Sprintf("bench-%d-%d-%d", n, d, seed),
		Created: 1_767_225_600, Items: n, Dim: d, HistoryDim: h, Quantization: "int8", Metric: "dot",
		Builder: "edgerec bench", Model: bundle.Model{Name: "synthetic", Data: "anntest.Clustered"}}
	return b
}

func genres() []string {
	g := make([]string, anntest.Genres)
	for i := range g {
		g[i] = fmt.Sprintf("genre%02d", i)
	}
	return g
}

// exactFloat returns the catalog items with the k highest inner products
// with q, excluding excl: the float32 ground truth.
func exactFloat(cat *anntest.Catalog, q []float32, k int, excl map[int32]bool) []int32 {
	top := ann.NewTopK(k)
	for i := 0; i < cat.N; i++ {
		if !excl[int32(i)] {
			top.Push(int32(i), vec.Dot(q, cat.Row(i)))
		}
	}
	var out []int32
	for _, h := range top.Sorted() {
		out = append(out, h.Item)
	}
	return out
}

// parallelDo runs f(0) … f(n−1) on GOMAXPROCS goroutines.
func parallelDo(n int, f func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

// cloneRequest copies what Recommend may modify (Normalize truncates
// lists in place).
func cloneRequest(r *api.Request) *api.Request {
	c := *r
	c.History = slices.Clone(r.History)
	c.Impressions = slices.Clone(r.Impressions)
	return &c
}

// retrieveMS is the debug time of the response's retrieve stage: the
// two-tower search alone.
func retrieveMS(r *api.Response) float64 {
	if r.Debug != nil {
		for _, s := range r.Debug.Stages {
			if s.Name == "retrieve" {
				return float64(s.Micros) / 1000
			}
		}
	}
	return math.NaN()
}

func sameItems(a, b *api.Response) bool {
	if len(a.Items) != len(b.Items) {
		return false
	}
	for i := range a.Items {
		if a.Items[i].ID != b.Items[i].ID {
			return false
		}
	}
	return true
}

// percentile returns the p-th percentile of x by nearest rank.
func percentile(x []float64, p float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	s := slices.Clone(x)
	sort.Float64s(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// zstdSize returns the size of b compressed by `zstd -19` when the zstd
// command is installed, else by klauspost/compress at its best level
// (about 15 % larger for the module), and says which.
func zstdSize(b []byte) (int, string, error) {
	if path, err := exec.LookPath("zstd"); err == nil {
		cmd := exec.Command(path, "-19", "-q", "-c")
		cmd.Stdin = bytes.NewReader(b)
		if out, err := cmd.Output(); err == nil {
			return len(out), "zstd -19", nil
		}
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBestCompression), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return 0, "", err
	}
	defer enc.Close()
	return len(enc.EncodeAll(b, nil)), "klauspost/compress best", nil
}
