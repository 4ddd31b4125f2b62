package train

import (
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// The trainer's matrix products, row-major. On amd64 with AVX they run on
// a register-tiled kernel (kernel4x16): gonum's GEMM blocks by 64 and calls
// a 4-wide Axpy or Dot per row of a block, which at the trainer's shapes
// (inner widths of 64–512) spends much of its time in call overhead and
// horizontal sums. Elsewhere, and for products too small for a tile, they
// run on gonum's single-precision GEMM. Either way each output is a sum of
// rounded float32 products; only the order of the additions differs. The
// trainer is host-only, so neither the assembly nor gonum reaches the
// module.

var gemm gonum.Implementation

// Tile shape of kernel4x16.
const (
	tileRows = 4
	tileCols = 16
)

// parallelMACs is the product size (m·n·k) from which tiled splits its rows
// over its W goroutines: below it, starting them costs more than it saves.
const parallelMACs = 1 << 16

// tiles reports whether a m×n product with inner width k runs on the tiled
// kernel.
func tiles(m, n, k int) bool {
	return hasAVX && m >= tileRows && n >= tileCols && k >= 1
}

// mulNT computes c = alpha·a·bᵀ + beta·c for a m×k, b n×k and c m×n, on
// at most W goroutines (the caller's workers: one where the caller already
// runs beside others, as the ranker's soup members do), the reference loop
// being
//
//	for i, j: c[i*n+j] = alpha·Σ_p a[i*k+p]·b[j*k+p] + beta·c[i*n+j]
func mulNT(W int, c, a, b []float32, m, n, k int, alpha, beta float32) {
	if m == 0 || n == 0 {
		return
	}
	if tiles(m, n, k) {
		// The kernel reads B by rows of 16 contiguous columns: transpose b
		// (n×k, small beside the m·n·k product) into k×n.
		bt := getScratch(n * k)
		transpose(*bt, b[:n*k], n, k)
		tiled(W, c, n, a, k, 1, *bt, n, m, n, k, alpha, beta)
		scratch.Put(bt)
		return
	}
	gemm.Sgemm(blas.NoTrans, blas.Trans, m, n, k, alpha, a, max(k, 1), b, max(k, 1), beta, c, n)
}

// mulNN computes c = alpha·a·b + beta·c for a m×k, b k×n and c m×n, on
// at most W goroutines:
//
//	for i, j: c[i*n+j] = alpha·Σ_p a[i*k+p]·b[p*n+j] + beta·c[i*n+j]
func mulNN(W int, c, a, b []float32, m, n, k int, alpha, beta float32) {
	if m == 0 || n == 0 {
		return
	}
	if tiles(m, n, k) {
		tiled(W, c, n, a, k, 1, b, n, m, n, k, alpha, beta)
		return
	}
	gemm.Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, alpha, a, max(k, 1), b, n, beta, c, n)
}

// mulTN computes c = alpha·aᵀ·b + beta·c for a k×m, b k×n and c m×n, on
// at most W goroutines:
//
//	for i, j: c[i*n+j] = alpha·Σ_p a[p*m+i]·b[p*n+j] + beta·c[i*n+j]
func mulTN(W int, c, a, b []float32, m, n, k int, alpha, beta float32) {
	if m == 0 || n == 0 {
		return
	}
	if tiles(m, n, k) {
		tiled(W, c, n, a, 1, m, b, n, m, n, k, alpha, beta)
		return
	}
	gemm.Sgemm(blas.Trans, blas.NoTrans, m, n, k, alpha, a, m, b, n, beta, c, n)
}

// scratch holds mulNT's transposes, so that a training step allocates none.
var scratch sync.Pool

func getScratch(n int) *[]float32 {
	p, _ := scratch.Get().(*[]float32)
	if p == nil {
		p = new([]float32)
	}
	if cap(*p) < n {
		*p = make([]float32, n)
	}
	*p = (*p)[:n]
	return p
}

// transpose writes the r×c matrix m into dst as c×r.
func transpose(dst, m []float32, r, c int) {
	for i := 0; i < r; i++ {
		for j, v := range m[i*c : (i+1)*c] {
			dst[j*r+i] = v
		}
	}
}

// tiled computes c = alpha·A·B + beta·c for A m×k with A(i,p) =
// a[i*sai+p*sap], B k×n with B(p,j) = b[p*ldb+j] and c m×n with row stride
// ldc, in 4×16 tiles, its rows split over at most W goroutines (at most
// GOMAXPROCS); m ≥ 4 and n ≥ 16 (tiles). A last tile that would
// pass the edge is computed at the edge instead, overlapping its
// neighbour, into a scratch tile from which only the new outputs are kept.
//
// tiled panics if a slice is too short for its shape, before the kernel
// reads or writes past it.
func tiled(W int, c []float32, ldc int, a []float32, sai, sap int, b []float32, ldb int, m, n, k int, alpha, beta float32) {
	if len(a) <= (m-1)*sai+(k-1)*sap || len(b) < (k-1)*ldb+n || len(c) < (m-1)*ldc+n || ldc < n || ldb < n {
		panic("train: matrix product shape mismatch")
	}
	T := (m + tileRows - 1) / tileRows
	W = min(W, runtime.GOMAXPROCS(0), T)
	if W < 2 || m*n*k < parallelMACs {
		tileRange(c, ldc, a, sai, sap, b, ldb, m, n, k, alpha, beta, 0, m)
		return
	}
	rows := func(lo, hi int) { tileRange(c, ldc, a, sai, sap, b, ldb, m, n, k, alpha, beta, lo, hi) }
	var wg sync.WaitGroup
	for w := 1; w < W; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rows(w*T/W*tileRows, min((w+1)*T/W*tileRows, m))
		}()
	}
	rows(0, T/W*tileRows)
	wg.Wait()
}

// tileRange computes rows [lo, hi) of tiled's product; lo is a multiple of
// 4.
func tileRange(c []float32, ldc int, a []float32, sai, sap int, b []float32, ldb int, m, n, k int, alpha, beta float32, lo, hi int) {
	const f = 4 // bytes per float32
	for j0 := 0; j0 < n; j0 += tileCols {
		cj := min(j0, n-tileCols)
		for i0 := lo; i0 < hi; i0 += tileRows {
			ri := min(i0, m-tileRows)
			if ri == i0 && cj == j0 {
				kernel4x16(k, &a[i0*sai], uintptr(sai*f), uintptr(sap*f), &b[cj], uintptr(ldb*f),
					&c[i0*ldc+cj], uintptr(ldc*f), alpha, beta)
				continue
			}
			var t [tileRows * tileCols]float32
			kernel4x16(k, &a[ri*sai], uintptr(sai*f), uintptr(sap*f), &b[cj], uintptr(ldb*f),
				&t[0], tileCols*f, alpha, 0)
			for i := i0; i < min(i0+tileRows, m); i++ {
				for j := j0; j < min(j0+tileCols, n); j++ {
					v := t[(i-ri)*tileCols+j-cj]
					if beta != 0 {
						v += beta * c[i*ldc+j]
					}
					c[i*ldc+j] = v
				}
			}
		}
	}
}
