package quant

import (
	"fmt"
	"math/bits"
)

// Binary holds Rows sign-bit codes of Dim bits, Words = ⌈Dim/64⌉ uint64
// words per row, row-major: bit j%64 of word j/64 of row i is 1 when
// x[j] > center[j]. One bit per dimension is 32× smaller than float32 and
// scores with an XOR and a popcount per 64 dimensions (i64.popcnt in
// WebAssembly), so it serves as a first pass whose survivors are re-scored
// with int8 codes.
//
// The Hamming distance h between the codes of x and y estimates their
// angle: for random hyperplanes, P(bit differs) = θ/π (Charikar, "Similarity
// Estimation Techniques from Rounding Algorithms", STOC 2002). The
// canonical basis is not random, and vectors that share a direction share
// most signs, so codes are taken of x − center with center the data's mean.
type Binary struct {
	Rows, Dim, Words int
	Bits             []uint64
}

// NewBinary returns a zeroed rows×dim code matrix.
func NewBinary(rows, dim int) *Binary {
	w := (dim + 63) / 64
	return &Binary{Rows: rows, Dim: dim, Words: w, Bits: make([]uint64, rows*w)}
}

// SignBits writes the sign code of x − center into dst: bit j is 1 when
// x[j] > center[j] (center nil means 0).
//
// SignBits panics if len(dst) != ⌈len(x)/64⌉ or center has another length.
func SignBits(dst []uint64, x, center []float32) {
	if len(dst) != (len(x)+63)/64 || (center != nil && len(center) != len(x)) {
		panic("quant: length mismatch")
	}
	clear(dst)
	for j, v := range x {
		c := float32(0)
		if center != nil {
			c = center[j]
		}
		if v > c {
			dst[j/64] |= 1 << (j % 64)
		}
	}
}

// Set writes the sign code of x − center into row i.
func (b *Binary) Set(i int, x, center []float32) { SignBits(b.Row(i), x, center) }

// Row returns the words of row i, aliasing the matrix.
func (b *Binary) Row(i int) []uint64 { return b.Bits[i*b.Words : (i+1)*b.Words] }

// Decode writes row i as a ±1 vector into dst: dst[j] = 2·bit_j − 1, the
// direction the code keeps (its scale is lost).
func (b *Binary) Decode(dst []float32, i int) {
	r := b.Row(i)
	for j := range dst[:b.Dim] {
		dst[j] = float32(int(r[j/64]>>(j%64)&1)*2 - 1)
	}
}

// Validate reports whether the declared shape matches the storage and the
// padding bits past Dim are zero.
func (b *Binary) Validate() error {
	if b.Rows < 0 || b.Dim <= 0 || b.Dim > 1<<14 || b.Words != (b.Dim+63)/64 {
		return fmt.Errorf("binary codes: shape %d×%d (%d words) out of range", b.Rows, b.Dim, b.Words)
	}
	if len(b.Bits) != b.Rows*b.Words {
		return fmt.Errorf("binary codes %d×%d hold %d words", b.Rows, b.Dim, len(b.Bits))
	}
	if r := b.Dim % 64; r != 0 {
		pad := ^uint64(0) << r
		for i := 0; i < b.Rows; i++ {
			if b.Bits[(i+1)*b.Words-1]&pad != 0 {
				return fmt.Errorf("binary codes: row %d has bits set past dimension %d", i, b.Dim)
			}
		}
	}
	return nil
}

// Hamming computes the Hamming distances between q and rows lo, lo+1, …,
// lo+len(dst)−1; the reference loop is
//
//	for i := range dst {
//		dst[i] = 0
//		for j := 0; j < b.Dim; j++ {
//			if q[j/64]>>(j%64)&1 != b.Bits[(lo+i)*b.Words+j/64]>>(j%64)&1 { dst[i]++ }
//		}
//	}
//
// computed as Σ popcount(q[w] XOR row[w]), with one word per row unrolled
// for Dim ≤ 64.
//
// Hamming panics if len(q) != b.Words or the rows are out of range.
func (b *Binary) Hamming(dst []int32, q []uint64, lo int) {
	if len(q) != b.Words {
		panic("quant: query words mismatch")
	}
	if lo < 0 || lo+len(dst) > b.Rows {
		panic("quant: rows out of range")
	}
	if b.Words == 1 {
		qw := q[0]
		r := b.Bits[lo : lo+len(dst)]
		for i, x := range r {
			dst[i] = int32(bits.OnesCount64(qw ^ x))
		}
		return
	}
	for i := range dst {
		r := b.Bits[(lo+i)*b.Words : (lo+i+1)*b.Words]
		var h int
		for w, x := range r {
			h += bits.OnesCount64(q[w] ^ x)
		}
		dst[i] = int32(h)
	}
}

// BinaryQuery is a float query prepared for Binary.Estimates: for each byte
// of the code, a table of the sums of the query's coordinates whose bits the
// byte sets.
type BinaryQuery struct {
	Dim  int
	lut  [][256]float32 // one table per code byte
	sum  float32        // Σ q[j]
	sign []uint64       // SignBits(q, nil), for Hamming
}

// NewBinaryQuery prepares x for Estimates (asymmetric: the query stays in
// float) and for Hamming (its sign code, Sign).
func NewBinaryQuery(x []float32) *BinaryQuery {
	nb := (len(x) + 7) / 8
	q := &BinaryQuery{Dim: len(x), lut: make([][256]float32, nb), sign: make([]uint64, (len(x)+63)/64)}
	SignBits(q.sign, x, nil)
	for _, v := range x {
		q.sum += v
	}
	for k := range q.lut {
		t := &q.lut[k]
		for v := 1; v < 256; v++ {
			low := bits.TrailingZeros(uint(v))
			var add float32
			if j := 8*k + low; j < len(x) {
				add = x[j]
			}
			t[v] = t[v&(v-1)] + add
		}
	}
	return q
}

// Sign returns the query's sign code (SignBits with no center).
func (q *BinaryQuery) Sign() []uint64 { return q.sign }

// Estimates computes, for rows lo, lo+1, …, lo+len(dst)−1, the inner
// product of the query with the row's ±1 decoding; the reference loop is
//
//	for i := range dst {
//		var s float32
//		for j := 0; j < b.Dim; j++ { s += x[j] * (2·bit_j − 1) }
//		dst[i] = s
//	}
//
// computed as 2·Σ_{bit set} x[j] − Σ x[j] with one table look-up per code
// byte (the asymmetric distance of Jégou, Douze & Schmid, "Product
// Quantization for Nearest Neighbor Search", IEEE TPAMI 2011, with 1-bit
// sub-quantizers). Scaled by a row's ‖r‖²/‖r‖₁ this estimates ⟨x, r⟩
// (Gao & Long, "RaBitQ", SIGMOD 2024). Sums may differ from the
// reference in the last bits (a different summation order).
//
// Estimates panics if q.Dim != b.Dim or the rows are out of range.
func (b *Binary) Estimates(dst []float32, q *BinaryQuery, lo int) {
	if q.Dim != b.Dim {
		panic("quant: query dimension mismatch")
	}
	if lo < 0 || lo+len(dst) > b.Rows {
		panic("quant: rows out of range")
	}
	if b.Words == 1 && len(q.lut) == 8 {
		t := (*[8][256]float32)(q.lut)
		r := b.Bits[lo : lo+len(dst)]
		for i, x := range r {
			s := (t[0][x&0xff] + t[1][x>>8&0xff]) + (t[2][x>>16&0xff] + t[3][x>>24&0xff]) +
				(t[4][x>>32&0xff] + t[5][x>>40&0xff]) + (t[6][x>>48&0xff] + t[7][x>>56])
			dst[i] = 2*s - q.sum
		}
		return
	}
	for i := range dst {
		r := b.Bits[(lo+i)*b.Words : (lo+i+1)*b.Words]
		var s float32
		for k := range q.lut {
			s += q.lut[k][r[k/8]>>(8*(k%8))&0xff]
		}
		dst[i] = 2*s - q.sum
	}
}
