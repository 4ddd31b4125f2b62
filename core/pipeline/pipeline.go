// Package pipeline runs a recommendation request against a loaded bundle:
// retrieve → filter → rank → order. It is the code recommender.wasm runs, and
// the same code runs natively for parity tests, benchmarks, and the
// trainer's generation of ranker examples.
//
// One file per step: query.go resolves a request against the bundle and
// embeds it; sources.go (with retrieve.go, the two-tower search) proposes
// candidates (stage 1) through filter.go's filter (stage 2), within
// budget.go's work budget; rank.go scores them (stage 3); order.go picks
// and orders the response (stage 4). params.go resolves a request's
// parameters and experiment arm; this file runs the stages in order.
package pipeline

import (
	"sync"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle"
)

// Recommender answers requests from one bundle. It is safe for concurrent
// use: requests do not modify it.
type Recommender struct {
	b       *bundle.Bundle
	summary api.Summary
	// rankRows holds the ranker's *rank.Rows between requests: its buffers
	// are a sixth of what a request allocates, and in the module every
	// allocation brings the next collection nearer.
	rankRows sync.Pool
	// bias holds, when the bundle has a popularity prior p (its
	// Model.PopPrior), each row's term of it, p·priorPops()[row], which
	// the index adds to the row's score as it scans; set at load
	// (setPrior).
	bias []float32
}

// Load decodes and validates a bundle. The Recommender may keep references to
// data: the caller must not modify data afterwards.
func Load(data []byte) (*Recommender, error) { return loadWith(data, bundle.Decode) }

// LoadVerified loads bytes that bundle.Decode has accepted, checking only
// what keeps reads within them (bundle.DecodeVerified): a host that
// checked a bundle natively loads it into each instance at the cost of a
// copy.
func LoadVerified(data []byte) (*Recommender, error) { return loadWith(data, bundle.DecodeVerified) }

func loadWith(data []byte, decode func([]byte) (*bundle.Bundle, error)) (*Recommender, error) {
	b, err := decode(data)
	if err != nil {
		return nil, err
	}
	r := &Recommender{
		b: b,
		summary: api.Summary{
			Version:   b.Manifest.Version,
			Created:   b.Manifest.Created,
			Items:     b.Manifest.Items,
			Dim:       b.Manifest.Dim,
			Format:    b.Format,
			SizeBytes: len(data),
		},
	}
	// Build the vocabularies' lookup maps now, so that concurrent requests
	// only read them.
	b.Vocab.Categories.Index("")
	b.Vocab.Licensing.Index("")
	for i := range b.Query.Fields {
		b.Query.Fields[i].Vocab.Index("")
	}
	r.setPrior(b.Manifest.Model.PopPrior)
	return r, nil
}

// Summary describes the loaded bundle.
func (r *Recommender) Summary() api.Summary { return r.summary }

// Bundle returns the loaded bundle's content; callers must not modify it.
func (r *Recommender) Bundle() *bundle.Bundle { return r.b }

// Lookup returns the row of an item id.
func (r *Recommender) Lookup(id string) (int32, bool) { return r.b.Items.Lookup(id) }

// request is one request's state as it passes through the stages.
type request struct {
	req       *api.Request
	p         bundle.Params
	arm       string // the experiment arm, "" outside experiments
	truncated int    // history events Normalize dropped
	t         *timer // nil unless req.Debug

	q     *Query
	emb   []float32 // the query embedding
	f     *filter
	cands []Candidate
}

// newRequest normalizes req (in place), which must be valid
// (api.Request.Validate), and resolves its parameters.
func (r *Recommender) newRequest(req *api.Request) (*request, error) {
	rq := &request{req: req, truncated: req.Normalize()}
	var err error
	if rq.p, rq.arm, err = r.Params(req); err != nil {
		return nil, err
	}
	if req.Debug {
		rq.t = newTimer()
	}
	return rq, nil
}

// Recommend validates req (api.Request.Validate) and answers it through
// the four stages. req is normalized in place (see api.Request.Normalize).
func (r *Recommender) Recommend(req *api.Request) (*api.Response, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	return r.RecommendValid(req)
}

// RecommendValid is Recommend for a request validated already: one that
// api.DecodeRequest returned. The module decodes and validates each
// request once, there, and answers it with RecommendValid.
func (r *Recommender) RecommendValid(req *api.Request) (*api.Response, error) {
	rq, err := r.newRequest(req)
	if err != nil {
		return nil, err
	}
	if err := r.candidates(rq); err != nil {
		return nil, err
	}
	rq.t.sources(r.b.Manifest.Items, len(rq.cands))

	r.Rank(rq.q, rq.emb, &rq.p, rq.cands)
	rq.t.stage("rank", len(rq.cands), len(rq.cands))

	out := r.order(rq)
	rq.t.stage("order", len(rq.cands), len(out))
	return r.response(rq, out), nil
}

// Candidates runs stages 1 and 2 for a request with the bundle's default
// parameters and returns the surviving candidates with their ranker
// features, in the order the sources proposed them. The ranker is trained
// on exactly this.
func (r *Recommender) Candidates(req *api.Request) ([]Candidate, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	rq, err := r.newRequest(req)
	if err != nil {
		return nil, err
	}
	if err := r.candidates(rq); err != nil {
		return nil, err
	}
	r.Features(rq.q, rq.emb, rq.cands)
	return rq.cands, nil
}

// candidates runs stages 1 and 2 within the request's work budget
// (MaxExamined): the sources fetch only what the filter keeps, and when
// fewer than req.K items survive they run once more four times as deep
// (not with an allow-list, which the two-tower source has scored whole);
// then the popularity back-fill fills up, from the allow-list when there
// is one. The sources may spend all but BackfillReserve of the budget.
func (r *Recommender) candidates(rq *request) error {
	req := rq.req
	q := r.Resolve(req)
	f, err := r.newFilter(req, q)
	if err != nil {
		return err
	}
	emb := r.Embed(q)
	rq.t.stage("embed", len(q.Input.History), len(emb))
	seed := requestSeed(req.UserID, req.ExperimentKey, q.Time)
	f.limit = MaxExamined - BackfillReserve
	var pl *pool
	for _, mult := range []int{1, 4} {
		// A deeper pass cut short by the budget may find fewer.
		if next := r.sources(q, emb, &rq.p, mult, f, seed, rq.t); pl == nil || len(next.cands) >= len(pl.cands) {
			pl = next
		}
		if len(pl.cands) >= req.K || f.allow != nil || f.spent() {
			break
		}
	}
	f.limit = MaxExamined
	r.backfill(pl, f, req.K)
	rq.q, rq.emb, rq.f, rq.cands = q, emb, f, pl.cands
	return nil
}

// backfill fills the pool up to k by popularity, from the allow-list or
// the catalog, once the enabled sources are exhausted (a request may
// disable the two-tower source).
func (r *Recommender) backfill(pl *pool, f *filter, k int) {
	rows := r.b.Orders.Popularity
	if f.allow != nil {
		rows = bundle.SortByPopularity(r.b.Items.Popularity, f.allow)
	}
	rank := 0
	for _, row := range rows {
		if len(pl.cands) >= k || f.spent() {
			break
		}
		if !pl.has(row) && f.keepAllowed(row) {
			pl.add(api.SourcePopular, row, ListBackfillRank+rank, 0)
			rank++
		}
	}
}

// ListBackfillRank is the popular-source rank of the first back-filled item.
const ListBackfillRank = 10000

// response turns the ordered candidates into the answer.
func (r *Recommender) response(rq *request, out []Candidate) *api.Response {
	resp := &api.Response{RequestID: rq.req.RequestID, Items: make([]api.Item, len(out)), BundleVersion: r.b.Manifest.Version, Arm: rq.arm,
		UnknownItems: rq.q.Unknown}
	if rq.f.saturated {
		resp.Warnings = append(resp.Warnings, api.WarnConsumedSaturated)
	}
	if rq.f.exhausted {
		resp.Warnings = append(resp.Warnings, api.WarnBudgetExhausted)
	}
	for j, c := range out {
		item := api.Item{ID: r.b.Items.IDs.At(int(c.Row)), Score: c.Score}
		if c.Pinned {
			item.Source = api.SourcePinned
		} else {
			src := c.Source(&rq.p.Weights)
			item.Source = src.String()
			item.Backfill = src == api.SourcePopular && c.SourceRank[api.SourcePopular] >= ListBackfillRank
			if (src == api.SourceCovisit || src == api.SourceSlim) && c.Because >= 0 {
				item.Because = r.b.Items.IDs.At(int(c.Because))
			}
		}
		resp.Items[j] = item
	}
	if rq.req.Debug {
		resp.Debug = &api.Debug{Stages: rq.t.stages, UnknownItems: rq.q.Unknown, Truncated: rq.truncated, Examined: rq.f.examined}
	}
	return resp
}
