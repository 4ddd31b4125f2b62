package pipeline

import (
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/bundle/bundletest"
	"github.com/edgerec/edgerec/core/nn"
	"github.com/edgerec/edgerec/core/rank"
)

// TestShownFeature: the ranker's shown_log is ln(1 + times shown) halved
// every week since the last showing, with an item's entries summed and a
// count of 0 read as 1; candidates never shown have 0.
func TestShownFeature(t *testing.T) {
	r := loadBundle(t, bundletest.Random(400, 32, 5))
	now := int64(bundletest.Created)
	req := &api.Request{K: 10, Context: api.Context{Age: 40, Region: "eu", Time: now}}
	first, err := r.Recommend(req)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(first.Items), 3)
	a, b, c := first.Items[0].ID, first.Items[1].ID, first.Items[2].ID
	want := map[string]float64{
		a: math.Log1p(3),                     // shown 3 times, just now
		b: math.Log1p(1) / 2,                 // once, a week ago
		c: math.Log1p(2+1) * math.Exp2(-0.5), // 2 then 0 (read as 1), the latest half a week ago
	}
	req = &api.Request{K: 10, Context: req.Context, Impressions: []api.Impression{
		{Item: a, Count: 3, Last: now}, {Item: b, Count: 1, Last: now - 7*86400},
		{Item: c, Count: 2, Last: now - 7*86400}, {Item: c, Last: now - 7*86400/2}, {Item: "not-in-the-bundle", Count: 5}}}
	cands, err := r.Candidates(req)
	require.NoError(t, err)
	col := slices.Index(rank.Raw, rank.ShownFeature)
	require.Equal(t, len(rank.Raw)-1, col, "shown_log comes after every feature of a log-trained ranker")
	found := 0
	for _, cd := range cands {
		require.Len(t, cd.Features, len(rank.Raw))
		id := r.b.Items.IDs.At(int(cd.Row))
		if w, ok := want[id]; ok {
			found++
			assert.InDelta(t, w, cd.Features[col], 1e-6, "%s", id)
		} else {
			assert.Zero(t, cd.Features[col], "%s was never shown", id)
		}
	}
	assert.Equal(t, 3, found, "the three items shown are candidates again")
}

// shownRanker returns a ranker over query_similarity and shown_log with
// logit query_similarity + w·shown_log.
func shownRanker(w float32) *rank.Model {
	return &rank.Model{Depth: 50, Features: []string{"query_similarity", rank.ShownFeature},
		Mean: []float32{0, 0}, Std: []float32{1, 1},
		MLP: nn.MLP{Layers: []nn.Dense{{In: 2, Out: 1, W: []float32{1, w}, B: []float32{0}, Act: nn.Linear}}}}
}

// TestLearnedDemotionReplacesRule: with a ranker that learned the
// demotion (shown_log among its features) the hand-set rule is left out
// wherever that ranker ranks, so the ranker's weight alone decides; where
// the ranker is off (an arm, say) the rule still applies.
func TestLearnedDemotionReplacesRule(t *testing.T) {
	ctx := api.Context{Age: 40, Region: "eu", Time: bundletest.Created}
	recommender := func(w float32, ranker bool) *Recommender {
		b := bundletest.Random(400, 32, 5)
		b.Ranker = shownRanker(w)
		b.Pipeline.Defaults.Demote = 5
		b.Pipeline.Defaults.Ranker = ranker
		return loadBundle(t, b)
	}
	top := func(r *Recommender) string {
		resp, err := r.Recommend(&api.Request{K: 10, Context: ctx})
		require.NoError(t, err)
		return resp.Items[0].ID
	}
	place := func(r *Recommender, item string) int {
		resp, err := r.Recommend(&api.Request{K: 10, Context: ctx, Impressions: []api.Impression{{Item: item, Count: 3, Last: ctx.Time}}})
		require.NoError(t, err)
		return slices.IndexFunc(resp.Items, func(it api.Item) bool { return it.ID == item })
	}
	assert.True(t, shownRanker(0).LearnedDemotion())
	assert.False(t, bundletest.Random(50, 8, 1).Ranker.LearnedDemotion(), "a log-trained ranker leaves the demotion to the rule")

	r := recommender(0, true)
	item := top(r)
	assert.Equal(t, 0, place(r, item), "a learned weight of 0: the rule (Demote 5) is not applied on top")

	r = recommender(-50, true)
	item = top(r)
	assert.NotEqual(t, 0, place(r, item), "a learned negative weight demotes")

	r = recommender(0, false)
	item = top(r)
	assert.NotEqual(t, 0, place(r, item), "the ranker off: the rule demotes")

	var p bundle.Params = bundle.DefaultParams()
	assert.Positive(t, p.Demote, "bundles keep the rule by default")
}
