package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/rank"
	"github.com/edgerec/edgerec/host/events"
	"github.com/edgerec/edgerec/tools/dataset"
	"github.com/edgerec/edgerec/tools/synth"
)

// weightedLoss is lossGrad's weighted loss, written from its comment.
func weightedLoss(loss string, s []float64, y []bool, w []float32) float64 {
	var pos, neg int
	for _, v := range y {
		if v {
			pos++
		} else {
			neg++
		}
	}
	var l float64
	switch loss {
	case LossPointwise:
		for i, v := range s {
			if y[i] {
				l -= float64(w[i]) * math.Log(sigmoid(v))
			} else {
				l -= math.Log(1 - sigmoid(v))
			}
		}
		return l / float64(len(s))
	case LossPairwise:
		for p := range s {
			for q := range s {
				if y[p] && !y[q] {
					l += float64(w[p]) * math.Log1p(math.Exp(-(s[p] - s[q])))
				}
			}
		}
		return l / float64(pos*neg)
	default:
		var z float64
		for _, v := range s {
			z += math.Exp(v)
		}
		for i, v := range s {
			if y[i] {
				l -= float64(w[i]) * (v - math.Log(z))
			}
		}
		return l
	}
}

// TestWeightedLossGradients: lossGrad with weights is the gradient of its
// loss (central differences), and with the weights nil implies (1/P
// listwise, 1 otherwise) it is lossGrad without weights.
func TestWeightedLossGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, loss := range Losses {
		for range 20 {
			n := 3 + rng.IntN(8)
			s, y, w := make([]float64, n), make([]bool, n), make([]float32, n)
			for i := range s {
				s[i] = rng.NormFloat64() * 2
			}
			for range 1 + rng.IntN(3) {
				i := rng.IntN(n - 1)
				y[i], w[i] = true, float32(0.5+rng.Float64()*4)
			}
			d := lossGrad(loss, s, y, w)
			const h = 1e-6
			for i := range s {
				v := s[i]
				s[i] = v + h
				up := weightedLoss(loss, s, y, w)
				s[i] = v - h
				down := weightedLoss(loss, s, y, w)
				s[i] = v
				assert.InDelta(t, (up-down)/(2*h), d[i], 1e-6, "%s: ∂L/∂s_%d", loss, i)
			}
			pos := 0
			for _, v := range y {
				if v {
					pos++
				}
			}
			for i := range w {
				w[i] = 0
				if y[i] {
					w[i] = 1
					if loss == LossListwise {
						w[i] = 1 / float32(pos)
					}
				}
			}
			assert.InDeltaSlice(t, lossGrad(loss, s, y, nil), lossGrad(loss, s, y, w), 1e-6, "%s: unit weights are lossGrad", loss)
		}
	}
}

// logList is an impression of items at positions 1…len(taken), with takes.
func logList(id, user string, ms int64, items []string, taken []bool) events.List {
	e := &events.Event{Type: events.TypeImpression, RequestID: id, User: user, TimeMs: ms}
	for i, it := range items {
		e.Items = append(e.Items, events.Shown{Item: it, Position: int32(i + 1)})
	}
	return events.List{Impression: e, Taken: taken}
}

// TestPropensities: the ratio estimate recovers θ_k = 1/k from lists
// whose items are equally attractive and taken at position k with
// probability 0.4/k; positions with fewer than 100 items shown pool into
// the last position that has them; a given list is used as it is, its
// last value repeated; none is 1 everywhere; every value is at least
// MinPropensity.
func TestPropensities(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ev := &Events{}
	items := []string{"a", "b", "c", "d", "e"}
	for i := range 40000 {
		taken := make([]bool, 5)
		for k := range taken {
			taken[k] = rng.Float64() < 0.4/float64(k+1)
		}
		ev.Lists = append(ev.Lists, logList(fmt.Sprint(i), "u", 0, items, taken))
	}
	// Ten lists reach position 6 and 7: too few to estimate them alone.
	for i := range 10 {
		ev.Lists = append(ev.Lists, logList(fmt.Sprint("long", i), "u", 0, append(items, "f", "g"), make([]bool, 7)))
	}
	cfg := DefaultEventConfig()
	cfg.Propensity = PropensityRatio
	theta, err := ev.Propensities(cfg)
	require.NoError(t, err)
	require.Len(t, theta, 7)
	for k := range 5 {
		assert.InDelta(t, 1/float64(k+1), theta[k], 0.03, "position %d", k+1)
	}
	assert.Equal(t, theta[4], theta[5], "position 6 pools into 5")
	assert.Equal(t, theta[4], theta[6], "position 7 pools into 5")

	cfg.Propensity = PropensityNone
	theta, err = ev.Propensities(cfg)
	require.NoError(t, err)
	assert.Equal(t, []float64{1, 1, 1, 1, 1, 1, 1}, theta)

	cfg.Propensity, cfg.MinPropensity = "1, 0.5, 0.01", 0.05
	require.NoError(t, cfg.Validate())
	theta, err = ev.Propensities(cfg)
	require.NoError(t, err)
	assert.Equal(t, []float64{1, 0.5, 0.05, 0.05, 0.05, 0.05, 0.05}, theta, "given, the last repeated, floored")

	for _, bad := range []string{"", "1,0", "1,x", "1,1.5", "ratios"} {
		cfg.Propensity = bad
		assert.Error(t, cfg.Validate(), "%q", bad)
	}
}

// TestPrepareAndAddTakes: events of users or items the data set does not
// hold are left out and counted; the takes of the others become
// interactions at their time, the data set itself unchanged.
func TestPrepareAndAddTakes(t *testing.T) {
	ds := &dataset.Dataset{Name: "t",
		Items: []dataset.Item{{ID: "a"}, {ID: "b"}, {ID: "c"}},
		Users: []dataset.User{{ID: "u1"}, {ID: "u2"}},
		Interactions: []dataset.Interaction{
			{User: "u1", Item: "a", Time: 100, Value: 1}, {User: "u2", Item: "b", Time: 200, Value: 1}}}
	evs := []events.Event{
		{Type: events.TypeImpression, RequestID: "r1", User: "u1", TimeMs: 300_000, Items: []events.Shown{{Item: "b", Position: 1}, {Item: "c", Position: 2}}},
		{Type: events.TypeTake, RequestID: "r1", User: "u1", Item: "c", TimeMs: 301_500, Position: 2},
		{Type: events.TypeImpression, RequestID: "r2", User: "anon-7", TimeMs: 300_000, Items: []events.Shown{{Item: "a", Position: 1}}},
		{Type: events.TypeTake, RequestID: "r2", User: "anon-7", Item: "a", TimeMs: 300_100},
		{Type: events.TypeTake, User: "u2", Item: "gone", TimeMs: 300_100},
		{Type: events.TypeImpression, RequestID: "r3", User: "u2", TimeMs: 300_000, Items: []events.Shown{{Item: "a", Position: 0}}},
	}
	ev := PrepareEvents(ds, evs)
	assert.Len(t, ev.Lists, 1)
	assert.Equal(t, 2, ev.Shown)
	assert.Equal(t, 1, ev.Taken)
	assert.Len(t, ev.Takes, 1)
	assert.Equal(t, 4, ev.Skipped, "the anonymous list, its take, the take of an unknown item and a list with a position out of range")
	out := AddTakes(ds, ev)
	assert.Len(t, ds.Interactions, 2, "ds unchanged")
	require.Len(t, out.Interactions, 3)
	assert.Equal(t, dataset.Interaction{User: "u1", Item: "c", Time: 301, Value: 1}, out.Interactions[2])
}

// TestPrepareEventsOrderFree: the same events in any order of the log
// prepare the same takes and lists, in the same order, ties in time
// included (nodes and clients write concurrently).
func TestPrepareEventsOrderFree(t *testing.T) {
	ds := &dataset.Dataset{Name: "t", Items: []dataset.Item{{ID: "a"}, {ID: "b"}, {ID: "c"}},
		Users: []dataset.User{{ID: "u1"}, {ID: "u2"}, {ID: "u3"}}}
	var evs []events.Event
	for u := 1; u <= 3; u++ {
		user := fmt.Sprintf("u%d", u)
		for l := range 3 {
			req := fmt.Sprintf("r%d-%d", u, l)
			at := int64(1_000 * l) // every user's list l at the same time
			evs = append(evs, events.Event{Type: events.TypeImpression, RequestID: req, User: user, TimeMs: at,
				Items: []events.Shown{{Item: "a", Position: 1}, {Item: "b", Position: 2}, {Item: "c", Position: 3}}})
			for _, it := range []string{"a", "c"}[:1+(u+l)%2] {
				evs = append(evs, events.Event{Type: events.TypeTake, RequestID: req, User: user, Item: it, TimeMs: at + 500})
			}
		}
	}
	want := PrepareEvents(ds, evs)
	require.Len(t, want.Lists, 9)
	r := rand.New(rand.NewPCG(1, 2))
	for range 5 {
		shuffled := slices.Clone(evs)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		got := PrepareEvents(ds, shuffled)
		assert.Equal(t, want.Takes, got.Takes)
		require.Len(t, got.Lists, len(want.Lists))
		for i := range want.Lists {
			assert.Equal(t, *want.Lists[i].Impression, *got.Lists[i].Impression, "list %d", i)
			assert.Equal(t, want.Lists[i].Taken, got.Lists[i].Taken, "list %d", i)
		}
	}
}

// TestEventListsRebuildRequests: each logged list is scored as serving
// scored it, from the request rebuilt at its time: an item taken from
// the first list is a positive there, weighted by its position's inverse
// propensity, and is history (so not a candidate) in the second; the
// first list's items not taken are the second's impressions, which its
// shown_log reads.
func TestEventListsRebuildRequests(t *testing.T) {
	sc := synth.DefaultConfig()
	sc.Users, sc.Items, sc.EventsPerUser = 60, 120, 20
	ds, err := synth.Generate(sc)
	require.NoError(t, err)
	cfg := DefaultConfig()
	cfg.Epochs, cfg.Refit, cfg.Dim, cfg.Batch = 1, false, 16, 64
	run, err := Fit(ds, cfg, nil)
	require.NoError(t, err)
	require.NotNil(t, run.Holdout)
	rec, err := rankerRecommender(run.Holdout, ds, run.ValStart)
	require.NoError(t, err)

	user := ds.Users[0].ID
	last := ds.Interactions[len(ds.Interactions)-1].Time
	// Four items the user never took, which the pipeline proposes.
	req := &api.Request{K: 200, UserID: user, Context: ds.Users[0].Context}
	req.Context.Time = last + 60
	for _, in := range ds.ByUser()[user] {
		req.History = append(req.History, api.Event{Item: in.Item, Time: in.Time})
	}
	cands, err := rec.Candidates(req)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(cands), 4)
	var shown []string
	for _, c := range cands[:4] {
		shown = append(shown, rec.Bundle().Items.IDs.At(int(c.Row)))
	}
	t1 := (last + 3600) * 1000
	t2 := t1 + 7*86400*1000 // a week later: the impression's weight halves
	ev := &Events{
		Lists: []events.List{
			logList("r1", user, t1, shown[:3], []bool{false, true, false}),
			logList("r2", user, t2, []string{shown[0], shown[1], shown[3]}, []bool{true, false, false}),
		},
		Takes: []events.Event{
			{Type: events.TypeTake, RequestID: "r1", User: user, Item: shown[1], TimeMs: t1 + 200, Position: 2},
			{Type: events.TypeTake, RequestID: "r2", User: user, Item: shown[0], TimeMs: t2 + 200, Position: 1},
		},
	}
	with := AddTakes(ds, ev)
	theta := []float64{1, 0.5, 0.25}
	rep := &EventReport{}
	lists, err := eventLists(rec, with, ev, theta, 200, rep)
	require.NoError(t, err)
	require.Len(t, lists, 2)
	col := slices.Index(rank.Raw, rank.ShownFeature)

	first, second := lists[0], lists[1]
	assert.Equal(t, []bool{false, true, false}, first.y, "the item taken from the first list is its positive")
	for _, x := range first.x {
		assert.Zero(t, x[col], "nothing was shown before the first list")
	}
	// The second list: shown[1] was taken, so it is history and not a
	// candidate; shown[0] (taken now) and shown[3] remain.
	require.Len(t, second.y, 2)
	assert.Equal(t, []bool{true, false}, second.y)
	assert.InDelta(t, math.Log(2)/2, second.x[0][col], 1e-5, "shown once a week before the second list and not taken")
	assert.Zero(t, second.x[1][col], "shown[3] was never shown before")
	// Weights: 1/θ of the takes' positions (2, then 1), normalized to a
	// mean of 1 over the takes.
	assert.InDelta(t, 2/1.5, first.w[1], 1e-6)
	assert.InDelta(t, 1/1.5, second.w[0], 1e-6)
	assert.Equal(t, 2, rep.RankerLists)
	assert.InDelta(t, 5.0/6, rep.Found, 1e-9, "every item shown has features but the one in the history")
}
