package slim

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
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
