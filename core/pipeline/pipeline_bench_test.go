package pipeline

import (
	"os"
	"testing"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle/bundletest"
)

// BenchmarkStages times each stage of one request on 20k items, to compare
// the module with native code stage by stage:
//
//	go test -run '^$' -bench Stages ./core/pipeline
//	GOOS=wasip1 GOARCH=wasm go test -exec "$(go env GOROOT)/lib/wasm/go_wasip1_wasm_exec" -run '^$' -bench Stages ./core/pipeline
//
// (the second needs a wasm runtime on PATH, e.g. the wazero command).
// With EDGEREC_BENCH_BUNDLE naming a bundle file (`edgerec bench --keep`),
// it times that bundle instead, with a history of ten of its items.
func BenchmarkStages(b *testing.B) {
	var r *Recommender
	newReq := func() *api.Request { return historyRequest(10, 37) }
	if path := os.Getenv("EDGEREC_BENCH_BUNDLE"); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		if r, err = Load(data); err != nil {
			b.Fatal(err)
		}
		ids := r.b.Items.IDs
		newReq = func() *api.Request {
			req := historyRequest(0, 0)
			for i := range 10 {
				req.History = append(req.History, api.Event{Item: ids.At((i*7919 + 13) % ids.Len())})
			}
			req.Normalize()
			return req
		}
	} else {
		r = loadBundle(b, bundletest.Random(20_000, 64, 1))
	}
	rq := stage1(r, newReq())
	req, p, q, f, emb, cands := rq.req, rq.p, rq.q, rq.f, rq.emb, rq.cands
	seed := requestSeed("", "", q.Time)
	b.Logf("%d candidates", len(cands))
	b.Run("embed", func(b *testing.B) {
		for b.Loop() {
			r.Embed(r.Resolve(req))
		}
	})
	b.Run("retrieve", func(b *testing.B) {
		for b.Loop() {
			f.examined = 0
			r.search(q, emb, p.Depth[0], f)
		}
	})
	b.Run("sources", func(b *testing.B) {
		for b.Loop() {
			f.examined = 0
			r.sources(q, emb, &p, 1, f, seed, nil)
		}
	})
	b.Run("features", func(b *testing.B) {
		for b.Loop() {
			r.Features(q, emb, cands)
		}
	})
	b.Run("rank", func(b *testing.B) {
		for b.Loop() {
			r.Rank(q, emb, &p, cands)
		}
	})
	// ranker scores the candidates one at a time (rank.Model.Score, the
	// baseline); ranker-rows as the rank stage does (ScoreRows).
	b.Run("ranker", func(b *testing.B) {
		m := r.b.Ranker
		sc := m.NewScratch()
		for b.Loop() {
			for k := range cands {
				cands[k].Score = m.Score(sc, cands[k].Features)
			}
		}
	})
	b.Run("ranker-rows", func(b *testing.B) {
		m := r.b.Ranker
		raws := make([][]float32, len(cands))
		for k := range cands {
			raws[k] = cands[k].Features
		}
		scores := make([]float32, len(cands))
		for b.Loop() {
			m.ScoreRows(m.NewRows(), raws, scores)
		}
	})
	b.Run("sort", func(b *testing.B) {
		p := p
		p.Ranker = false
		for b.Loop() {
			r.Rank(q, emb, &p, cands)
		}
	})
	b.Run("order", func(b *testing.B) {
		for b.Loop() {
			o := *rq
			o.cands = append([]Candidate(nil), cands...)
			r.order(&o)
		}
	})
	b.Run("recommend", func(b *testing.B) {
		for b.Loop() {
			r.Recommend(newReq())
		}
	})
}

// historyRequest is a normalized request of k = 20 from region eu, age 30,
// whose history is n items step rows apart.
func historyRequest(n, step int) *api.Request {
	var hist []api.Event
	for i := range n {
		hist = append(hist, api.Event{Item: bundletest.ID(i * step)})
	}
	req := &api.Request{K: 20, History: hist, Context: api.Context{Region: "eu", Age: 30}}
	req.Normalize()
	return req
}

// stage1 runs the request's first stage as Recommend does and returns
// what the later stages take.
func stage1(r *Recommender, req *api.Request) *request {
	rq, err := r.newRequest(req)
	if err != nil {
		panic(err)
	}
	rq.q = r.Resolve(req)
	rq.f, _ = r.newFilter(req, rq.q)
	rq.emb = r.Embed(rq.q)
	rq.cands = r.sources(rq.q, rq.emb, &rq.p, 1, rq.f, requestSeed("", "", rq.q.Time), nil).cands
	return rq
}
