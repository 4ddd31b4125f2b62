package eval

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
)

// errNotSPD reports a matrix that is not symmetric positive definite (a
// non-positive pivot in its Cholesky factorization).
var errNotSPD = errors.New("matrix is not positive definite")

// invertSPD replaces the n×n symmetric positive definite matrix a
// (row-major, only its lower triangle is read) by its inverse, all n×n
// entries written. It works in place in three steps of about n³/6
// multiply-adds each, on workers goroutines (0 means GOMAXPROCS):
//
//  1. Cholesky factorization A = L·Lᵀ (strictly lower part in a, the
//     diagonal in a separate vector), by panels of four columns;
//  2. U = L⁻ᵀ, upper triangular, into a's upper triangle: row c of U is
//     column c of L⁻¹, solved by forward substitution, rows in parallel;
//  3. A⁻¹ = L⁻ᵀ·L⁻¹ = U·Uᵀ, (A⁻¹)ᵢⱼ = Σ_{k ≥ max(i,j)} Uᵢₖ·Uⱼₖ, into the
//     strictly lower triangle and a diagonal vector, then mirrored.
//
// Golub & Van Loan, "Matrix Computations", 4th ed., §4.2 (Cholesky) and
// §3.1 (triangular systems). Each inner loop is a dot product of two
// contiguous rows, run four at a time so that each streamed row feeds four
// accumulators.
//
// It returns errNotSPD (wrapped, naming the pivot) if a pivot is not
// positive; a is then left partly overwritten. It panics if len(a) < n·n.
func invertSPD(a []float64, n, workers int) error {
	if len(a) < n*n {
		panic(fmt.Sprintf("invertSPD: len(a) = %d < %d·%d", len(a), n, n))
	}
	if n == 0 {
		return nil
	}
	d := make([]float64, n)
	if err := cholesky(a, d, n, workers); err != nil {
		return err
	}
	invertLowerT(a, d, n, workers)
	gramUpper(a, d, n, workers)
	return nil
}

// row returns row i of the n×n matrix a.
func row(a []float64, n, i int) []float64 { return a[i*n : i*n+n : i*n+n] }

// cholesky factors a = L·Lᵀ: the strictly lower part of L into a's lower
// triangle, its diagonal into d.
func cholesky(a, d []float64, n, workers int) error {
	const panel = 4
	for j0 := 0; j0 < n; j0 += panel {
		j1 := min(j0+panel, n)
		// Rows of the panel: the full recurrence, sequentially.
		for i := j0; i < j1; i++ {
			ri := row(a, n, i)
			for j := j0; j <= i; j++ {
				s := ri[j] - dot(ri[:j], row(a, n, j)[:j])
				if j < i {
					ri[j] = s / d[j]
					continue
				}
				if !(s > 0) || math.IsInf(s, 0) {
					return fmt.Errorf("%w: pivot %d is %g", errNotSPD, i, s)
				}
				d[i] = math.Sqrt(s)
			}
		}
		if j1 == n {
			break
		}
		// Rows below: columns j0…j1−1, in parallel over rows.
		w := j1 - j0
		var p [panel][]float64
		for c := range w {
			p[c] = row(a, n, j0+c)
		}
		rowsParallel(j1, n, workers, func(i int) {
			ri := row(a, n, i)
			var s [panel]float64
			if w == panel {
				s[0], s[1], s[2], s[3] = dot4(ri[:j0], p[0], p[1], p[2], p[3])
			} else {
				for c := range w {
					s[c] = dot(ri[:j0], p[c][:j0])
				}
			}
			for c := range w {
				j := j0 + c
				v := ri[j] - s[c]
				for k := j0; k < j; k++ {
					v -= ri[k] * p[c][k]
				}
				ri[j] = v / d[j]
			}
		})
	}
	return nil
}

// invertLowerT writes U = L⁻ᵀ into a's upper triangle (with its diagonal),
// L's strictly lower part being in a and its diagonal in d. Row c of U is
// m = L⁻¹e_c: m_c = 1/d_c, m_i = −(Σ_{k=c}^{i−1} L_ik·m_k)/d_i for i > c.
// Rows of U are independent; four are solved together so that each row of
// L is read once for four dot products.
func invertLowerT(a, d []float64, n, workers int) {
	const block = 4
	parallel((n+block-1)/block, 1, workers, func(b int) {
		c0 := b * block
		c1 := min(c0+block, n)
		var u [block][]float64
		for r := range c1 - c0 {
			c := c0 + r
			u[r] = row(a, n, c)
			u[r][c] = 1 / d[c]
		}
		// i inside the block: each row on its own.
		for i := c0 + 1; i < c1; i++ {
			li := row(a, n, i)
			for r := range i - c0 {
				c := c0 + r
				u[r][i] = -dot(li[c:i], u[r][c:i]) / d[i]
			}
		}
		if c1-c0 < block {
			for i := c1; i < n; i++ {
				li := row(a, n, i)
				for r := range c1 - c0 {
					c := c0 + r
					u[r][i] = -dot(li[c:i], u[r][c:i]) / d[i]
				}
			}
			return
		}
		// i past the block: the common range k ∈ [c1−1, i) four at a time,
		// then each row's head k ∈ [c, c1−1).
		for i := c1; i < n; i++ {
			li := row(a, n, i)
			k0 := c1 - 1
			s0, s1, s2, s3 := dot4(li[k0:i], u[0][k0:], u[1][k0:], u[2][k0:], u[3][k0:])
			s := [block]float64{s0, s1, s2, s3}
			for r := range block {
				c := c0 + r
				for k := c; k < k0; k++ {
					s[r] += li[k] * u[r][k]
				}
				u[r][i] = -s[r] / d[i]
			}
		}
	})
}

// gramUpper turns U (a's upper triangle with its diagonal) into
// A⁻¹ = U·Uᵀ, all of a: (A⁻¹)ᵢⱼ = Σ_{k ≥ i} Uᵢₖ·Uⱼₖ for i ≥ j goes to the
// strictly lower triangle (which U does not use) and the diagonal to d;
// the result is then mirrored.
func gramUpper(a, d []float64, n, workers int) {
	parallel(n, 8, workers, func(i int) {
		ui := row(a, n, i)[i:]
		j := 0
		for ; j+4 <= i; j += 4 {
			s0, s1, s2, s3 := dot4(ui, row(a, n, j)[i:], row(a, n, j+1)[i:], row(a, n, j+2)[i:], row(a, n, j+3)[i:])
			r := row(a, n, i)
			r[j], r[j+1], r[j+2], r[j+3] = s0, s1, s2, s3
		}
		for ; j < i; j++ {
			row(a, n, i)[j] = dot(ui, row(a, n, j)[i:])
		}
		d[i] = dot(ui, ui)
	})
	parallel(n, 64, workers, func(i int) {
		ri := row(a, n, i)
		ri[i] = d[i]
		for j := i + 1; j < n; j++ {
			ri[j] = a[j*n+i]
		}
	})
}

// rowsParallel runs fn(i) for i in [lo, hi) on workers goroutines, split
// into contiguous ranges of equal length (the rows cost the same).
func rowsParallel(lo, hi, workers int, fn func(i int)) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	n := hi - lo
	if n < 64 || workers == 1 {
		for i := lo; i < hi; i++ {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		a, b := lo+n*w/workers, lo+n*(w+1)/workers
		wg.Go(func() {
			for i := a; i < b; i++ {
				fn(i)
			}
		})
	}
	wg.Wait()
}

// dot returns Σ x[k]·y[k] over k < len(x); y must be at least as long.
func dot(x, y []float64) float64 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float64
	k := 0
	for ; k+4 <= len(x); k += 4 {
		s0 += x[k] * y[k]
		s1 += x[k+1] * y[k+1]
		s2 += x[k+2] * y[k+2]
		s3 += x[k+3] * y[k+3]
	}
	for ; k < len(x); k++ {
		s0 += x[k] * y[k]
	}
	return (s0 + s1) + (s2 + s3)
}

// dot4 returns the dot products of x with y0…y3 over k < len(x); each y
// must be at least as long as x.
func dot4(x, y0, y1, y2, y3 []float64) (s0, s1, s2, s3 float64) {
	n := len(x)
	y0, y1, y2, y3 = y0[:n], y1[:n], y2[:n], y3[:n]
	for k, v := range x {
		s0 += v * y0[k]
		s1 += v * y1[k]
		s2 += v * y2[k]
		s3 += v * y3[k]
	}
	return
}
