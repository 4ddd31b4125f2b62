package quant

import (
	"fmt"
	"math"
)

// Float16 holds Rows vectors of Dim IEEE 754 binary16 values (1 sign, 5
// exponent, 10 fraction bits), row-major. Half the size of float32 with a
// relative error of at most 2⁻¹¹ for normal values: for unit embeddings
// the near-lossless choice, at twice the bytes of Int8.
type Float16 struct {
	Rows, Dim int
	Bits      []uint16
}

// NewFloat16 returns a zeroed rows×dim matrix.
func NewFloat16(rows, dim int) *Float16 {
	return &Float16{Rows: rows, Dim: dim, Bits: make([]uint16, rows*dim)}
}

// maxHalf is the largest finite binary16 value, 65504.
const maxHalf = 65504

// ToHalf rounds x to the nearest binary16 (ties to even), saturating
// finite values beyond ±65504 to ±65504 so that codes stay finite; NaN
// becomes 0.
func ToHalf(x float32) uint16 {
	if x != x {
		return 0
	}
	x = max(-maxHalf, min(maxHalf, x))
	b := math.Float32bits(x)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23&0xff) - 127 + 15
	frac := b & 0x7fffff
	switch {
	case exp >= 1: // normal: round 23 fraction bits to 10
		h := uint32(exp)<<10 | frac>>13
		rest := frac & 0x1fff
		if rest > 0x1000 || rest == 0x1000 && h&1 == 1 {
			h++ // may carry into the exponent, which is still correct
		}
		return sign | uint16(h)
	case exp >= -10: // subnormal half: value = m·2⁻²⁴
		m := frac | 0x800000
		shift := uint(14 - exp) // 13 + (1 − exp)
		h := m >> shift
		rest := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rest > half || rest == half && h&1 == 1 {
			h++
		}
		return sign | uint16(h)
	}
	return sign // underflow to ±0
}

// FromHalf returns the float32 value of a binary16 (exact: every binary16
// is a float32).
func FromHalf(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h >> 10 & 0x1f)
	frac := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	case exp == 0:
		v := float32(frac) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
}

// Set encodes x into row i.
func (m *Float16) Set(i int, x []float32) {
	r := m.Row(i)
	if len(x) != len(r) {
		panic("quant: length mismatch")
	}
	for j, v := range x {
		r[j] = ToHalf(v)
	}
}

// Row returns the codes of row i, aliasing the matrix.
func (m *Float16) Row(i int) []uint16 { return m.Bits[i*m.Dim : (i+1)*m.Dim] }

// Decode writes row i into dst.
func (m *Float16) Decode(dst []float32, i int) {
	for j, h := range m.Row(i) {
		dst[j] = FromHalf(h)
	}
}

// Validate reports whether the declared shape matches the storage and every
// value is finite.
func (m *Float16) Validate() error {
	if m.Rows < 0 || m.Dim <= 0 || m.Dim > 1<<14 || len(m.Bits) != m.Rows*m.Dim {
		return fmt.Errorf("float16 matrix %d×%d holds %d values", m.Rows, m.Dim, len(m.Bits))
	}
	for i, h := range m.Bits {
		if h&0x7c00 == 0x7c00 {
			return fmt.Errorf("float16 matrix value %d is not finite", i)
		}
	}
	return nil
}

// Scores computes the inner products of the float32 query q with rows lo,
// lo+1, …, lo+len(dst)−1; the reference loop is
//
//	for i := range dst {
//		var s float32
//		for j := range q { s += q[j] * FromHalf(m.Bits[(lo+i)*m.Dim+j]) }
//		dst[i] = s
//	}
//
// The kernel widens a finite binary16 without branches: shifting its 15
// magnitude bits left by 13 gives a float32 exactly 2¹¹² times too small
// (subnormals included), so the kernel multiplies a copy of the query by
// 2¹¹² (exact for |q[j]| < 2¹⁵, else it falls back to FromHalf) and the
// products come out unchanged. It keeps four partial sums, so results may
// differ from the reference in the last bits. It assumes finite values
// (Validate).
//
// Scores panics if len(q) != m.Dim or the rows are out of range.
func (m *Float16) Scores(dst []float32, q []float32, lo int) {
	d := m.Dim
	if len(q) != d {
		panic("quant: query dimension mismatch")
	}
	if lo < 0 || lo+len(dst) > m.Rows {
		panic("quant: rows out of range")
	}
	var buf [256]float32
	var qs []float32
	if d <= len(buf) {
		qs = buf[:d]
	} else {
		qs = make([]float32, d)
	}
	for j, v := range q {
		if !(v > -0x1p15 && v < 0x1p15) {
			for i := range dst {
				var s float32
				for j, h := range m.Row(lo + i) {
					s += q[j] * FromHalf(h)
				}
				dst[i] = s
			}
			return
		}
		qs[j] = v * 0x1p112
	}
	for i := range dst {
		r := m.Bits[(lo+i)*d : (lo+i+1)*d]
		var s0, s1, s2, s3 float32
		j := 0
		for ; j+4 <= d; j += 4 {
			h0, h1, h2, h3 := uint32(r[j]), uint32(r[j+1]), uint32(r[j+2]), uint32(r[j+3])
			s0 += qs[j] * math.Float32frombits(h0&0x8000<<16|h0&0x7fff<<13)
			s1 += qs[j+1] * math.Float32frombits(h1&0x8000<<16|h1&0x7fff<<13)
			s2 += qs[j+2] * math.Float32frombits(h2&0x8000<<16|h2&0x7fff<<13)
			s3 += qs[j+3] * math.Float32frombits(h3&0x8000<<16|h3&0x7fff<<13)
		}
		for ; j < d; j++ {
			h := uint32(r[j])
			s0 += qs[j] * math.Float32frombits(h&0x8000<<16|h&0x7fff<<13)
		}
		dst[i] = (s0 + s1) + (s2 + s3)
	}
}
