// Package pipeline runs a recommendation request against a loaded bundle:
// retrieve → filter → rank → order. It is the code recommender.wasm runs, and
// the same code runs natively for parity tests, benchmarks, and the
// trainer's generation of ranker examples.
//
// This version retrieves with the two-tower model by an exact int8 scan,
// excluding the user's history and the seed, and, when the bundle has a
// ranker, re-scores the top Depth candidates with it.
package pipeline

import (
	"math"
	"sort"
	"time"

	"github.com/edgerec/edgerec/core/ann"
	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/feature"
	"github.com/edgerec/edgerec/core/quant"
	"github.com/edgerec/edgerec/core/rank"
	"github.com/edgerec/edgerec/core/tower"
)

// SourceTwoTower names the two-tower ANN candidate source in responses.
const SourceTwoTower = "twotower"

// Recommender answers requests from one bundle. It is safe for concurrent
// use: requests do not modify it.
type Recommender struct {
	b       *bundle.Bundle
	index   map[string]int32 // item id → row
	summary api.Summary
}

// Load decodes and validates a bundle. The Recommender may keep references to
// data: the caller must not modify data afterwards.
func Load(data []byte) (*Recommender, error) {
	b, err := bundle.Decode(data)
	if err != nil {
		return nil, err
	}
	r := &Recommender{
		b:     b,
		index: make(map[string]int32, len(b.Items.IDs)),
		summary: api.Summary{
			Version:   b.Manifest.Version,
			Created:   b.Manifest.Created,
			Items:     b.Manifest.Items,
			Dim:       b.Manifest.Dim,
			Format:    b.Format,
			SizeBytes: len(data),
		},
	}
	for i, id := range b.Items.IDs {
		r.index[id] = int32(i)
	}
	// Build the vocabularies' lookup maps now, so that concurrent requests
	// only read them.
	b.Vocab.Categories.Index("")
	b.Vocab.Licensing.Index("")
	for i := range b.Query.Fields {
		b.Query.Fields[i].Vocab.Index("")
	}
	return r, nil
}

// Summary describes the loaded bundle.
func (r *Recommender) Summary() api.Summary { return r.summary }

// Bundle returns the loaded bundle's content; callers must not modify it.
func (r *Recommender) Bundle() *bundle.Bundle { return r.b }

// Lookup returns the row of an item id.
func (r *Recommender) Lookup(id string) (int32, bool) {
	i, ok := r.index[id]
	return i, ok
}

// Query is a request resolved against the bundle.
type Query struct {
	Input   tower.QueryInput
	Context feature.Context
	Exclude []int32 // rows never to recommend: the history and the seed
	Unknown int     // history and seed ids not in the bundle
	Time    int64   // the request time, or the bundle's creation time
}

// Resolve maps a normalized request's ids to rows and its context to the
// query tower's input. Ids not in the bundle are dropped and counted; items
// in the bundle that the model never saw are excluded from the results but
// not pooled (their id embedding is the untrained unknown row).
func (r *Recommender) Resolve(req *api.Request) *Query {
	q := &Query{Time: req.Context.Time}
	if q.Time <= 0 {
		q.Time = r.b.Manifest.Created
	}
	known := r.b.Items.Known
	hist := make([]int32, 0, len(req.History))
	for _, e := range req.History {
		if i, ok := r.index[e.Item]; ok {
			q.Exclude = append(q.Exclude, i)
			if known[i] {
				hist = append(hist, i)
			}
		} else {
			q.Unknown++
		}
	}
	seed := int32(-1)
	if req.Seed != "" {
		if i, ok := r.index[req.Seed]; ok {
			q.Exclude = append(q.Exclude, i)
			if known[i] {
				seed = i
			}
		} else {
			q.Unknown++
		}
	}
	c := req.Context
	q.Context = feature.Context{Region: c.Region, Device: c.Device, Gender: c.Gender, Age: c.Age, Attrs: c.Attrs,
		Time: c.Time, HistoryLen: len(hist)}
	q.Input = r.b.Query.Prepare(&q.Context, hist, seed)
	return q
}

// Embed computes the query embedding.
func (r *Recommender) Embed(q *Query) []float32 {
	return r.b.Query.Embed(r.b.Query.NewScratch(), r.b.History, q.Input)
}

// Candidate is one retrieved item with its ranker features.
type Candidate struct {
	Row      int32
	Score    float32   // retrieval score
	Features []float32 // rank.Features, filled by Features
}

// Retrieve returns the n items scoring highest against the query embedding,
// best first, excluding the history and the seed.
func (r *Recommender) Retrieve(q *Query, emb []float32, n int) []Candidate {
	skip := newBitset(r.b.Manifest.Items)
	for _, i := range q.Exclude {
		skip.set(i)
	}
	hits := ann.Exact{Items: r.b.Embeddings}.Search(emb, n, skip.has)
	out := make([]Candidate, len(hits))
	for i, h := range hits {
		out[i] = Candidate{Row: h.Item, Score: h.Score}
	}
	return out
}

// Features computes every candidate's rank.Features, in place.
func (r *Recommender) Features(q *Query, cands []Candidate) {
	it := &r.b.Items
	// Category histogram of the history, for category_affinity.
	catCount := map[int32]int{}
	for _, h := range q.Input.History {
		for _, c := range it.CategoriesOf(int(h)) {
			catCount[c]++
		}
	}
	nh := len(q.Input.History)
	var seedCodes []int8
	var seedScale float32
	if q.Input.Seed >= 0 {
		seedCodes, seedScale = r.b.Embeddings.Row(int(q.Input.Seed)), r.b.Embeddings.Scales[q.Input.Seed]
	}
	histLog := float32(math.Log1p(float64(nh)))
	for k := range cands {
		c := &cands[k]
		row := int(c.Row)
		f := make([]float32, len(rank.Features))
		f[0] = c.Score
		f[1] = float32(math.Log1p(float64(k)))
		f[2] = it.Popularity[row]
		f[3] = it.Recent[row]
		f[4] = (&feature.Item{Released: it.Released[row], Time: q.Time}).Numeric(feature.ItemAge)
		if cats := it.CategoriesOf(row); nh > 0 && len(cats) > 0 {
			var s int
			for _, cat := range cats {
				s += catCount[cat]
			}
			f[5] = float32(s) / float32(nh*len(cats))
		}
		f[6] = histLog
		if !it.Known[row] {
			f[7] = 1
		}
		if seedCodes != nil {
			f[8] = seedScale * r.b.Embeddings.Scales[row] * float32(quant.DotInt8(seedCodes, r.b.Embeddings.Row(row)))
		}
		c.Features = f
	}
}

// Rank re-scores candidates with the bundle's ranker (if any) and sorts them
// best first; without a ranker the order and scores stay.
func (r *Recommender) Rank(cands []Candidate) {
	m := r.b.Ranker
	if m == nil {
		return
	}
	s := m.NewScratch()
	for k := range cands {
		cands[k].Score = m.Score(s, cands[k].Features)
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].Score > cands[j].Score })
}

// Depth returns how many candidates retrieval fetches for a request of k.
func (r *Recommender) Depth(k int) int {
	if r.b.Ranker != nil {
		return max(k, r.b.Ranker.Depth)
	}
	return k
}

// Recommend answers one request. req is normalized in place (see
// api.Request.Normalize).
func (r *Recommender) Recommend(req *api.Request) (*api.Response, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	truncated := req.Normalize()
	var stages []api.Stage
	start := time.Now()
	stage := func(name string, in, out int) {
		now := time.Now()
		stages = append(stages, api.Stage{Name: name, In: in, Out: out, Micros: now.Sub(start).Microseconds()})
		start = now
	}

	q := r.Resolve(req)
	emb := r.Embed(q)
	cands := r.Retrieve(q, emb, r.Depth(req.K))
	stage("retrieve", r.b.Manifest.Items, len(cands))
	if r.b.Ranker != nil {
		r.Features(q, cands)
		r.Rank(cands)
		stage("rank", len(cands), min(req.K, len(cands)))
	}
	cands = cands[:min(req.K, len(cands))]

	resp := &api.Response{
		Items:         make([]api.Item, len(cands)),
		BundleVersion: r.b.Manifest.Version,
	}
	for j, c := range cands {
		resp.Items[j] = api.Item{ID: r.b.Items.IDs[c.Row], Score: c.Score, Source: SourceTwoTower}
	}
	if req.Debug {
		resp.Debug = &api.Debug{Stages: stages, UnknownItems: q.Unknown, Truncated: truncated}
	}
	return resp, nil
}

// bitset marks rows.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (b bitset) set(i int32) { b[i>>6] |= 1 << (uint(i) & 63) }

func (b bitset) has(i int32) bool { return b[i>>6]&(1<<(uint(i)&63)) != 0 }
