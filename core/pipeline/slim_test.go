package pipeline

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle/bundletest"
)

// TestSlimSumsTheWholeHistory holds the slim source to a reference written
// apart: each item's score is the sum of its weights over every history
// item and the seed (not the newest three), the best contributor is
// "because", the filter drops what it refuses, the order is that of a
// stable sort (score, then row) on weights rounded to make ties common;
// and annotate gives the pool's other candidates their position in that
// sum.
func TestSlimSumsTheWholeHistory(t *testing.T) {
	b := bundletest.Random(300, 32, 3)
	roundWeights(t, &b.Pipeline.Slim, 300)
	r := loadBundle(t, b)
	nb := &r.b.Pipeline.Slim
	plain := nb.Unpack()
	rng := rand.New(rand.NewPCG(71, 72))
	for trial := range 200 {
		req := &api.Request{K: 10, Context: api.Context{Region: "eu", Age: 30}}
		for range 1 + rng.IntN(30) {
			req.History = append(req.History, api.Event{Item: bundletest.ID(rng.IntN(300))})
		}
		if trial%2 == 0 {
			req.Seed = bundletest.ID(rng.IntN(300))
		}
		req.Normalize()
		q := r.Resolve(req)
		n := 1 + rng.IntN(40)
		keep := func(int32) bool { return true }
		if trial%3 == 0 {
			keep = func(row int32) bool { return row%3 != 0 }
		}

		// The reference: every history row and the seed, weight 1.
		acc := map[int32]*scored{}
		best := map[int32]float32{}
		var all []scored
		for _, from := range q.Exclude {
			items, weights := plain.Of(int(from))
			for k, it := range items {
				a := acc[it]
				if a == nil {
					a = &scored{row: it, because: -1}
					acc[it] = a
					best[it] = float32(math.Inf(-1))
				}
				a.score += weights[k]
				if weights[k] > best[it] {
					best[it], a.because = weights[k], from
				}
			}
		}
		for _, a := range acc {
			all = append(all, *a)
		}
		slices.SortFunc(all, func(x, y scored) int { return int(x.row - y.row) })
		byScoreThenRow(all)
		var want []scored
		for _, a := range all {
			if len(want) < n && keep(a.row) {
				want = append(want, a)
			}
		}

		// Another source's candidates, some of which the sum reaches.
		pl := newPool(n + 8)
		others := map[int32]bool{}
		for range 8 {
			row := int32(rng.IntN(300))
			pl.add(api.SourceTwoTower, row, 0, 0)
			others[row] = true
		}
		annotate := historyNeighbours(pl, api.SourceSlim, nb, q, n, keep)
		got := sourceOf(pl, api.SourceSlim)
		require.Equal(t, want, got, "trial %d", trial)

		annotate()
		proposed := map[int32]bool{}
		for _, w := range want {
			proposed[w.row] = true
		}
		for row := range others {
			c := &pl.cands[must(pl.at.get(row))]
			if proposed[row] {
				continue
			}
			a, reached := acc[row]
			if !reached {
				assert.EqualValues(t, -1, c.SourceRank[api.SourceSlim], "trial %d: row %d annotated but not reached", trial, row)
				continue
			}
			pos := slices.IndexFunc(all, func(s scored) bool { return s.row == row })
			assert.EqualValues(t, pos, c.SourceRank[api.SourceSlim], "trial %d: row %d's slim rank", trial, row)
			assert.Equal(t, a.score, c.SourceScore[api.SourceSlim], "trial %d: row %d's slim score", trial, row)
		}
	}
}

func must(i int, ok bool) int {
	if !ok {
		panic("not in the pool")
	}
	return i
}
