//go:build amd64

package slim

import "golang.org/x/sys/cpu"

// subScaledAVX computes y[i] −= u·x[i] for i < len(y), four lanes at a
// time: each product is rounded, then subtracted (VMULPD then VSUBPD, no
// fused multiply-add), as Go's float64 arithmetic does on amd64, so the
// result is the Go loop's bit for bit. len(x) ≥ len(y) (the caller checks).
//
//go:noescape
func subScaledAVX(y, x []float64, u float64)

// hasAVX reports whether the CPU has AVX and the OS saves the YMM
// registers.
var hasAVX = cpu.X86.HasAVX

// subScaled computes y[i] −= u·x[i] for every i < len(y).
func subScaled(y, x []float64, u float64) {
	x = x[:len(y)]
	if hasAVX {
		subScaledAVX(y, x, u)
		return
	}
	subScaledGo(y, x, u)
}
