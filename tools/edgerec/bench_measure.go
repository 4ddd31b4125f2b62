package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os/exec"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/edgerec/edgerec/core/ann"
	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/pipeline"
	"github.com/edgerec/edgerec/core/vec"
	"github.com/edgerec/edgerec/host"
	"github.com/edgerec/edgerec/tools/benchdata"
)

// benchUsers returns the timed requests: o.queries users of cat, each with
// 10 history items, asking for o.k items with debug timings.
func benchUsers(cat *benchdata.Catalog, o benchOptions) []*api.Request {
	rng := rand.New(rand.NewPCG(o.seed, 99))
	reqs := make([]*api.Request, o.queries)
	for i := range reqs {
		req := &api.Request{K: o.k, Debug: true, Context: api.Context{Region: "eu", Device: "mobile", Age: 30}}
		for _, c := range cat.User(rng, 10) {
			req.History = append(req.History, api.Event{Item: benchID(int(c))})
		}
		reqs[i] = req
	}
	return reqs
}

// measureRecall sets rep's recall@100 of the native pipeline's retrieval
// and of the exact int8 scan against exact float32 search over cat
// (excluding each user's history); catRow maps bundle rows to catalog
// items. The module's retrieval is the same code (timeBench counts the
// responses where they differ).
func measureRecall(rep *benchReport, rec *pipeline.Recommender, cat *benchdata.Catalog, catRow []int32, reqs []*api.Request) error {
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
		if e := rec.Bundle().Embeddings; e != nil {
			for _, h := range (ann.Exact{Items: e}).Search(emb, 100, skip) {
				gotExact = append(gotExact, catRow[h.Item])
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if len(want) == 0 {
			firstErr = fmt.Errorf("query %d has no exact neighbours", i)
			return
		}
		sumRecall += benchdata.Recall(got, want)
		if gotExact != nil {
			sumInt8 += benchdata.Recall(gotExact, want)
		}
	})
	if firstErr != nil {
		return firstErr
	}
	rep.RecallAt100 = sumRecall / float64(len(reqs))
	rep.RecallExactInt8 = sumInt8 / float64(len(reqs))
	return nil
}

// timeBench sends reqs to the module and natively, alternating, after a
// warm-up of 20, and sets rep's percentiles, stage medians and the number
// of responses that differ.
func timeBench(ctx context.Context, rep *benchReport, inst *host.Instance, rec *pipeline.Recommender, reqs []*api.Request, progress func(string, ...any)) error {
	var wr, wt, nr, nt []float64
	var wstage, nstage stageSamples
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
		wstage.add(wresp.Debug.Stages)
		nstage.add(nresp.Debug.Stages)
	}
	for _, n := range wstage.names {
		rep.Stages = append(rep.Stages, stageTimes{Name: n, WasmP50: percentile(wstage.ms[n], 50), NativeP50: percentile(nstage.ms[n], 50),
			WasmP99: percentile(wstage.ms[n], 99), NativeP99: percentile(nstage.ms[n], 99)})
	}
	rep.Wasm = timings{percentile(wr, 50), percentile(wr, 99), percentile(wt, 50), percentile(wt, 99)}
	rep.Native = timings{percentile(nr, 50), percentile(nr, 99), percentile(nt, 50), percentile(nt, 99)}
	if rep.Native.RetrieveP50 > 0 {
		rep.RetrieveRatio = rep.Wasm.RetrieveP50 / rep.Native.RetrieveP50
	}
	return nil
}

// stageSamples collects the debug times of each pipeline stage, in
// milliseconds, and the stages' names in the order they first ran.
type stageSamples struct {
	names []string
	ms    map[string][]float64
}

func (s *stageSamples) add(stages []api.Stage) {
	if s.ms == nil {
		s.ms = map[string][]float64{}
	}
	for _, st := range stages {
		if _, ok := s.ms[st.Name]; !ok {
			s.names = append(s.names, st.Name)
		}
		s.ms[st.Name] = append(s.ms[st.Name], float64(st.Micros)/1000)
	}
}

// exactFloat returns the catalog items with the k highest inner products
// with q, excluding excl: the float32 ground truth.
func exactFloat(cat *benchdata.Catalog, q []float32, k int, excl map[int32]bool) []int32 {
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
