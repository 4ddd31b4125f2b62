package bundle

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOrders holds byRelease and byPopularity to the stable sorts they
// replaced, on random columns full of ties.
func TestOrders(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := range 200 {
		n := rng.IntN(500)
		rel, pop := make([]int64, n), make([]float32, n)
		for i := range n {
			rel[i] = int64(rng.IntN(1+trial%7)) - 1 // −1 and 0 are unknown
			if trial%3 == 0 && rng.IntN(50) == 0 {
				rel[i] = 1<<40 + int64(rng.IntN(3)) // past what the packed keys hold
			}
			pop[i] = float32(rng.IntN(1+trial%5)) / 2
			if rng.IntN(10) == 0 {
				pop[i] = -pop[i] // −0 against +0
			}
		}
		var wantRel []int32
		for row, r := range rel {
			if r > 0 {
				wantRel = append(wantRel, int32(row))
			}
		}
		slices.SortStableFunc(wantRel, func(a, b int32) int { return cmp.Compare(rel[b], rel[a]) })
		wantPop := make([]int32, n)
		for i := range wantPop {
			wantPop[i] = int32(i)
		}
		slices.SortStableFunc(wantPop, func(a, b int32) int { return cmp.Compare(pop[b], pop[a]) })
		if got := byRelease(rel); !slices.Equal(got, wantRel) && !(len(got) == 0 && len(wantRel) == 0) {
			t.Fatalf("trial %d: byRelease %v, stable sort %v", trial, got, wantRel)
		}
		if got := byPopularity(pop); !slices.Equal(got, wantPop) {
			t.Fatalf("trial %d: byPopularity %v, stable sort %v (pop %v)", trial, got, wantPop, pop)
		}
	}
}

// TestPopularityOrderKeepsTheTop: a large catalog keeps the
// PopularOrderRows most popular rows, the prefix of the full order, and a
// reader refuses an order of another length.
func TestPopularityOrderKeepsTheTop(t *testing.T) {
	n := PopularOrderRows + 1000
	it := &Items{Popularity: make([]float32, n), Released: make([]int64, n)}
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range it.Popularity {
		it.Popularity[i] = float32(rng.IntN(5000))
	}
	o := newOrders(it)
	full := byPopularity(it.Popularity)
	require.Len(t, o.Popularity, PopularOrderRows)
	assert.Equal(t, full[:PopularOrderRows], o.Popularity)
	require.NoError(t, o.check(n))
	o.Popularity = full
	assert.Error(t, o.check(n))
	_, err := decodeOrders(encodeOrders(&o), n)
	assert.ErrorContains(t, err, "orders of")
}
