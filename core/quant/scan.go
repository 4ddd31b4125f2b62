package quant

import (
	"encoding/binary"
	"unsafe"
)

// Query is a query vector prepared for scanning an Int8 matrix: quantized
// exactly as Encode quantizes a row, and packed for the word kernel of
// Dots. A Query is read-only after NewQuery; it may be shared by goroutines.
type Query struct {
	// Codes and Scale are Encode(x): x[j] ≈ Scale·Codes[j].
	Codes []int8
	Scale float32
	// packed holds, for word k of a row (codes 8k…8k+7) and lane pair t in
	// 0…3, the query codes q[8k+t+4] + q[8k+t]·2³² as a two's-complement
	// uint64 (see Int8.Dots).
	packed []uint64
	// bias is 128·Σ Codes, the offset the kernel subtracts because it reads
	// item codes as unsigned bytes c+128.
	bias int64
}

// NewQuery quantizes x (Encode) and packs it for Int8.Dots and Int8.Scores.
func NewQuery(x []float32) *Query {
	q := &Query{Codes: make([]int8, len(x))}
	q.Scale = Encode(q.Codes, x)
	q.pack()
	return q
}

// Reset makes q the query of x, as NewQuery(x) would, reusing q's memory
// when it is large enough (a search that keeps its Query allocates
// nothing for it). q must not be in use by a scan meanwhile.
func (q *Query) Reset(x []float32) {
	if cap(q.Codes) < len(x) {
		q.Codes = make([]int8, len(x))
	}
	q.Codes = q.Codes[:len(x)]
	q.Scale = Encode(q.Codes, x)
	q.pack()
}

// RowQuery returns row i of m as a Query: its codes and scale as stored,
// packed for the kernel. It scores exactly as NewQuery of the decoded row
// would up to the rounding of the scale, without the float round trip
// (MMR and the seed similarity score item against item).
func (m *Int8) RowQuery(i int) *Query {
	q := &Query{Codes: append([]int8(nil), m.Row(i)...), Scale: m.Scales[i]}
	q.pack()
	return q
}

// pack fills bias and packed from Codes.
func (q *Query) pack() {
	x := q.Codes
	var sum int64
	for _, c := range q.Codes {
		sum += int64(c)
	}
	q.bias = 128 * sum
	q.packed = q.packed[:0]
	if len(x)%8 == 0 {
		if cap(q.packed) < len(x)/2 {
			q.packed = make([]uint64, len(x)/2)
		}
		q.packed = q.packed[:len(x)/2]
		for k := 0; k < len(x)/8; k++ {
			for t := 0; t < 4; t++ {
				lo, hi := int64(q.Codes[8*k+t+4]), int64(q.Codes[8*k+t])
				q.packed[4*k+t] = uint64(lo + hi<<32)
			}
		}
	}
}

// littleEndian reports whether uint64 loads see byte 0 in the low bits, as
// the word kernel assumes (true on wasm, amd64, arm64 and 386).
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// words returns the codes of m as little-endian 64-bit words, aliasing
// them, or nil when the word kernel cannot run: Dim not a multiple of 8,
// codes not 8-byte aligned, or a big-endian machine. Rows decoded from a
// bundle are aligned (sections start at multiples of 8, FORMAT.md §4).
func (m *Int8) words() []uint64 {
	if m.Dim%8 != 0 || len(m.Codes) == 0 || !littleEndian || uintptr(unsafe.Pointer(&m.Codes[0]))%8 != 0 {
		return nil
	}
	return unsafe.Slice((*uint64)(unsafe.Pointer(&m.Codes[0])), len(m.Codes)/8)
}

// Lane layout of the word kernel: two unsigned bytes 32 bits apart.
const (
	laneMask = 0x000000FF000000FF
	signBits = 0x8080808080808080
)

// Dots computes the exact integer inner products of q with rows lo,
// lo+1, …, lo+len(dst)−1:
//
//	for i := range dst {
//		var s int32
//		for j := range q.Codes { s += int32(q.Codes[j]) * int32(m.Codes[(lo+i)*m.Dim+j]) }
//		dst[i] = s
//	}
//
// # Notes
//
// Go compiles WebAssembly without SIMD, where each load and multiply costs
// (../../../shared/WASM-NOTES.md), so the kernel reads 8 codes per uint64
// and does 2 multiply-adds per 64-bit multiply. With u = c + 128 (the
// codes read as unsigned bytes, one XOR per word), the lanes e_t = (x ≫ 8t)
// ∧ (0xFF + 0xFF·2³²) hold u_t and u_{t+4}; multiplied by the packed query
// word q_{t+4} + q_t·2³², the product is
//
//	u_t·q_{t+4} + (u_t·q_t + u_{t+4}·q_{t+4})·2³²   (mod 2⁶⁴).
//
// Summed over the row, the high half is H = Σ u·q and the low half L stays
// within |L| < 2³¹ for Dim < 2¹⁷, so H = ⌊(acc + 2³¹)/2³²⌋ exactly, and
// the dot product is H − 128·Σq. Rows of 64 codes run a fully unrolled
// body (a loop over words is much slower in wazero: BenchmarkDots), multiples of 64 run it
// once per block of 64, other multiples of 8 loop over words; any other Dim, or unaligned codes, falls back to
// DotInt8. The result equals the reference loop exactly (TestDots).
//
// Dots panics if len(q.Codes) != m.Dim or the rows are out of range.
func (m *Int8) Dots(dst []int32, q *Query, lo int) {
	d := m.Dim
	if len(q.Codes) != d {
		panic("quant: query dimension mismatch")
	}
	if lo < 0 || lo+len(dst) > m.Rows {
		panic("quant: rows out of range")
	}
	w := m.words()
	if w == nil {
		for i := range dst {
			r := (lo + i) * d
			dst[i] = DotInt8(q.Codes, m.Codes[r:r+d])
		}
		return
	}
	if d == 64 {
		dots64(dst, (*[32]uint64)(q.packed), int32(q.bias), w[lo*8:(lo+len(dst))*8])
		return
	}
	if d%64 == 0 {
		dotsBlocks(dst, q.packed, int32(q.bias), w[lo*d/8:(lo+len(dst))*d/8], d/64)
		return
	}
	wpr := d / 8
	p := q.packed[:4*wpr]
	bias := int32(q.bias)
	for i := range dst {
		r := w[(lo+i)*wpr : (lo+i+1)*wpr]
		var acc uint64
		for k, x := range r {
			x ^= signBits
			pk := p[4*k : 4*k+4 : 4*k+4]
			acc += (x&laneMask)*pk[0] + (x>>8&laneMask)*pk[1] + (x>>16&laneMask)*pk[2] + (x>>24&laneMask)*pk[3]
		}
		dst[i] = int32((int64(acc)+1<<31)>>32) - bias
	}
}

// dots64 is Dots for rows of 64 codes (8 words), unrolled, four rows at
// a time: each packed query word is loaded once for four rows. Go's wasm
// code has 16 integer registers; the 32 query words never fit, and every
// reload is a linear-memory load, which wazero bounds-checks. Sharing each
// load across four rows is what brings the kernel near native speed
// (BenchmarkDots; core/quant/MEASUREMENTS.md, "Four rows a pass").
func dots64(dst []int32, p *[32]uint64, bias int32, w []uint64) {
	w = w[:8*len(dst)]
	n := len(dst) &^ 3
	for i := 0; i < n; i += 4 {
		r := (*[32]uint64)(w[8*i : 8*i+32])
		var a0, a1, a2, a3 uint64
		q0, q1, q2, q3 := p[0], p[1], p[2], p[3]
		x0, x1, x2, x3 := r[0]^signBits, r[8]^signBits, r[16]^signBits, r[24]^signBits
		a0 += (x0&laneMask)*q0 + (x0>>8&laneMask)*q1 + (x0>>16&laneMask)*q2 + (x0>>24&laneMask)*q3
		a1 += (x1&laneMask)*q0 + (x1>>8&laneMask)*q1 + (x1>>16&laneMask)*q2 + (x1>>24&laneMask)*q3
		a2 += (x2&laneMask)*q0 + (x2>>8&laneMask)*q1 + (x2>>16&laneMask)*q2 + (x2>>24&laneMask)*q3
		a3 += (x3&laneMask)*q0 + (x3>>8&laneMask)*q1 + (x3>>16&laneMask)*q2 + (x3>>24&laneMask)*q3
		q0, q1, q2, q3 = p[4], p[5], p[6], p[7]
		x0, x1, x2, x3 = r[1]^signBits, r[9]^signBits, r[17]^signBits, r[25]^signBits
		a0 += (x0&laneMask)*q0 + (x0>>8&laneMask)*q1 + (x0>>16&laneMask)*q2 + (x0>>24&laneMask)*q3
		a1 += (x1&laneMask)*q0 + (x1>>8&laneMask)*q1 + (x1>>16&laneMask)*q2 + (x1>>24&laneMask)*q3
		a2 += (x2&laneMask)*q0 + (x2>>8&laneMask)*q1 + (x2>>16&laneMask)*q2 + (x2>>24&laneMask)*q3
		a3 += (x3&laneMask)*q0 + (x3>>8&laneMask)*q1 + (x3>>16&laneMask)*q2 + (x3>>24&laneMask)*q3
		q0, q1, q2, q3 = p[8], p[9], p[10], p[11]
		x0, x1, x2, x3 = r[2]^signBits, r[10]^signBits, r[18]^signBits, r[26]^signBits
		a0 += (x0&laneMask)*q0 + (x0>>8&laneMask)*q1 + (x0>>16&laneMask)*q2 + (x0>>24&laneMask)*q3
		a1 += (x1&laneMask)*q0 + (x1>>8&laneMask)*q1 + (x1>>16&laneMask)*q2 + (x1>>24&laneMask)*q3
		a2 += (x2&laneMask)*q0 + (x2>>8&laneMask)*q1 + (x2>>16&laneMask)*q2 + (x2>>24&laneMask)*q3
		a3 += (x3&laneMask)*q0 + (x3>>8&laneMask)*q1 + (x3>>16&laneMask)*q2 + (x3>>24&laneMask)*q3
		q0, q1, q2, q3 = p[12], p[13], p[14], p[15]
		x0, x1, x2, x3 = r[3]^signBits, r[11]^signBits, r[19]^signBits, r[27]^signBits
		a0 += (x0&laneMask)*q0 + (x0>>8&laneMask)*q1 + (x0>>16&laneMask)*q2 + (x0>>24&laneMask)*q3
		a1 += (x1&laneMask)*q0 + (x1>>8&laneMask)*q1 + (x1>>16&laneMask)*q2 + (x1>>24&laneMask)*q3
		a2 += (x2&laneMask)*q0 + (x2>>8&laneMask)*q1 + (x2>>16&laneMask)*q2 + (x2>>24&laneMask)*q3
		a3 += (x3&laneMask)*q0 + (x3>>8&laneMask)*q1 + (x3>>16&laneMask)*q2 + (x3>>24&laneMask)*q3
		q0, q1, q2, q3 = p[16], p[17], p[18], p[19]
		x0, x1, x2, x3 = r[4]^signBits, r[12]^signBits, r[20]^signBits, r[28]^signBits
		a0 += (x0&laneMask)*q0 + (x0>>8&laneMask)*q1 + (x0>>16&laneMask)*q2 + (x0>>24&laneMask)*q3
		a1 += (x1&laneMask)*q0 + (x1>>8&laneMask)*q1 + (x1>>16&laneMask)*q2 + (x1>>24&laneMask)*q3
		a2 += (x2&laneMask)*q0 + (x2>>8&laneMask)*q1 + (x2>>16&laneMask)*q2 + (x2>>24&laneMask)*q3
		a3 += (x3&laneMask)*q0 + (x3>>8&laneMask)*q1 + (x3>>16&laneMask)*q2 + (x3>>24&laneMask)*q3
		q0, q1, q2, q3 = p[20], p[21], p[22], p[23]
		x0, x1, x2, x3 = r[5]^signBits, r[13]^signBits, r[21]^signBits, r[29]^signBits
		a0 += (x0&laneMask)*q0 + (x0>>8&laneMask)*q1 + (x0>>16&laneMask)*q2 + (x0>>24&laneMask)*q3
		a1 += (x1&laneMask)*q0 + (x1>>8&laneMask)*q1 + (x1>>16&laneMask)*q2 + (x1>>24&laneMask)*q3
		a2 += (x2&laneMask)*q0 + (x2>>8&laneMask)*q1 + (x2>>16&laneMask)*q2 + (x2>>24&laneMask)*q3
		a3 += (x3&laneMask)*q0 + (x3>>8&laneMask)*q1 + (x3>>16&laneMask)*q2 + (x3>>24&laneMask)*q3
		q0, q1, q2, q3 = p[24], p[25], p[26], p[27]
		x0, x1, x2, x3 = r[6]^signBits, r[14]^signBits, r[22]^signBits, r[30]^signBits
		a0 += (x0&laneMask)*q0 + (x0>>8&laneMask)*q1 + (x0>>16&laneMask)*q2 + (x0>>24&laneMask)*q3
		a1 += (x1&laneMask)*q0 + (x1>>8&laneMask)*q1 + (x1>>16&laneMask)*q2 + (x1>>24&laneMask)*q3
		a2 += (x2&laneMask)*q0 + (x2>>8&laneMask)*q1 + (x2>>16&laneMask)*q2 + (x2>>24&laneMask)*q3
		a3 += (x3&laneMask)*q0 + (x3>>8&laneMask)*q1 + (x3>>16&laneMask)*q2 + (x3>>24&laneMask)*q3
		q0, q1, q2, q3 = p[28], p[29], p[30], p[31]
		x0, x1, x2, x3 = r[7]^signBits, r[15]^signBits, r[23]^signBits, r[31]^signBits
		a0 += (x0&laneMask)*q0 + (x0>>8&laneMask)*q1 + (x0>>16&laneMask)*q2 + (x0>>24&laneMask)*q3
		a1 += (x1&laneMask)*q0 + (x1>>8&laneMask)*q1 + (x1>>16&laneMask)*q2 + (x1>>24&laneMask)*q3
		a2 += (x2&laneMask)*q0 + (x2>>8&laneMask)*q1 + (x2>>16&laneMask)*q2 + (x2>>24&laneMask)*q3
		a3 += (x3&laneMask)*q0 + (x3>>8&laneMask)*q1 + (x3>>16&laneMask)*q2 + (x3>>24&laneMask)*q3
		dst[i+0] = int32((int64(a0)+1<<31)>>32) - bias
		dst[i+1] = int32((int64(a1)+1<<31)>>32) - bias
		dst[i+2] = int32((int64(a2)+1<<31)>>32) - bias
		dst[i+3] = int32((int64(a3)+1<<31)>>32) - bias
	}
	if n < len(dst) {
		dots64Rows(dst[n:], p, bias, w[8*n:])
	}
}

// dots64Rows is dots64 one row at a time, for the rows after the last
// block of four.
func dots64Rows(dst []int32, p *[32]uint64, bias int32, w []uint64) {
	w = w[:8*len(dst)]
	p0, p1, p2, p3, p4, p5, p6, p7 := p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]
	p8, p9, p10, p11, p12, p13, p14, p15 := p[8], p[9], p[10], p[11], p[12], p[13], p[14], p[15]
	p16, p17, p18, p19, p20, p21, p22, p23 := p[16], p[17], p[18], p[19], p[20], p[21], p[22], p[23]
	p24, p25, p26, p27, p28, p29, p30, p31 := p[24], p[25], p[26], p[27], p[28], p[29], p[30], p[31]
	for i := range dst {
		r := (*[8]uint64)(w[8*i : 8*i+8])
		x0, x1, x2, x3 := r[0]^signBits, r[1]^signBits, r[2]^signBits, r[3]^signBits
		x4, x5, x6, x7 := r[4]^signBits, r[5]^signBits, r[6]^signBits, r[7]^signBits
		acc := (x0&laneMask)*p0 + (x0>>8&laneMask)*p1 + (x0>>16&laneMask)*p2 + (x0>>24&laneMask)*p3 +
			(x1&laneMask)*p4 + (x1>>8&laneMask)*p5 + (x1>>16&laneMask)*p6 + (x1>>24&laneMask)*p7 +
			(x2&laneMask)*p8 + (x2>>8&laneMask)*p9 + (x2>>16&laneMask)*p10 + (x2>>24&laneMask)*p11 +
			(x3&laneMask)*p12 + (x3>>8&laneMask)*p13 + (x3>>16&laneMask)*p14 + (x3>>24&laneMask)*p15 +
			(x4&laneMask)*p16 + (x4>>8&laneMask)*p17 + (x4>>16&laneMask)*p18 + (x4>>24&laneMask)*p19 +
			(x5&laneMask)*p20 + (x5>>8&laneMask)*p21 + (x5>>16&laneMask)*p22 + (x5>>24&laneMask)*p23 +
			(x6&laneMask)*p24 + (x6>>8&laneMask)*p25 + (x6>>16&laneMask)*p26 + (x6>>24&laneMask)*p27 +
			(x7&laneMask)*p28 + (x7>>8&laneMask)*p29 + (x7>>16&laneMask)*p30 + (x7>>24&laneMask)*p31
		dst[i] = int32((int64(acc)+1<<31)>>32) - bias
	}
}

// dotsBlocks is Dots for rows of a multiple of 64 codes: the unrolled
// body of dots64 once per block of 8 words.
func dotsBlocks(dst []int32, packed []uint64, bias int32, w []uint64, blocks int) {
	w = w[:8*blocks*len(dst)]
	packed = packed[:32*blocks]
	for i := range dst {
		var acc uint64
		for b := 0; b < blocks; b++ {
			r := (*[8]uint64)(w[8*(i*blocks+b):])
			p := (*[32]uint64)(packed[32*b:])
			x0, x1, x2, x3 := r[0]^signBits, r[1]^signBits, r[2]^signBits, r[3]^signBits
			x4, x5, x6, x7 := r[4]^signBits, r[5]^signBits, r[6]^signBits, r[7]^signBits
			acc += (x0&laneMask)*p[0] + (x0>>8&laneMask)*p[1] + (x0>>16&laneMask)*p[2] + (x0>>24&laneMask)*p[3] +
				(x1&laneMask)*p[4] + (x1>>8&laneMask)*p[5] + (x1>>16&laneMask)*p[6] + (x1>>24&laneMask)*p[7] +
				(x2&laneMask)*p[8] + (x2>>8&laneMask)*p[9] + (x2>>16&laneMask)*p[10] + (x2>>24&laneMask)*p[11] +
				(x3&laneMask)*p[12] + (x3>>8&laneMask)*p[13] + (x3>>16&laneMask)*p[14] + (x3>>24&laneMask)*p[15] +
				(x4&laneMask)*p[16] + (x4>>8&laneMask)*p[17] + (x4>>16&laneMask)*p[18] + (x4>>24&laneMask)*p[19] +
				(x5&laneMask)*p[20] + (x5>>8&laneMask)*p[21] + (x5>>16&laneMask)*p[22] + (x5>>24&laneMask)*p[23] +
				(x6&laneMask)*p[24] + (x6>>8&laneMask)*p[25] + (x6>>16&laneMask)*p[26] + (x6>>24&laneMask)*p[27] +
				(x7&laneMask)*p[28] + (x7>>8&laneMask)*p[29] + (x7>>16&laneMask)*p[30] + (x7>>24&laneMask)*p[31]
		}
		dst[i] = int32((int64(acc)+1<<31)>>32) - bias
	}
}

// Scores computes the approximate inner products of the query with rows
// lo, lo+1, …, lo+len(dst)−1, exactly as the reference
//
//	dst[i] = q.Scale * m.Scales[lo+i] * float32(DotInt8(q.Codes, m.Row(lo+i)))
//
// with the kernel of Dots (fused with the scaling for rows of 64 codes). It
// does not allocate.
//
// Scores panics if len(q.Codes) != m.Dim or the rows are out of range.
func (m *Int8) Scores(dst []float32, q *Query, lo int) {
	if m.Dim == 64 && len(q.Codes) == 64 && lo >= 0 && lo+len(dst) <= m.Rows {
		if w := m.words(); w != nil {
			scores64(dst, (*[32]uint64)(q.packed), int32(q.bias), w[lo*8:(lo+len(dst))*8], m.Scales[lo:lo+len(dst)], q.Scale)
			return
		}
	}
	var buf [64]int32
	for len(dst) > 0 {
		n := min(len(dst), len(buf))
		d := buf[:n]
		m.Dots(d, q, lo)
		s := m.Scales[lo : lo+n]
		for i, v := range d {
			dst[i] = q.Scale * s[i] * float32(v)
		}
		dst, lo = dst[n:], lo+n
	}
}

// scores64 is Scores for rows of 64 codes: the body of dots64 followed by
// the scaling, so that no intermediate buffer is needed (a buffer and a
// second pass cost more in wazero than the scaling itself). The body is
// repeated rather than called: a call per four rows, its four sums
// returned through the Go stack, cost 10–15 % in wazero; TestDots and
// TestDotsEveryTail hold both copies to the reference loop.
func scores64(dst []float32, p *[32]uint64, bias int32, w []uint64, scales []float32, qs float32) {
	w = w[:8*len(dst)]
	scales = scales[:len(dst)]
	n := len(dst) &^ 3
	for i := 0; i < n; i += 4 {
		r := (*[32]uint64)(w[8*i : 8*i+32])
		var a0, a1, a2, a3 uint64
		q0, q1, q2, q3 := p[0], p[1], p[2], p[3]
		x0, x1, x2, x3 := r[0]^signBits, r[8]^signBits, r[16]^signBits, r[24]^signBits
		a0 += (x0&laneMask)*q0 + (x0>>8&laneMask)*q1 + (x0>>16&laneMask)*q2 + (x0>>24&laneMask)*q3
		a1 += (x1&laneMask)*q0 + (x1>>8&laneMask)*q1 + (x1>>16&laneMask)*q2 + (x1>>24&laneMask)*q3
		a2 += (x2&laneMask)*q0 + (x2>>8&laneMask)*q1 + (x2>>16&laneMask)*q2 + (x2>>24&laneMask)*q3
		a3 += (x3&laneMask)*q0 + (x3>>8&laneMask)*q1 + (x3>>16&laneMask)*q2 + (x3>>24&laneMask)*q3
		q0, q1, q2, q3 = p[4], p[5], p[6], p[7]
		x0, x1, x2, x3 = r[1]^signBits, r[9]^signBits, r[17]^signBits, r[25]^signBits
		a0 += (x0&laneMask)*q0 + (x0>>8&laneMask)*q1 + (x0>>16&laneMask)*q2 + (x0>>24&laneMask)*q3
		a1 += (x1&laneMask)*q0 + (x1>>8&laneMask)*q1 + (x1>>16&laneMask)*q2 + (x1>>24&laneMask)*q3
		a2 += (x2&laneMask)*q0 + (x2>>8&laneMask)*q1 + (x2>>16&laneMask)*q2 + (x2>>24&laneMask)*q3
		a3 += (x3&laneMask)*q0 + (x3>>8&laneMask)*q1 + (x3>>16&laneMask)*q2 + (x3>>24&laneMask)*q3
		q0, q1, q2, q3 = p[8], p[9], p[10], p[11]
		x0, x1, x2, x3 = r[2]^signBits, r[10]^signBits, r[18]^signBits, r[26]^signBits
		a0 += (x0&laneMask)*q0 + (x0>>8&laneMask)*q1 + (x0>>16&laneMask)*q2 + (x0>>24&laneMask)*q3
		a1 += (x1&laneMask)*q0 + (x1>>8&laneMask)*q1 + (x1>>16&laneMask)*q2 + (x1>>24&laneMask)*q3
		a2 += (x2&laneMask)*q0 + (x2>>8&laneMask)*q1 + (x2>>16&laneMask)*q2 + (x2>>24&laneMask)*q3
		a3 += (x3&laneMask)*q0 + (x3>>8&laneMask)*q1 + (x3>>16&laneMask)*q2 + (x3>>24&laneMask)*q3
		q0, q1, q2, q3 = p[12], p[13], p[14], p[15]
		x0, x1, x2, x3 = r[3]^signBits, r[11]^signBits, r[19]^signBits, r[27]^signBits
		a0 += (x0&laneMask)*q0 + (x0>>8&laneMask)*q1 + (x0>>16&laneMask)*q2 + (x0>>24&laneMask)*q3
		a1 += (x1&laneMask)*q0 + (x1>>8&laneMask)*q1 + (x1>>16&laneMask)*q2 + (x1>>24&laneMask)*q3
		a2 += (x2&laneMask)*q0 + (x2>>8&laneMask)*q1 + (x2>>16&laneMask)*q2 + (x2>>24&laneMask)*q3
		a3 += (x3&laneMask)*q0 + (x3>>8&laneMask)*q1 + (x3>>16&laneMask)*q2 + (x3>>24&laneMask)*q3
		q0, q1, q2, q3 = p[16], p[17], p[18], p[19]
		x0, x1, x2, x3 = r[4]^signBits, r[12]^signBits, r[20]^signBits, r[28]^signBits
		a0 += (x0&laneMask)*q0 + (x0>>8&laneMask)*q1 + (x0>>16&laneMask)*q2 + (x0>>24&laneMask)*q3
		a1 += (x1&laneMask)*q0 + (x1>>8&laneMask)*q1 + (x1>>16&laneMask)*q2 + (x1>>24&laneMask)*q3
		a2 += (x2&laneMask)*q0 + (x2>>8&laneMask)*q1 + (x2>>16&laneMask)*q2 + (x2>>24&laneMask)*q3
		a3 += (x3&laneMask)*q0 + (x3>>8&laneMask)*q1 + (x3>>16&laneMask)*q2 + (x3>>24&laneMask)*q3
		q0, q1, q2, q3 = p[20], p[21], p[22], p[23]
		x0, x1, x2, x3 = r[5]^signBits, r[13]^signBits, r[21]^signBits, r[29]^signBits
		a0 += (x0&laneMask)*q0 + (x0>>8&laneMask)*q1 + (x0>>16&laneMask)*q2 + (x0>>24&laneMask)*q3
		a1 += (x1&laneMask)*q0 + (x1>>8&laneMask)*q1 + (x1>>16&laneMask)*q2 + (x1>>24&laneMask)*q3
		a2 += (x2&laneMask)*q0 + (x2>>8&laneMask)*q1 + (x2>>16&laneMask)*q2 + (x2>>24&laneMask)*q3
		a3 += (x3&laneMask)*q0 + (x3>>8&laneMask)*q1 + (x3>>16&laneMask)*q2 + (x3>>24&laneMask)*q3
		q0, q1, q2, q3 = p[24], p[25], p[26], p[27]
		x0, x1, x2, x3 = r[6]^signBits, r[14]^signBits, r[22]^signBits, r[30]^signBits
		a0 += (x0&laneMask)*q0 + (x0>>8&laneMask)*q1 + (x0>>16&laneMask)*q2 + (x0>>24&laneMask)*q3
		a1 += (x1&laneMask)*q0 + (x1>>8&laneMask)*q1 + (x1>>16&laneMask)*q2 + (x1>>24&laneMask)*q3
		a2 += (x2&laneMask)*q0 + (x2>>8&laneMask)*q1 + (x2>>16&laneMask)*q2 + (x2>>24&laneMask)*q3
		a3 += (x3&laneMask)*q0 + (x3>>8&laneMask)*q1 + (x3>>16&laneMask)*q2 + (x3>>24&laneMask)*q3
		q0, q1, q2, q3 = p[28], p[29], p[30], p[31]
		x0, x1, x2, x3 = r[7]^signBits, r[15]^signBits, r[23]^signBits, r[31]^signBits
		a0 += (x0&laneMask)*q0 + (x0>>8&laneMask)*q1 + (x0>>16&laneMask)*q2 + (x0>>24&laneMask)*q3
		a1 += (x1&laneMask)*q0 + (x1>>8&laneMask)*q1 + (x1>>16&laneMask)*q2 + (x1>>24&laneMask)*q3
		a2 += (x2&laneMask)*q0 + (x2>>8&laneMask)*q1 + (x2>>16&laneMask)*q2 + (x2>>24&laneMask)*q3
		a3 += (x3&laneMask)*q0 + (x3>>8&laneMask)*q1 + (x3>>16&laneMask)*q2 + (x3>>24&laneMask)*q3
		sc := (*[4]float32)(scales[i : i+4])
		dst[i+0] = qs * sc[0] * float32(int32((int64(a0)+1<<31)>>32)-bias)
		dst[i+1] = qs * sc[1] * float32(int32((int64(a1)+1<<31)>>32)-bias)
		dst[i+2] = qs * sc[2] * float32(int32((int64(a2)+1<<31)>>32)-bias)
		dst[i+3] = qs * sc[3] * float32(int32((int64(a3)+1<<31)>>32)-bias)
	}
	if n < len(dst) {
		var d [3]int32
		t := d[:len(dst)-n]
		dots64Rows(t, p, bias, w[8*n:])
		for i, v := range t {
			dst[n+i] = qs * scales[n+i] * float32(v)
		}
	}
}
