package slim

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/bundle"
)

// solveSPDRef is solveSPD as first written, indexing a and b element by
// element: the reference the fast form must equal bit for bit.
func solveSPDRef(a, b []float64, k int) bool {
	for j := 0; j < k; j++ {
		s := a[j*k+j]
		for p := 0; p < j; p++ {
			s -= a[j*k+p] * a[j*k+p]
		}
		if !(s > 0) {
			return false
		}
		d := math.Sqrt(s)
		a[j*k+j] = d
		for i := j + 1; i < k; i++ {
			s := a[i*k+j]
			for p := 0; p < j; p++ {
				s -= a[i*k+p] * a[j*k+p]
			}
			a[i*k+j] = s / d
		}
	}
	for i := 0; i < k; i++ {
		s := b[i]
		for p := 0; p < i; p++ {
			s -= a[i*k+p] * b[p]
		}
		b[i] = s / a[i*k+i]
	}
	for i := k - 1; i >= 0; i-- {
		s := b[i]
		for p := i + 1; p < k; p++ {
			s -= a[p*k+i] * b[p]
		}
		b[i] = s / a[i*k+i]
	}
	return true
}

// gram returns a random k×k co-occurrence-like matrix plus λI and a
// right-hand side: counts of users shared by k items, as FitLambdas forms.
func gram(rng *rand.Rand, k int, lambda float64) (a, b []float64) {
	users := make([][]bool, 4*k)
	for u := range users {
		users[u] = make([]bool, k+1)
		for i := range users[u] {
			users[u][i] = rng.IntN(4) == 0
		}
	}
	a, b = make([]float64, k*k), make([]float64, k)
	for _, x := range users {
		for i := range k {
			if !x[i] {
				continue
			}
			for j := range k {
				if x[j] {
					a[i*k+j]++
				}
			}
			if x[k] {
				b[i]++
			}
		}
	}
	for i := range k {
		a[i*k+i] += lambda
	}
	return a, b
}

// TestSolveSPDMatchesReference: the solve gives the reference's solution
// bit for bit, and refuses what it refuses, at every size up to the
// default neighbourhood, on matrices that are positive definite, that
// stop being so at a pivot part-way (a diagonal entry lowered), or are
// singular from the start (λ = 0 on a small sample).
func TestSolveSPDMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	refused := 0
	for _, k := range []int{1, 2, 3, 7, 16, 33, 128} {
		for _, lambda := range []float64{0, 0.5, 8} {
			for _, broken := range []bool{false, true} {
				a, b := gram(rng, k, lambda)
				if broken {
					p := rng.IntN(k)
					a[p*k+p] = -1
				}
				a2, b2 := slices.Clone(a), slices.Clone(b)
				ok := solveSPD(a, b, k)
				require.Equal(t, solveSPDRef(a2, b2, k), ok, "k %d, λ %v, broken %v", k, lambda, broken)
				if !ok {
					refused++
					continue
				}
				for i := range b {
					require.Equal(t, math.Float64bits(b2[i]), math.Float64bits(b[i]), "k %d, λ %v: x[%d] %v, reference %v", k, lambda, i, b[i], b2[i])
				}
			}
		}
	}
	require.GreaterOrEqual(t, refused, 21, "every broken matrix refused")
}

// TestSubScaledMatchesGo holds subScaled (AVX where the CPU has it) to
// its Go loop bit for bit at every length through two passes of eight and
// every tail, with values across magnitudes, zeros of both signs and
// infinities.
func TestSubScaledMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	special := []float64{0, math.Copysign(0, -1), math.Inf(1), 1e-300, -1e300}
	for n := 0; n <= 21; n++ {
		for range 20 {
			x, y := make([]float64, n+1), make([]float64, n)
			for i := range x {
				x[i] = rng.NormFloat64() * math.Pow(10, float64(rng.IntN(20)-10))
				if rng.IntN(8) == 0 {
					x[i] = special[rng.IntN(len(special))]
				}
			}
			for i := range y {
				y[i] = rng.NormFloat64()
			}
			u := rng.NormFloat64()
			want := slices.Clone(y)
			subScaledGo(want, x, u)
			subScaled(y, x, u)
			for i := range y {
				require.Equal(t, math.Float64bits(want[i]), math.Float64bits(y[i]), "n %d, y[%d] = %v, Go %v", n, i, y[i], want[i])
			}
		}
	}
}

// BenchmarkSolveSPD: one solve of the default neighbourhood's size, the
// reference beside the fast form.
func BenchmarkSolveSPD(b *testing.B) {
	k := DefaultConfig().Candidates
	a0, r0 := gram(rand.New(rand.NewPCG(1, 2)), k, 8)
	a, r := make([]float64, len(a0)), make([]float64, len(r0))
	for _, c := range []struct {
		name  string
		solve func([]float64, []float64, int) bool
	}{{"impl=reference", solveSPDRef}, {"impl=rows", solveSPD}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				copy(a, a0)
				copy(r, r0)
				if !c.solve(a, r, k) {
					b.Fatal("not positive definite")
				}
			}
		})
	}
}

// zipfUsers draws users' distinct items from a Zipf popularity (s = 1.1)
// over n items: a long tail, and a head whose rows co-occur with much of
// the catalog, as in the logs the builder fits.
func zipfUsers(rng *rand.Rand, users, n, perUser int) [][]int32 {
	z := rand.NewZipf(rng, 1.1, 1, uint64(n-1))
	out := make([][]int32, users)
	for u := range out {
		seen := map[int32]bool{}
		for len(out[u]) < perUser/2+rng.IntN(perUser) {
			it := int32(z.Uint64())
			if !seen[it] {
				seen[it] = true
				out[u] = append(out[u], it)
			}
		}
	}
	return out
}

// TestFitDenseBlockIsMaps: the fit is the same bit for bit whether the
// Gram matrices' counts come from the maps alone, from a dense block of
// some items, or from one holding every item.
func TestFitDenseBlockIsMaps(t *testing.T) {
	users := zipfUsers(rand.New(rand.NewPCG(3, 4)), 300, 400, 20)
	cfg := Config{Candidates: 32, Top: 10, Window: 50, Workers: 2}
	defer func(d int) { denseItems = d }(denseItems)
	var fits [][]*bundle.Neighbours
	for _, d := range []int{0, 37, 400} {
		denseItems = d
		nbs, err := FitLambdas(users, 400, cfg, DefaultLambdas)
		require.NoError(t, err)
		fits = append(fits, nbs)
	}
	require.NotEmpty(t, fits[0][0].Items)
	for _, f := range fits[1:] {
		require.Equal(t, fits[0], f)
	}
}

// BenchmarkFitLambdas: the builder's λ search (four λ, one gather) on a
// catalog the size of Last.fm HetRec's (1 900 users, 12 500 items, about
// 70 000 interactions), on both cores.
func BenchmarkFitLambdas(b *testing.B) {
	users := zipfUsers(rand.New(rand.NewPCG(1, 2)), 1900, 12500, 50)
	cfg := DefaultConfig()
	for b.Loop() {
		if _, err := FitLambdas(users, 12500, cfg, DefaultLambdas); err != nil {
			b.Fatal(err)
		}
	}
}
