package eval

import (
	"fmt"
	"hash/fnv"
	"io"
	"math"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/pipeline"
	"github.com/edgerec/edgerec/tools/dataset"
	"github.com/edgerec/edgerec/tools/train"
)

// ColdResult is the outcome of ColdStart.
type ColdResult struct {
	ColdItems int // items held out of training
	Catalog   int // items in the bundle: the warm training items and the cold ones
	Users     int // test users with a target among the cold items
	Targets   int // their targets among the cold items
	// Figures holds Recall@20 over the cold targets for each model and
	// scale, in report order: "twotower" and "pipeline", each ranking the
	// cold items only ("cold-only") and the whole catalog ("catalog").
	Figures []ColdFigure
}

// ColdFigure is one model's Recall@20 over the cold targets at one scale.
type ColdFigure struct {
	Model string // "twotower" or "pipeline"
	// Scale is "cold-only" (only the held-out items ranked, as a
	// new-items shelf would) or "catalog" (every item ranked, the scale of
	// the warm evaluation; a cold target counts only if it reaches the
	// top 20 of the whole catalog).
	Scale    string
	Recall20 float64    // mean over the users
	CI       [2]float64 // 95% bootstrap interval of Recall20
	Random20 float64    // expected Recall@20 of a content-blind (random) order at this scale
	Note     string     // why the figure is missing, if it is
}

// coldShare picks items by a hash of their id, so the choice is stable.
func coldShare(id string, frac float64) bool {
	h := fnv.New64a()
	h.Write([]byte("cold:" + id))
	return float64(h.Sum64()%1_000_000) < frac*1_000_000
}

// ColdStart measures recommendation of items the model never saw: a share
// frac of the items is held out of training on purpose (every interaction
// with them is removed), the towers and the ranker are trained on the rest
// of the events before the 0.9 quantile T as [Towers] trains them, and the
// held-out items are embedded from their content alone (the item tower
// with the unknown id). For each user with training history and later
// interactions with held-out items, Recall@20 over those targets is
// measured for the two-tower retrieval ("twotower") and the whole pipeline
// ("pipeline"), each at two scales:
//
//   - cold-only: only the held-out items are ranked (twotower: the
//     retrieval order restricted to them; pipeline: the request's allow
//     list set to them, skipped when they are more than [api.MaxExclude]);
//     a content-blind order scores min(20, n)/n over n candidates;
//   - catalog: every item is ranked, warm and cold, as in the warm
//     evaluation, so the figure is on the warm figures' scale; a
//     content-blind order scores 20/n over the n items outside the
//     history.
func ColdStart(ds *dataset.Dataset, frac float64, cfg train.Config, rc train.RankerConfig, log io.Writer) (*ColdResult, error) {
	if !(frac > 0 && frac < 1) {
		return nil, fmt.Errorf("cold-start share %v out of (0, 1)", frac)
	}
	s, err := TemporalSplit(ds, 0.9)
	if err != nil {
		return nil, err
	}
	cold := map[string]bool{}
	for _, it := range ds.Items {
		if coldShare(it.ID, frac) {
			cold[it.ID] = true
		}
	}
	warm := &dataset.Dataset{Name: ds.Name, Users: ds.Users}
	trained := map[string]bool{}
	for _, in := range s.Train.Interactions {
		if !cold[in.Item] {
			warm.Interactions = append(warm.Interactions, in)
			trained[in.Item] = true
		}
	}
	var coldRows []string
	for _, it := range ds.Items {
		if trained[it.ID] || cold[it.ID] {
			warm.Items = append(warm.Items, it)
		}
		if cold[it.ID] {
			coldRows = append(coldRows, it.ID)
		}
	}
	towers := &Towers{Config: cfg, Ranker: rc, Log: log}
	ws := &Split{T: s.T, Quantile: s.Quantile, Train: warm}
	retrieval, err := (&TwoTower{Towers: towers, name: "cold-start twotower"}).load(ws)
	if err != nil {
		return nil, err
	}
	full, err := (&TwoTower{Towers: towers, WithRanker: true, name: "cold-start pipeline"}).load(ws)
	if err != nil {
		return nil, err
	}

	// Test users: training history on warm items, later targets on cold ones.
	cut := dataset.SplitAt(ds, s.T)
	hist := map[string][]string{}
	targets := map[string]map[string]bool{}
	for _, id := range cut.Users {
		for _, it := range cut.History[id] {
			if !cold[it] {
				hist[id] = append(hist[id], it)
			}
		}
		for _, in := range cut.Later[id] {
			if cold[in.Item] {
				if targets[id] == nil {
					targets[id] = map[string]bool{}
				}
				targets[id][in.Item] = true
			}
		}
	}
	users := map[string]dataset.User{}
	for _, u := range ds.Users {
		users[u.ID] = u
	}
	n := retrieval.Summary().Items
	ids := retrieval.Bundle().Items.IDs
	res := &ColdResult{ColdItems: len(coldRows), Catalog: n}
	allowCold := len(coldRows) <= api.MaxExclude
	const (
		ttCold = iota
		ttAll
		plCold
		plAll
		figures
	)
	var per, random [figures][]float64
	for _, id := range cut.Users {
		h := hist[id]
		if len(h) == 0 || len(targets[id]) == 0 {
			continue
		}
		u := users[id]
		u.ID = id
		tg := targets[id]
		req := Request(h, u, 1)
		req.Normalize()
		q := retrieval.Resolve(req)
		var ranked, rankedCold []string
		for _, c := range retrieval.Retrieve(q, retrieval.Embed(q), n) {
			item := ids.At(int(c.Row))
			ranked = append(ranked, item)
			if cold[item] {
				rankedCold = append(rankedCold, item)
			}
		}
		others := max(n-len(h), 1)
		per[ttCold] = append(per[ttCold], Recall(rankedCold, tg, 20))
		random[ttCold] = append(random[ttCold], math.Min(20, float64(len(rankedCold)))/float64(max(len(rankedCold), 1)))
		per[ttAll] = append(per[ttAll], Recall(ranked, tg, 20))
		random[ttAll] = append(random[ttAll], math.Min(20, float64(others))/float64(others))

		per[plAll] = append(per[plAll], Recall(recommend(full, Request(h, u, 20)), tg, 20))
		random[plAll] = append(random[plAll], math.Min(20, float64(others))/float64(others))
		if allowCold {
			req := Request(h, u, 20)
			req.Filters = &api.Filters{Allow: coldRows}
			per[plCold] = append(per[plCold], Recall(recommend(full, req), tg, 20))
			random[plCold] = append(random[plCold], math.Min(20, float64(len(coldRows)))/float64(len(coldRows)))
		}
		res.Targets += len(tg)
	}
	if len(per[ttAll]) == 0 {
		return nil, fmt.Errorf("no test user interacted with a held-out item; raise the share")
	}
	res.Users = len(per[ttAll])
	for f, name := range [figures][2]string{{"twotower", "cold-only"}, {"twotower", "catalog"}, {"pipeline", "cold-only"}, {"pipeline", "catalog"}} {
		fig := ColdFigure{Model: name[0], Scale: name[1], Recall20: mean(per[f]), Random20: mean(random[f])}
		if len(per[f]) == 0 {
			fig.Note = fmt.Sprintf("not measured: %d held-out items exceed the request's allow list (%d)", len(coldRows), api.MaxExclude)
		} else {
			fig.CI[0], fig.CI[1] = Bootstrap(per[f], Resamples, BootstrapSeed)
		}
		res.Figures = append(res.Figures, fig)
	}
	return res, nil
}

// recommend returns the item ids the pipeline answers req with.
func recommend(rec *pipeline.Recommender, req *api.Request) []string {
	resp, err := rec.Recommend(req)
	if err != nil {
		// Requests built here are always valid: an error is a bug.
		panic(fmt.Sprintf("eval: the pipeline refused a cold-start request: %v", err))
	}
	out := make([]string, len(resp.Items))
	for i, it := range resp.Items {
		out[i] = it.ID
	}
	return out
}
