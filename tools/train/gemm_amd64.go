//go:build amd64

package train

import "golang.org/x/sys/cpu"

// kernel4x16 computes one 4×16 tile of c = alpha·A·B + beta·c with A(i,p)
// at a + i·sai + p·sap and B(p,j) at b + p·ldb + 4j, all strides in bytes;
// c is not read when beta is 0. The reference loop is
//
//	for i < 4, j < 16: c(i,j) = alpha·Σ_{p<k} A(i,p)·B(p,j) + beta·c(i,j)
//
// It rounds each product before adding it, as Go's float32 arithmetic does
// (no fused multiply-add), and uses AVX only. The caller checks bounds.
//
//go:noescape
func kernel4x16(k int, a *float32, sai, sap uintptr, b *float32, ldb uintptr, c *float32, ldc uintptr, alpha, beta float32)

// hasAVX reports whether the CPU has AVX and the OS saves the YMM
// registers (x/sys/cpu checks both).
var hasAVX = cpu.X86.HasAVX
