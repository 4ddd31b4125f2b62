package train

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/vec"
	"github.com/edgerec/edgerec/tools/dataset"
	"github.com/edgerec/edgerec/tools/synth"
)

// TestValidRecallMatchesNaive holds the blocked validation to a plain
// loop: core's Embed per item and query, a dot product per pair, the
// history left out, hits over min(targets, 20) among the top 20.
func TestValidRecallMatchesNaive(t *testing.T) {
	cfg := tinyConfig()
	sc := synth.DefaultConfig()
	sc.Users, sc.Items = 120, 900 // more items than one validation block
	ds, err := synth.Generate(sc)
	require.NoError(t, err)
	c, err := newCorpus(ds, 0.2)
	require.NoError(t, err)
	require.Greater(t, len(c.items)-1, valBlock)
	m := initModel(c, &cfg, c.train, rand.New(rand.NewPCG(8, 9)))
	qs := c.validationQueries(maxValQueries)
	require.NotEmpty(t, qs)

	n := len(c.items) - 1
	items := make([][]float32, n+1)
	for r := 1; r <= n; r++ {
		items[r] = slices.Clone(m.Item.Embed(m.Item.NewScratch(), c.itemInput(&m.Item, int32(r), c.valStart, false)))
	}
	// Popularity counted the plain way: every interaction before the
	// validation window, repeats included (the synthetic set has none, so
	// this is also each user's distinct items).
	pop := make([]float32, n+1)
	for _, in := range ds.Interactions {
		if in.Time < c.valStart {
			pop[c.vocab.Items.Index(in.Item)]++
		}
	}
	for r := range pop {
		pop[r] = float32(math.Log1p(float64(pop[r])))
	}
	require.Equal(t, pop, c.trainPop)
	priors := []float32{0, 0.1, 1}
	want := make([]float64, len(priors))
	for _, v := range qs {
		e := example{user: v.user, pos: v.pos}
		ctx := c.context(e)
		u := m.Query.Embed(m.Query.NewScratch(), &m.Item.IDs, m.Query.Prepare(&ctx, c.history(e, cfg.MaxHistory), -1))
		seq := c.users[v.user].items
		type scored struct {
			r int32
			s float32
		}
		best := func(all []scored) {
			slices.SortStableFunc(all, func(a, b scored) int {
				if a.s != b.s {
					if a.s > b.s {
						return -1
					}
					return 1
				}
				return int(a.r - b.r)
			})
		}
		var plain []scored
		for r := 1; r <= n; r++ {
			if !slices.Contains(seq[:v.pos], int32(r)) {
				plain = append(plain, scored{int32(r), vec.Dot(u, items[r])})
			}
		}
		best(plain)
		// A prior reorders the whole catalog, as serving's index does.
		for g, prior := range priors {
			all := plain
			if prior != 0 {
				all = nil
				for _, x := range plain {
					all = append(all, scored{x.r, x.s + float32(prior*pop[x.r])})
				}
				best(all)
			}
			hits := 0
			for _, x := range all[:min(20, len(all))] {
				if slices.Contains(seq[v.pos:], x.r) {
					hits++
				}
			}
			want[g] += float64(hits) / float64(min(len(seq)-int(v.pos), 20))
		}
	}
	for g := range want {
		want[g] /= float64(len(qs))
	}
	// The batched towers add float32s in another order than core's Embed,
	// which can swap two items that tie to the last bit at the 20th place:
	// a hit or two over thousands of queries, no more.
	assert.InDelta(t, want[0], validRecall(c, m, &cfg, qs, nil, nil)[0], 1e-3)
	got := validRecall(c, m, &cfg, qs, priors, pop)
	require.Len(t, got, len(priors))
	for g := range priors {
		assert.InDelta(t, want[g], got[g], 1e-3, "prior %v", priors[g])
	}
	// The priors order differently enough for the comparison to tell.
	assert.Greater(t, math.Abs(want[2]-want[0]), 0.01)
}

// TestFitChoosesPopPrior holds Fit's popularity prior: chosen among
// popPriors by the best epoch's validation recall over the established
// users' queries (the first, none, unless a larger one gains priorMargin
// over the one chosen so far) and carried into both models' manifests; a
// set prior is kept as set; without validation there is none.
func TestFitChoosesPopPrior(t *testing.T) {
	sc := synth.DefaultConfig()
	sc.Users, sc.Items = 150, 120
	ds, err := synth.Generate(sc)
	require.NoError(t, err)
	cfg := tinyConfig()
	cfg.Validation, cfg.Epochs, cfg.Patience = 0.2, 2, 1

	run, err := Fit(ds, cfg, nil)
	require.NoError(t, err)
	require.Len(t, run.PriorRecall, len(popPriors))
	g := 0
	for i, r := range run.PriorRecall {
		if r > run.PriorRecall[g]+priorMargin {
			g = i
		}
	}
	assert.Equal(t, popPriors[g], run.PopPrior)
	assert.Equal(t, run.PopPrior, run.Model.Manifest.PopPrior)
	assert.Equal(t, run.PopPrior, run.Holdout.Manifest.PopPrior)

	cfg.PopPrior = 0.3
	run, err = Fit(ds, cfg, nil)
	require.NoError(t, err)
	assert.Equal(t, float32(0.3), run.PopPrior)
	assert.Equal(t, float32(0.3), run.Model.Manifest.PopPrior)
	assert.Len(t, run.PriorRecall, 2)

	cfg.Validation = 0
	run, err = Fit(ds, cfg, nil)
	require.NoError(t, err)
	assert.Equal(t, float32(0.3), run.Model.Manifest.PopPrior)
	cfg.PopPrior = -1
	run, err = Fit(ds, cfg, nil)
	require.NoError(t, err)
	assert.Zero(t, run.PopPrior)
	assert.Zero(t, run.Model.Manifest.PopPrior)
}

// TestEstablishedQueries holds the prior's validation queries to those of
// users with an item before the window: a user who arrives in the window
// has none of their queries kept, one who was there before keeps all.
func TestEstablishedQueries(t *testing.T) {
	ds := tinyDataset()
	last := ds.Interactions[len(ds.Interactions)-1].Time
	ds.Users = append(ds.Users, dataset.User{ID: "newcomer"})
	for k, item := range []string{"i1", "i3", "i5"} {
		ds.Interactions = append(ds.Interactions, dataset.Interaction{User: "newcomer", Item: item, Time: last + 1 + int64(k), Value: 1})
	}
	c, err := newCorpus(ds, 0.4)
	require.NoError(t, err)
	val := c.validationQueries(maxValQueries)
	known := c.establishedQueries(val)
	newcomer := int32(len(c.users) - 1) // the last user the corpus met
	require.Greater(t, c.users[newcomer].times[0], c.valStart-1, "the newcomer's first item is in the window")
	var fromNewcomer, fromOthers, keptOthers int
	for _, v := range val {
		if v.user == newcomer {
			fromNewcomer++
		} else {
			fromOthers++
		}
	}
	for _, v := range known {
		require.NotEqual(t, newcomer, v.user, "a newcomer's query kept")
		keptOthers++
	}
	require.Positive(t, fromNewcomer, "the newcomer has validation queries")
	require.Equal(t, fromOthers, keptOthers, "every established user's query kept")
}

// TestTrainPopularityCountsRepeats holds the prior's popularity to the
// builder's: every interaction before the window counts, a repeat too,
// though the user's sequence keeps the item once.
func TestTrainPopularityCountsRepeats(t *testing.T) {
	ds := tinyDataset()
	first := ds.Interactions[0]
	again := first
	again.Time++ // the same user and item, still before the window
	ds.Interactions = slices.Insert(ds.Interactions, 1, again)
	c, err := newCorpus(ds, 0.25)
	require.NoError(t, err)
	require.Less(t, again.Time, c.valStart)
	row := c.vocab.Items.Index(first.Item)
	want := 0
	for _, in := range ds.Interactions {
		if in.Item == first.Item && in.Time < c.valStart {
			want++
		}
	}
	require.Equal(t, float32(math.Log1p(float64(want))), c.trainPop[row])
	distinct := 0
	for _, u := range c.users {
		for p, it := range u.items {
			if it == row && u.times[p] < c.valStart {
				distinct++
			}
		}
	}
	require.Equal(t, want-1, distinct, "the repeat is counted once more than the sequences hold it")
}
