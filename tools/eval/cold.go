package eval

import (
	"fmt"
	"hash/fnv"
	"math"

	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/pipeline"
	"github.com/edgerec/edgerec/tools/builder"
	"github.com/edgerec/edgerec/tools/dataset"
	"github.com/edgerec/edgerec/tools/train"
)

// ColdResult is the outcome of ColdStart.
type ColdResult struct {
	ColdItems int        // items held out of training
	Users     int        // test users with a target among them
	Targets   int        // their targets among the cold items
	Recall20  float64    // mean Recall@20 of the two-tower model over the cold items
	Random20  float64    // the expected Recall@20 of a content-blind (random) order
	CI        [2]float64 // 95% bootstrap interval of Recall20
}

// coldShare picks items by a hash of their id, so the choice is stable.
func coldShare(id string, frac float64) bool {
	h := fnv.New64a()
	h.Write([]byte("cold:" + id))
	return float64(h.Sum64()%1_000_000) < frac*1_000_000
}

// ColdStart measures recommendation of items the model never saw: a share
// frac of the items is held out of training on purpose (every interaction
// with them is removed), the towers are trained on the rest of the events
// before the 0.9 quantile T, and the held-out items are embedded from their
// content alone (the item tower with the unknown id). For each user with
// training history and later interactions with held-out items, the
// held-out items are ranked by the model (history excluded) and Recall@20
// is measured on them; a content-blind order can only rank them at random,
// whose expected Recall@20 is min(20, n)/n over n candidates.
func ColdStart(ds *dataset.Dataset, cfg train.Config, frac float64) (*ColdResult, error) {
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
	m, err := train.Train(warm, cfg, nil)
	if err != nil {
		return nil, err
	}
	b, err := builder.Build(m, warm, builder.Options{})
	if err != nil {
		return nil, err
	}
	data, err := bundle.Encode(b)
	if err != nil {
		return nil, err
	}
	rec, err := pipeline.Load(data)
	if err != nil {
		return nil, err
	}

	// Test users: training history on warm items, later targets on cold ones.
	hist := map[string][]string{}
	seen := map[[2]string]bool{}
	targets := map[string]map[string]bool{}
	var order []string
	for _, in := range ds.Interactions {
		k := [2]string{in.User, in.Item}
		if seen[k] {
			continue
		}
		seen[k] = true
		switch {
		case in.Time < s.T && !cold[in.Item]:
			hist[in.User] = append(hist[in.User], in.Item)
		case in.Time >= s.T && cold[in.Item]:
			if targets[in.User] == nil {
				targets[in.User] = map[string]bool{}
				order = append(order, in.User)
			}
			targets[in.User][in.Item] = true
		}
	}
	users := map[string]dataset.User{}
	for _, u := range ds.Users {
		users[u.ID] = u
	}
	res := &ColdResult{ColdItems: len(coldRows)}
	var per []float64
	for _, id := range order {
		h := hist[id]
		if len(h) == 0 {
			continue
		}
		u := users[id]
		u.ID = id
		req := Request(h, u, 1)
		req.Normalize()
		q := rec.Resolve(req)
		cands := rec.Retrieve(q, rec.Embed(q), rec.Summary().Items)
		var ranked []string
		for _, c := range cands {
			if item := b.Items.IDs[c.Row]; cold[item] {
				ranked = append(ranked, item)
			}
		}
		per = append(per, Recall(ranked, targets[id], 20))
		res.Targets += len(targets[id])
		res.Random20 += math.Min(20, float64(len(ranked))) / float64(max(len(ranked), 1))
	}
	if len(per) == 0 {
		return nil, fmt.Errorf("no test user interacted with a held-out item; raise the share")
	}
	res.Users = len(per)
	for _, r := range per {
		res.Recall20 += r
	}
	res.Recall20 /= float64(len(per))
	res.Random20 /= float64(len(per))
	res.CI[0], res.CI[1] = Bootstrap(per, Resamples, BootstrapSeed)
	return res, nil
}
