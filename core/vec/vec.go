// Package vec holds the float32 vector kernels that the towers, the trainer
// and the retrieval stages share.
//
// Each kernel is documented by its reference loop. Kernels panic when slice
// lengths disagree: that is a programmer error, never a consequence of input.
package vec

import "math"

// Dot returns Σ x[i]·y[i].
//
// Dot panics if len(x) != len(y).
func Dot(x, y []float32) float32 {
	if len(x) != len(y) {
		panic("vec: length mismatch")
	}
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		// Four-element sub-slices: one bounds check each, not one per
		// element (a third faster in wazero).
		xx, yy := x[i:i+4:i+4], y[i:i+4:i+4]
		s0 += xx[0] * yy[0]
		s1 += xx[1] * yy[1]
		s2 += xx[2] * yy[2]
		s3 += xx[3] * yy[3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// Axpy computes dst[i] += a·x[i].
//
// Axpy panics if len(dst) != len(x).
func Axpy(dst []float32, a float32, x []float32) {
	if len(dst) != len(x) {
		panic("vec: length mismatch")
	}
	for i, v := range x {
		dst[i] += a * v
	}
}

// Scale computes dst[i] *= a.
func Scale(dst []float32, a float32) {
	for i := range dst {
		dst[i] *= a
	}
}

// Zero sets every element of dst to 0.
func Zero(dst []float32) {
	clear(dst)
}

// Norm returns the Euclidean norm √(Σ x[i]²).
func Norm(x []float32) float32 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return float32(math.Sqrt(s))
}

// NormEpsilon keeps L2 normalization finite for a zero vector.
const NormEpsilon = 1e-12

// L2Normalize scales x to unit length in place, x[i] /= max(‖x‖, NormEpsilon),
// and returns the norm before scaling.
func L2Normalize(x []float32) float32 {
	n := Norm(x)
	Scale(x, 1/max(n, NormEpsilon))
	return n
}
