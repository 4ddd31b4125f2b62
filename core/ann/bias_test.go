package ann

import (
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/edgerec/edgerec/core/quant"
	"github.com/stretchr/testify/require"
)

// randomBias draws one term per row, some rows without one, on the scale
// of the scores.
func randomBias(rng *rand.Rand, n int, scale float32) []float32 {
	b := make([]float32, n)
	for i := range b {
		if rng.IntN(4) != 0 {
			b[i] = scale * rng.Float32()
		}
	}
	return b
}

// biasRef orders plain hits (each row's own score, every row a search
// could return) by score + bias[row], ties by lower row, keeps k: what a
// biased search returns, each hit with its own score.
func biasRef(plain []Hit, bias []float32, k int) []Hit {
	all := slices.Clone(plain)
	sort.SliceStable(all, func(i, j int) bool {
		a, b := all[i].Score+bias[all[i].Item], all[j].Score+bias[all[j].Item]
		if a != b {
			return a > b
		}
		return all[i].Item < all[j].Item
	})
	return all[:min(k, len(all))]
}

// inProbed keeps the hits whose rows lie in the nprobe lists whose
// centroids score highest against q: what a search probing them scans.
func inProbed(hits []Hit, centroids *quant.Int8, offsets []uint32, q []float32, nprobe int) []Hit {
	cs := make([]float32, len(offsets)-1)
	centroids.Scores(cs, quant.NewQuery(q), 0)
	in := map[int32]bool{}
	for _, l := range bestLists(cs, nprobe) {
		for r := offsets[l]; r < offsets[l+1]; r++ {
			in[int32(r)] = true
		}
	}
	var out []Hit
	for _, h := range hits {
		if in[h.Item] {
			out = append(out, h)
		}
	}
	return out
}

// TestExactBias: with a bias, Exact returns the rows best by score +
// bias, in that order, each with the score a search without it gives.
func TestExactBias(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	_, m := randomItems(rng, 3000, 32)
	for trial := range 20 {
		q := make([]float32, 32)
		for j := range q {
			q[j] = float32(rng.NormFloat64())
		}
		bias := randomBias(rng, m.Rows, []float32{0.001, 0.1, 1}[trial%3])
		k := []int{0, 1, 10, 100, 5000}[trial%5]
		skip := func(i int32) bool { return i%7 == int32(trial%7) }
		got := Exact{Items: m, Bias: bias}.Search(q, k, skip)
		want := biasRef(Exact{Items: m}.Search(q, m.Rows, skip), bias, k)
		require.Equal(t, want, got, "trial %d k=%d", trial, k)
	}
}

// TestIVFBias: probing every list with a bias is Exact with it; probing
// fewer returns the biased order of the probed lists' rows.
func TestIVFBias(t *testing.T) {
	f := newFixture(t, 20_000)
	rng := rand.New(rand.NewPCG(33, 34))
	for trial := range 10 {
		q := f.cat.Query(f.cat.User(rng, 5))
		bias := randomBias(rng, f.ivf.Items.Rows, []float32{0.01, 0.3}[trial%2])
		k := []int{1, 10, 100, 500}[trial%4]
		skip := func(i int32) bool { return i%5 == int32(trial%5) }
		ix := *f.ivf
		ix.Bias = bias
		got := ix.Search(nil, q, k, ix.Lists(), skip, nil)
		require.Equal(t, Exact{Items: ix.Items, Bias: bias}.Search(q, k, skip), got, "trial %d, all lists", trial)
		probed := inProbed((Exact{Items: ix.Items}).Search(q, ix.Items.Rows, skip), ix.Centroids, ix.Offsets, q, ix.NProbe)
		require.GreaterOrEqual(t, len(probed), k)
		got = ix.Search(nil, q, k, ix.NProbe, skip, nil)
		require.Equal(t, biasRef(probed, bias, k), got, "trial %d, nprobe %d", trial, ix.NProbe)
	}
}

// TestIVFPQBias: the compact index with a bias returns the reference's
// rows ordered by score + bias, each with its own score.
func TestIVFPQBias(t *testing.T) {
	rng := rand.New(rand.NewPCG(35, 36))
	ix := randIVFPQ(rng, 64, 32, 13, 900)
	var s Scratch
	for trial := range 12 {
		q := make([]float32, 64)
		for j := range q {
			q[j] = float32(rng.NormFloat64())
		}
		biased := *ix
		biased.Bias = randomBias(rng, ix.Rows(), []float32{0.01, 0.5, 5}[trial%3])
		k := []int{1, 10, 100, 1000}[trial%4]
		skip := func(r int32) bool { return r%7 == 3 }
		all := searchRef(ix, q, ix.Rows(), skip)
		got := biased.Search(nil, q, k, ix.Lists(), skip, &s)
		require.Equal(t, biasRef(all, biased.Bias, k), got, "trial %d k %d", trial, k)
		// Probing fewer lists: the biased order of their rows.
		probed := inProbed(all, ix.Centroids, ix.Offsets, q, ix.NProbe)
		if len(probed) >= k {
			got = biased.Search(nil, q, k, ix.NProbe, skip, &s)
			require.Equal(t, biasRef(probed, biased.Bias, k), got, "trial %d k %d nprobe %d", trial, k, ix.NProbe)
		}
	}
}
