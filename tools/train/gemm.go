package train

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// The trainer's matrix products, row-major, over gonum's single-precision
// GEMM: it blocks the product for the cache, runs blocks on all cores and
// its inner loops are SIMD assembly on amd64, none of which core's kernels
// (written for Go's WebAssembly backend) do. The trainer is host-only, so
// the dependency never reaches the module.

var gemm gonum.Implementation

// mulNT computes c = alpha·a·bᵀ + beta·c for a m×k, b n×k and c m×n, the
// reference loop being
//
//	for i, j: c[i*n+j] = alpha·Σ_p a[i*k+p]·b[j*k+p] + beta·c[i*n+j]
func mulNT(c, a, b []float32, m, n, k int, alpha, beta float32) {
	if m == 0 || n == 0 {
		return
	}
	gemm.Sgemm(blas.NoTrans, blas.Trans, m, n, k, alpha, a, max(k, 1), b, max(k, 1), beta, c, n)
}

// mulNN computes c = alpha·a·b + beta·c for a m×k, b k×n and c m×n:
//
//	for i, j: c[i*n+j] = alpha·Σ_p a[i*k+p]·b[p*n+j] + beta·c[i*n+j]
func mulNN(c, a, b []float32, m, n, k int, alpha, beta float32) {
	if m == 0 || n == 0 {
		return
	}
	gemm.Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, alpha, a, max(k, 1), b, n, beta, c, n)
}

// mulTN computes c = alpha·aᵀ·b + beta·c for a k×m, b k×n and c m×n:
//
//	for i, j: c[i*n+j] = alpha·Σ_p a[p*m+i]·b[p*n+j] + beta·c[i*n+j]
func mulTN(c, a, b []float32, m, n, k int, alpha, beta float32) {
	if m == 0 || n == 0 {
		return
	}
	gemm.Sgemm(blas.Trans, blas.NoTrans, m, n, k, alpha, a, m, b, n, beta, c, n)
}
