// Package pipeline runs a recommendation request against a loaded bundle:
// retrieve → filter → rank → order. It is the code recommender.wasm runs, and
// the same code runs natively for parity tests and benchmarks.
//
// This version retrieves with the two-tower model by an exact int8 scan and
// excludes the items of the user's history and the seed; the later stages
// pass the retrieved list through unchanged.
package pipeline

import (
	"fmt"
	"time"

	"github.com/edgerec/edgerec/core/ann"
	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/feature"
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
			Format:    fmt.Sprintf("%d.%d", bundle.Major, bundle.Minor),
			SizeBytes: len(data),
		},
	}
	for i, id := range b.Items.IDs {
		r.index[id] = int32(i)
	}
	// Build the vocabularies' lookup maps now, so that concurrent requests
	// only read them.
	for _, v := range []*feature.Vocab{&b.Vocab.Categories, &b.Vocab.Region, &b.Vocab.Device, &b.Vocab.Gender, &b.Vocab.Licensing} {
		v.Index("")
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

// QueryInput turns a normalized request into the query tower's input and
// returns how many of its item ids were unknown. The seed, when known,
// counts as the most recent history item.
func (r *Recommender) QueryInput(req *api.Request) (in tower.QueryInput, unknown int) {
	in.History = make([]int32, 0, len(req.History)+1)
	add := func(id string) {
		if i, ok := r.index[id]; ok {
			in.History = append(in.History, i)
		} else {
			unknown++
		}
	}
	for _, e := range req.History {
		add(e.Item)
	}
	if req.Seed != "" {
		add(req.Seed)
	}
	v := &r.b.Vocab
	in.Fields = []int32{
		v.Region.Index(req.Context.Region),
		v.Device.Index(req.Context.Device),
		v.Gender.Index(req.Context.Gender),
		feature.AgeBucket(req.Context.Age),
	}
	return in, unknown
}

// Embed computes the query embedding of in.
func (r *Recommender) Embed(in tower.QueryInput) []float32 {
	q := &r.b.Query
	dst := make([]float32, q.Dim())
	q.Embed(dst, r.b.History, in, make([]float32, q.InputDim()), q.MLP.NewActs())
	return dst
}

// Recommend answers one request. req is normalized in place (see
// api.Request.Normalize).
func (r *Recommender) Recommend(req *api.Request) (*api.Response, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	truncated := req.Normalize()
	start := time.Now()
	in, unknown := r.QueryInput(req)
	q := r.Embed(in)

	exclude := make(map[int32]struct{}, len(in.History))
	for _, i := range in.History {
		exclude[i] = struct{}{}
	}
	hits := ann.Exact{Items: r.b.Embeddings}.Search(q, req.K, func(i int32) bool {
		_, ok := exclude[i]
		return ok
	})
	resp := &api.Response{
		Items:         make([]api.Item, len(hits)),
		BundleVersion: r.b.Manifest.Version,
	}
	for j, h := range hits {
		resp.Items[j] = api.Item{ID: r.b.Items.IDs[h.Item], Score: h.Score, Source: SourceTwoTower}
	}
	if req.Debug {
		resp.Debug = &api.Debug{
			Stages: []api.Stage{{
				Name: "retrieve", In: r.b.Manifest.Items, Out: len(hits),
				Micros: time.Since(start).Microseconds(),
			}},
			UnknownItems: unknown,
			Truncated:    truncated,
		}
	}
	return resp, nil
}
