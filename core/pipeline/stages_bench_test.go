package pipeline

import (
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
func BenchmarkStages(b *testing.B) {
	r := loadBundle(b, bundletest.Random(20_000, 64, 1))
	var hist []api.Event
	for i := range 10 {
		hist = append(hist, api.Event{Item: bundletest.ID(i * 37)})
	}
	newReq := func() *api.Request {
		req := &api.Request{K: 20, History: hist, Context: api.Context{Region: "eu", Age: 30}}
		req.Normalize()
		return req
	}
	req := newReq()
	p, _, _ := r.Params(req)
	q := r.Resolve(req)
	f, _ := r.newFilter(req, q)
	emb := r.Embed(q)
	seed := requestSeed("", "", q.Time)
	cands := r.sources(q, emb, &p, 1, f.keep, seed, nil).cands
	b.Logf("%d candidates", len(cands))
	b.Run("embed", func(b *testing.B) {
		for b.Loop() {
			r.Embed(r.Resolve(req))
		}
	})
	b.Run("retrieve", func(b *testing.B) {
		for b.Loop() {
			r.search(q, emb, p.Depth[0], f.keep)
		}
	})
	b.Run("sources", func(b *testing.B) {
		for b.Loop() {
			r.sources(q, emb, &p, 1, f.keep, seed, nil)
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
	b.Run("ranker", func(b *testing.B) {
		m := r.b.Ranker
		sc := m.NewScratch()
		for b.Loop() {
			for k := range cands {
				cands[k].Score = m.Score(sc, cands[k].Features)
			}
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
			c := append([]Candidate(nil), cands...)
			r.order(req, q, &p, c, 20, f.keep)
		}
	})
	b.Run("recommend", func(b *testing.B) {
		for b.Loop() {
			r.Recommend(newReq())
		}
	})
}
