// Package quant compresses embedding vectors and scores against the
// compressed form.
//
// Int8 is the default: each row is stored as Dim signed bytes and one float32
// scale, x[i] ≈ scale·code[i], with the symmetric per-vector scale
// max|x|/127 (Jacob et al., "Quantization and Training of Neural Networks
// for Efficient Integer-Arithmetic-Only Inference", CVPR 2018, without the
// zero point because embeddings are centred). Int8.Scores scans rows with a
// word kernel written for Go's WebAssembly backend (scan.go).
//
// Float16 (IEEE binary16) is the near-lossless alternative at twice the
// bytes; Binary (one sign bit per dimension) is a first pass whose
// survivors are re-scored with int8. PQ (product quantization, pq.go) is
// the compact mode's code: one byte per subspace of a residual, scored by
// a query's look-up table. Every kernel is documented by its
// reference loop and held to it by a test; MEASUREMENTS.md beside this
// file has their speed and recall against float32.
package quant

import (
	"fmt"
	"math"
)

// Int8 holds Rows vectors of Dim int8 codes, row-major, and one scale per row.
type Int8 struct {
	Rows   int
	Dim    int
	Codes  []int8
	Scales []float32
}

// NewInt8 returns a zeroed rows×dim matrix.
func NewInt8(rows, dim int) *Int8 {
	return &Int8{Rows: rows, Dim: dim, Codes: make([]int8, rows*dim), Scales: make([]float32, rows)}
}

// Encode quantizes x into dst and returns the scale: scale = max|x|/127 and
// dst[i] = round(x[i]/scale), so |x[i] − scale·dst[i]| ≤ scale/2. A zero
// vector, one with a NaN or an infinity, and one too small for any scale
// (max|x| < 127·2⁻¹⁴⁹) have scale 0 and zero codes.
//
// Encode panics if len(dst) != len(x).
func Encode(dst []int8, x []float32) float32 {
	if len(dst) != len(x) {
		panic("quant: length mismatch")
	}
	// Comparisons, not max, min and math.Round: in wazero each of those is
	// a call, four per element (BenchmarkEncode; TestEncodeMatchesReference
	// holds the two forms to the same bits).
	var m float32
	finite := true
	for _, v := range x {
		a := v
		if a < 0 {
			a = -a
		}
		if a > m {
			m = a
		}
		finite = finite && a == a && a <= math.MaxFloat32
	}
	if m == 0 || !finite {
		clear(dst)
		return 0
	}
	scale := m / 127
	if scale == 0 {
		// max|x| below 127 times the smallest float32: no scale represents
		// it (the first version's codes came out ±127 with scale 0).
		clear(dst)
		return 0
	}
	inv := 1 / scale
	for i, v := range x {
		// Round half away from zero, exactly: a float32 below 2²⁴ plus ½
		// is exact in float64.
		f := float64(v * inv)
		var c int32
		if f >= 0 {
			c = int32(f + 0.5)
		} else {
			c = int32(f - 0.5)
		}
		if c > 127 {
			c = 127
		} else if c < -127 {
			c = -127
		}
		dst[i] = int8(c)
	}
	return scale
}

// Set quantizes x into row i.
func (m *Int8) Set(i int, x []float32) {
	m.Scales[i] = Encode(m.Row(i), x)
}

// Row returns the codes of row i, aliasing the matrix.
func (m *Int8) Row(i int) []int8 { return m.Codes[i*m.Dim : (i+1)*m.Dim] }

// Decode writes the dequantized row i into dst: dst[j] = scale·code[j].
func (m *Int8) Decode(dst []float32, i int) {
	s := m.Scales[i]
	for j, c := range m.Row(i) {
		dst[j] = s * float32(c)
	}
}

// Len returns the number of rows (nn.Rows).
func (m *Int8) Len() int { return m.Rows }

// Width returns the row dimension (nn.Rows).
func (m *Int8) Width() int { return m.Dim }

// AddRow computes dst += w·decode(row i) (nn.Rows).
func (m *Int8) AddRow(dst []float32, i int, w float32) {
	if len(dst) != m.Dim {
		panic("quant: length mismatch")
	}
	s := w * m.Scales[i]
	for j, c := range m.Row(i) {
		dst[j] += s * float32(c)
	}
}

// Validate reports whether the declared shape matches the storage and every
// scale is finite and non-negative.
func (m *Int8) Validate() error {
	if m.Rows < 0 || m.Dim <= 0 || m.Dim > 1<<14 {
		return fmt.Errorf("int8 matrix shape %d×%d out of range", m.Rows, m.Dim)
	}
	if len(m.Codes) != m.Rows*m.Dim || len(m.Scales) != m.Rows {
		return fmt.Errorf("int8 matrix %d×%d holds %d codes and %d scales", m.Rows, m.Dim, len(m.Codes), len(m.Scales))
	}
	for i, s := range m.Scales {
		if !(s >= 0) || math.IsInf(float64(s), 0) {
			return fmt.Errorf("int8 matrix row %d has scale %v", i, s)
		}
	}
	return nil
}

// DotInt8 returns Σ a[i]·b[i] accumulated in int32; the reference loop is
//
//	for i := range a { s += int32(a[i]) * int32(b[i]) }
//
// Exact for len(a) < 2¹⁷ (127² · 2¹⁷ < 2³¹). DotInt8 panics if the lengths
// differ.
func DotInt8(a, b []int8) int32 {
	if len(a) != len(b) {
		panic("quant: length mismatch")
	}
	var s0, s1, s2, s3 int32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += int32(a[i]) * int32(b[i])
		s1 += int32(a[i+1]) * int32(b[i+1])
		s2 += int32(a[i+2]) * int32(b[i+2])
		s3 += int32(a[i+3]) * int32(b[i+3])
	}
	for ; i < len(a); i++ {
		s0 += int32(a[i]) * int32(b[i])
	}
	return s0 + s1 + s2 + s3
}
