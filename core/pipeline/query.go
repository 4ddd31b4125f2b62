package pipeline

import (
	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/tower"
)

// Query is a request resolved against the bundle.
type Query struct {
	Input   tower.QueryInput
	Context api.Context
	Exclude []int32 // rows never to recommend: the history and the seed
	Unknown int     // history and seed ids not in the bundle
	Time    int64   // the request time, or the bundle's creation time
	NProbe  int     // the request's override of the index's probes (0: the bundle's)
	// Impressions are the request's: items shown to the user and not
	// taken, which the order stage demotes and the ranker's shown_log
	// reads (shownDecay).
	Impressions []api.Impression
	shown       map[int32]float32 // shownDecay's, once computed
}

// Resolve maps a normalized request's ids to rows and its context to the
// query tower's input. Ids not in the bundle are dropped and counted; items
// in the bundle that the model never saw are excluded from the results but
// not pooled (their id embedding is the untrained unknown row).
func (r *Recommender) Resolve(req *api.Request) *Query {
	q := &Query{Time: req.Context.Time, NProbe: req.NProbe, Impressions: req.Impressions}
	if q.Time <= 0 {
		q.Time = r.b.Manifest.Created
	}
	known := r.b.Items.Known
	hist := make([]int32, 0, len(req.History))
	for _, e := range req.History {
		if i, ok := r.Lookup(e.Item); ok {
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
		if i, ok := r.Lookup(req.Seed); ok {
			q.Exclude = append(q.Exclude, i)
			if known[i] {
				seed = i
			}
		} else {
			q.Unknown++
		}
	}
	q.Context = req.Context
	q.Input = r.b.Query.Prepare(&q.Context, hist, seed)
	return q
}

// Embed computes the query embedding.
func (r *Recommender) Embed(q *Query) []float32 {
	return r.b.Query.Embed(r.b.Query.NewScratch(), r.b.HistoryRows(), q.Input)
}
