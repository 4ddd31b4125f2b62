package eval

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// gaussJordan inverts the n×n matrix a (row-major) by Gauss–Jordan
// elimination with partial pivoting: the reference for invertSPD.
func gaussJordan(a []float64, n int) []float64 {
	m := make([]float64, n*2*n)
	for i := range n {
		copy(m[i*2*n:], a[i*n:i*n+n])
		m[i*2*n+n+i] = 1
	}
	w := 2 * n
	for c := range n {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(m[r*w+c]) > math.Abs(m[p*w+c]) {
				p = r
			}
		}
		for k := range w {
			m[c*w+k], m[p*w+k] = m[p*w+k], m[c*w+k]
		}
		piv := m[c*w+c]
		for k := range w {
			m[c*w+k] /= piv
		}
		for r := range n {
			if r == c {
				continue
			}
			f := m[r*w+c]
			for k := range w {
				m[r*w+k] -= f * m[c*w+k]
			}
		}
	}
	out := make([]float64, n*n)
	for i := range n {
		copy(out[i*n:], m[i*w+n:i*w+w])
	}
	return out
}

// randomSPD returns XᵀX + λI for a random 0/1 matrix X of 3n rows, like
// EASE's Gram matrix.
func randomSPD(rng *rand.Rand, n int, lambda float64) []float64 {
	x := make([][]float64, 3*n)
	for u := range x {
		x[u] = make([]float64, n)
		for i := range n {
			if rng.Float64() < 0.3 {
				x[u][i] = 1
			}
		}
	}
	a := make([]float64, n*n)
	for i := range n {
		for j := range n {
			for u := range x {
				a[i*n+j] += x[u][i] * x[u][j]
			}
		}
		a[i*n+i] += lambda
	}
	return a
}

func TestInvertSPD(t *testing.T) {
	t.Run("2x2 by hand", func(t *testing.T) {
		// [[4 2] [2 3]]⁻¹ = [[3 −2] [−2 4]] / 8.
		a := []float64{4, 2, 2, 3}
		if err := invertSPD(a, 2, 1); err != nil {
			t.Fatal(err)
		}
		want := []float64{3.0 / 8, -2.0 / 8, -2.0 / 8, 4.0 / 8}
		for i := range a {
			if math.Abs(a[i]-want[i]) > 1e-15 {
				t.Fatalf("inverse %v, want %v", a, want)
			}
		}
	})
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 3, 4, 5, 8, 13, 37, 70, 131} {
		for _, workers := range []int{1, 2} {
			t.Run(fmt.Sprintf("n=%d/workers=%d", n, workers), func(t *testing.T) {
				a := randomSPD(rng, n, 5)
				orig := append([]float64(nil), a...)
				want := gaussJordan(a, n)
				// Only the lower triangle may be read: spoil the upper.
				for i := range n {
					for j := i + 1; j < n; j++ {
						a[i*n+j] = math.NaN()
					}
				}
				if err := invertSPD(a, n, workers); err != nil {
					t.Fatal(err)
				}
				for i := range a {
					if math.Abs(a[i]-want[i]) > 1e-12 {
						t.Fatalf("entry (%d, %d) = %g, Gauss–Jordan %g", i/n, i%n, a[i], want[i])
					}
				}
				// A·A⁻¹ = I.
				for i := range n {
					for j := range n {
						var s float64
						for k := range n {
							s += orig[i*n+k] * a[k*n+j]
						}
						if want := b2f(i == j); math.Abs(s-want) > 1e-10 {
							t.Fatalf("(A·A⁻¹)[%d][%d] = %g", i, j, s)
						}
					}
				}
			})
		}
	}
	t.Run("not positive definite", func(t *testing.T) {
		a := []float64{1, 2, 2, 1} // eigenvalues 3 and −1
		if err := invertSPD(a, 2, 1); !errors.Is(err, errNotSPD) {
			t.Errorf("error %v, want errNotSPD", err)
		}
	})
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// BenchmarkInvertSPD times invertSPD (all cores) beside Gauss–Jordan at
// the sizes of EASE on MovieLens 100K and at the default item cap.
func BenchmarkInvertSPD(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{400, 1700, 3000} {
		a := randomSPD(rng, min(n, 400), 50)
		if n > 400 { // a large SPD matrix without the O(n³) Gram product
			a = make([]float64, n*n)
			for i := range n {
				for j := range i + 1 {
					v := rng.Float64()
					a[i*n+j], a[j*n+i] = v, v
				}
				a[i*n+i] += float64(n)
			}
		}
		work := make([]float64, len(a))
		b.Run(fmt.Sprintf("cholesky/n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				copy(work, a)
				if err := invertSPD(work, n, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
		if n <= 400 {
			b.Run(fmt.Sprintf("gauss-jordan/n=%d", n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					gaussJordan(a, n)
				}
			})
		}
	}
}

// benchCatalog returns a random catalog of users × items with about
// events interactions, items drawn with a Zipf-like skew and indexed by
// popularity as newCatalog does.
func benchCatalog(users, items, events int) *catalog {
	rng := rand.New(rand.NewPCG(5, 6))
	zipf := rand.NewZipf(rng, 1.1, 8, uint64(items-1))
	seen := map[[2]int32]bool{}
	count := make([]int, items)
	var pairs [][2]int32
	for len(pairs) < events {
		p := [2]int32{int32(rng.IntN(users)), int32(zipf.Uint64())}
		if !seen[p] {
			seen[p] = true
			pairs = append(pairs, p)
			count[p[1]]++
		}
	}
	order := make([]int32, items) // popularity rank → raw item
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(a, b int32) int { return count[b] - count[a] })
	rank := make([]int32, items)
	for r, i := range order {
		rank[i] = int32(r)
	}
	c := &catalog{ids: make([]string, items), userRows: make([][]int32, users), itemCols: make([][]int32, items)}
	for _, p := range pairs {
		i := rank[p[1]]
		c.userRows[p[0]] = append(c.userRows[p[0]], i)
		c.itemCols[i] = append(c.itemCols[i], p[0])
	}
	for _, r := range c.userRows {
		slices.Sort(r)
	}
	return c
}

// BenchmarkEASEFit times one EASE fit (Gram matrix built once, then the
// solve for one λ) on catalogs shaped like the evaluation data sets
// (users, items, interactions): by the route the fit chooses and, beside
// it, by the items route, whose solve is invertSPD on the item Gram (the
// only route of earlier releases). Sizes above 3,000 take minutes by the
// items route; run them with -benchtime 1x.
func BenchmarkEASEFit(b *testing.B) {
	for _, sh := range []struct{ users, items, events int }{
		{870, 1700, 90000},   // MovieLens 100K
		{1000, 3000, 90000},  // the earlier default cap
		{560, 8600, 90000},   // MovieLens latest-small
		{1700, 12000, 63000}, // Last.fm HetRec
	} {
		c := benchCatalog(sh.users, sh.items, sh.events)
		for _, route := range []string{"auto", "items"} {
			b.Run(fmt.Sprintf("route=%s/n=%d/u=%d", route, sh.items, sh.users), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					p := newEASEProblem(c, 0, DefaultEASEMemory, 0)
					if route == "items" {
						p = buildEASEProblem(c, p.n, 0, false)
					}
					if _, err := p.fit(200); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
