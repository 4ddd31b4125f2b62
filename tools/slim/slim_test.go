package slim

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// randomUsers draws users whose items cluster in two taste groups.
func randomUsers(rng *rand.Rand, users, n int) [][]int32 {
	out := make([][]int32, users)
	for u := range out {
		group := u % 2
		seen := map[int32]bool{}
		for len(out[u]) < 3+rng.IntN(8) {
			it := int32(rng.IntN(n/2)*2 + group)
			if rng.IntN(10) == 0 {
				it = int32(rng.IntN(n))
			}
			if !seen[it] {
				seen[it] = true
				out[u] = append(out[u], it)
			}
		}
	}
	return out
}

// TestFitIsRidge holds Fit to the ridge regression it claims, solved
// densely: with every co-occurring item a candidate and no window, w_j =
// (G_CC + λI)⁻¹ G_Cj on the whole Gram matrix restricted to C.
func TestFitIsRidge(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 12
	users := randomUsers(rng, 40, n)
	cfg := Config{Candidates: n, Top: n, Lambda: 0.5, Window: 0}
	nb, err := Fit(users, n, cfg)
	require.NoError(t, err)

	var g [n][n]float64
	var events, used float64
	for _, s := range users {
		for _, a := range s {
			events++
			for _, b := range s {
				g[a][b]++
			}
		}
	}
	for i := range n {
		if g[i][i] > 0 {
			used++
		}
	}
	lambda := cfg.Lambda * events / used
	for j := range n {
		var cand []int
		for c := range n {
			if c != j && g[j][c] > 0 {
				cand = append(cand, c)
			}
		}
		k := len(cand)
		a := make([]float64, k*k)
		b := make([]float64, k)
		for x := range k {
			b[x] = g[cand[x]][j]
			for y := range k {
				a[x*k+y] = g[cand[x]][cand[y]]
			}
			a[x*k+x] += lambda
		}
		require.True(t, solveSPD(a, b, k))
		for x, c := range cand {
			items, ws := nb.Of(c)
			got := 0.0
			for i, it := range items {
				if int(it) == j {
					got = float64(ws[i])
				}
			}
			if b[x] > 0 {
				assert.InDelta(t, b[x], got, 1e-5, "w_%d[%d]", j, c)
			} else {
				assert.Zero(t, got, "w_%d[%d] = %v is not positive: not kept", j, c, b[x])
			}
		}
	}
}

func TestSolveSPD(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const k = 7
	m := make([]float64, k*k)
	for i := range m {
		m[i] = rng.NormFloat64()
	}
	a := make([]float64, k*k) // mᵀm + I
	for i := range k {
		for j := range k {
			for p := range k {
				a[i*k+j] += m[p*k+i] * m[p*k+j]
			}
		}
		a[i*k+i]++
	}
	want := make([]float64, k)
	for i := range want {
		want[i] = rng.NormFloat64()
	}
	b := make([]float64, k)
	for i := range k {
		for j := range k {
			b[i] += a[i*k+j] * want[j]
		}
	}
	work := append([]float64(nil), a...)
	require.True(t, solveSPD(work, b, k))
	for i := range want {
		assert.InDelta(t, want[i], b[i], 1e-9)
	}
	assert.False(t, solveSPD([]float64{1, 2, 2, 1}, []float64{1, 1}, 2), "indefinite")
}

func TestFitTopAndOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	users := randomUsers(rng, 200, 30)
	nb, err := Fit(users, 30, Config{Candidates: 8, Top: 3, Lambda: 1, Window: 5, Workers: 2})
	require.NoError(t, err)
	require.Len(t, nb.Offsets, 31)
	same, other := 0, 0
	for i := range 30 {
		items, ws := nb.Of(i)
		assert.LessOrEqual(t, len(items), 3)
		for k := range items {
			assert.Greater(t, ws[k], float32(0))
			assert.NotEqual(t, int32(i), items[k])
			if k > 0 {
				assert.GreaterOrEqual(t, ws[k-1], ws[k])
			}
			if int(items[k])%2 == i%2 {
				same++
			} else {
				other++
			}
		}
	}
	assert.Greater(t, same, 3*other, "neighbours come from the item's own taste group")
	again, err := Fit(users, 30, Config{Candidates: 8, Top: 3, Lambda: 1, Window: 5, Workers: 1})
	require.NoError(t, err)
	assert.Equal(t, nb, again, "the worker count does not change the fit")
	_, err = Fit(users, 30, Config{Candidates: 0, Top: 3, Lambda: 1})
	assert.Error(t, err)
}

func TestChoose(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	users := randomUsers(rng, 300, 40)
	seqs := make([]Seq, len(users))
	for u, s := range users {
		seqs[u].Items = s
		for i := range s {
			seqs[u].Times = append(seqs[u].Times, int64(u%7+10*i))
		}
	}
	l, scores, err := Choose(seqs, 40, DefaultConfig(), []float64{0.5, 4, 1e6})
	require.NoError(t, err)
	require.Len(t, scores, 3)
	best := math.Inf(-1)
	for _, s := range scores {
		best = max(best, s)
	}
	assert.Equal(t, best, scores[l], "the chosen λ has the best validation recall")
	assert.Greater(t, scores[l], 0.0)
	l2, _, err := Choose(nil, 40, DefaultConfig(), DefaultLambdas)
	require.NoError(t, err)
	assert.Equal(t, DefaultConfig().Lambda, l2, "nothing to validate on: the configured λ")
}

// TestFitLambdasIsFitPerLambda holds the one-gather λ search to separate
// fits: the same neighbours and weights, bit for bit, for every λ.
func TestFitLambdasIsFitPerLambda(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	users := randomUsers(rng, 300, 40)
	cfg := Config{Candidates: 8, Top: 4, Window: 6, Workers: 2}
	lambdas := []float64{0.5, 4, 64}
	nbs, err := FitLambdas(users, 40, cfg, lambdas)
	require.NoError(t, err)
	require.Len(t, nbs, len(lambdas))
	for i, l := range lambdas {
		c := cfg
		c.Lambda = l
		nb, err := Fit(users, 40, c)
		require.NoError(t, err)
		assert.Equal(t, nb, nbs[i], "λ = %v", l)
	}
	assert.NotEqual(t, nbs[0].Weights, nbs[2].Weights, "λ changes the weights")
	_, err = FitLambdas(users, 40, cfg, []float64{1, 0})
	assert.Error(t, err)
	_, err = FitLambdas(users, 40, cfg, nil)
	assert.Error(t, err)
}
