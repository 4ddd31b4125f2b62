package quant

import (
	"errors"
	"fmt"
	"math"
	"unsafe"
)

// PQCentroids is the number of centroids of each subspace of a PQ: one
// byte of code per subspace.
const PQCentroids = 256

// MaxPQDim bounds PQ.Dim (and so the table of a query: Dim·256 floats at
// most per subspace row).
const MaxPQDim = 4096

// PQ is a product quantizer (Jégou, Douze & Schmid, "Product Quantization
// for Nearest Neighbor Search", IEEE TPAMI 2011): a vector of Dim floats
// is cut into M subspaces of Sub() = Dim/M consecutive coordinates, and
// each part is replaced by the index of its nearest centroid (one byte)
// among the subspace's 256. A code is M bytes; its reconstruction is the
// concatenation of the M centroids.
//
// The inner product of a query q with a coded vector is a sum of M table
// look-ups, Σₘ ⟨qₘ, Cₘ[codeₘ]⟩ (asymmetric distance computation, ADC):
// Table computes the table once per query and PQTable.Sums scans codes
// with it. Training the codebooks is the host's work (tools/compact); the
// module only scores.
type PQ struct {
	Dim int // vector width, a multiple of M
	M   int // subspaces, bytes per code
	// Codebooks holds M·256 centroids of Sub() floats: centroid k of
	// subspace m is Codebooks[(m·256+k)·Sub() : (m·256+k+1)·Sub()].
	Codebooks []float32

	radius []float32 // each subspace's largest centroid norm (Prepare)
}

// Sub returns the width of a subspace, Dim/M.
func (p *PQ) Sub() int { return p.Dim / p.M }

// Validate reports whether the shapes agree: 1 ≤ M ≤ Dim ≤ MaxPQDim, M
// divides Dim, and Codebooks holds M·256·Sub() floats, all finite.
func (p *PQ) Validate() error {
	switch {
	case p.M < 1 || p.Dim < p.M || p.Dim > MaxPQDim || p.Dim%p.M != 0:
		return fmt.Errorf("pq: %d subspaces of a %d-dim vector", p.M, p.Dim)
	case len(p.Codebooks) != PQCentroids*p.Dim:
		return fmt.Errorf("pq: %d codebook floats, want %d", len(p.Codebooks), PQCentroids*p.Dim)
	}
	for _, v := range p.Codebooks {
		if v != v || v > math.MaxFloat32 || v < -math.MaxFloat32 {
			return errors.New("pq: codebook holds a NaN or an infinity")
		}
	}
	return nil
}

// centroid returns centroid k of subspace m.
func (p *PQ) centroid(m, k int) []float32 {
	s := p.Sub()
	o := (m*PQCentroids + k) * s
	return p.Codebooks[o : o+s : o+s]
}

// Encode writes the code of x into dst: for each subspace, the centroid
// nearest in Euclidean distance (ties to the lower index).
//
// Encode panics if len(x) != Dim or len(dst) != M.
func (p *PQ) Encode(dst []byte, x []float32) {
	if len(x) != p.Dim || len(dst) != p.M {
		panic("quant: PQ length mismatch")
	}
	s := p.Sub()
	if s == 2 {
		for m := range p.M {
			x0, x1 := x[2*m], x[2*m+1]
			cb := p.Codebooks[2*m*PQCentroids : 2*(m+1)*PQCentroids]
			best, bd := 0, float32(math.Inf(1))
			for k := range PQCentroids {
				e0, e1 := x0-cb[2*k], x1-cb[2*k+1]
				if d := e0*e0 + e1*e1; d < bd {
					best, bd = k, d
				}
			}
			dst[m] = byte(best)
		}
		return
	}
	for m := range p.M {
		xm := x[m*s : (m+1)*s]
		best, bd := 0, float32(math.Inf(1))
		for k := range PQCentroids {
			var d float32
			for j, c := range p.centroid(m, k) {
				e := xm[j] - c
				d += e * e
			}
			if d < bd {
				best, bd = k, d
			}
		}
		dst[m] = byte(best)
	}
}

// Decode writes the reconstruction of code into dst.
//
// Decode panics if len(dst) != Dim or len(code) != M.
func (p *PQ) Decode(dst []float32, code []byte) {
	if len(dst) != p.Dim || len(code) != p.M {
		panic("quant: PQ length mismatch")
	}
	s := p.Sub()
	for m, k := range code {
		copy(dst[m*s:(m+1)*s], p.centroid(m, int(k)))
	}
}

// PQTable is a query's look-up table for scoring PQ codes, in fixed
// point: the inner product of the query with a code c is approximately
//
//	Offset + Step·Σₘ T[m·256 + c[m]]
//
// within Step·M/2 of the exact Σₘ ⟨qₘ, Cₘ[cₘ]⟩ (each entry is rounded to
// the nearest multiple of Step). Entries are 16-bit: the table of 32
// subspaces takes 16 KiB, which stays in the first-level cache, and the
// sums are integers, so the kernel may add them in any order and still
// equal its reference loop exactly. A PQTable is reused across queries
// (Table allocates only when it grows); it is read-only during a scan.
type PQTable struct {
	M      int
	T      []uint16
	Step   float32
	Offset float32
	radius []float32 // scratch of Table when the PQ is not prepared
}

// Score returns the inner product that a sum of Sums stands for.
func (t *PQTable) Score(sum uint32) float32 { return t.Offset + t.Step*float32(sum) }

// Prepare computes the radius of each subspace's codebook (the largest
// centroid norm), which Table bounds its entries with. Call it again
// after changing Codebooks; Table computes the radii on every call when
// Prepare has not been called (several times its own cost in the module).
// Prepare must not run concurrently with Table.
func (p *PQ) Prepare() { p.radius = p.radii(nil) }

// radii returns Rₘ = maxₖ ‖Cₘ[k]‖ for each subspace m, in dst when it is
// large enough.
func (p *PQ) radii(dst []float32) []float32 {
	if cap(dst) < p.M {
		dst = make([]float32, p.M)
	}
	dst = dst[:p.M]
	for m := range p.M {
		var r float32
		for k := range PQCentroids {
			var n float32
			for _, c := range p.centroid(m, k) {
				n += c * c
			}
			if n > r {
				r = n
			}
		}
		dst[m] = float32(math.Sqrt(float64(r)))
	}
	return dst
}

// Table fills t with q's table. By Cauchy–Schwarz every entry of subspace
// m lies within ±‖qₘ‖·Rₘ (Prepare), so the entry for centroid k is
// (⟨qₘ, Cₘ[k]⟩ + ‖qₘ‖·Rₘ)/Step rounded, with Step the largest 2‖qₘ‖Rₘ
// over tableSteps (every entry fits 16 bits) and Offset = −Σₘ ‖qₘ‖·Rₘ: one
// pass over the codebooks, with no float table and no search for each
// subspace's minimum and maximum, which made the table several times
// dearer in wazero (BenchmarkPQTable). The bound is at most twice the
// subspace's true range, so Step is at most twice the finest possible.
// A query with a NaN or an infinity gets a zero table and a NaN or
// infinite Offset.
//
// Table panics if len(q) != Dim.
func (p *PQ) Table(t *PQTable, q []float32) {
	if len(q) != p.Dim {
		panic("quant: PQ query dimension mismatch")
	}
	n := p.M * PQCentroids
	if cap(t.T) < n {
		t.T = make([]uint16, n)
	}
	t.M, t.T = p.M, t.T[:n]
	rad := p.radius
	if len(rad) != p.M {
		t.radius = p.radii(t.radius)
		rad = t.radius
	}
	s := p.Sub()
	// Per subspace: the bound ‖qₘ‖·Rₘ.
	var rng, off float32
	for m := range p.M {
		var qq float32
		for _, v := range q[m*s : (m+1)*s] {
			qq += v * v
		}
		b := float32(math.Sqrt(float64(qq))) * rad[m]
		off -= b
		if 2*b > rng {
			rng = 2 * b
		}
	}
	t.Offset = off
	t.Step = rng / tableSteps
	if !(t.Step > 0) || t.Step > math.MaxFloat32 {
		// A zero query, or a NaN or ∞ in it: every code scores Offset.
		t.Step = 0
		clear(t.T)
		return
	}
	inv := 1 / t.Step
	for m := range p.M {
		qm := q[m*s : (m+1)*s]
		lo := 0 - float32(math.Sqrt(float64(dot32(qm, qm))))*rad[m]
		tm := (*[PQCentroids]uint16)(t.T[m*PQCentroids : (m+1)*PQCentroids])
		if s == 2 {
			// The common shape (64 dimensions in 32 subspaces), without
			// the inner loop or bounds checks.
			cb := (*[2 * PQCentroids]float32)(p.Codebooks[2*m*PQCentroids : 2*(m+1)*PQCentroids])
			q0, q1 := qm[0], qm[1]
			// Unrolled and without a branch: in Go's WebAssembly every
			// jump, a loop's included, goes through the function's
			// dispatch loop. Entries fit 16 bits without a clamp (the
			// headroom of tableSteps).
			for k := 0; k < PQCentroids; k += 8 {
				c := (*[16]float32)(cb[2*k : 2*k+16])
				e := (*[8]uint16)(tm[k : k+8])
				e[0] = uint16(int32((q0*c[0]+q1*c[1]-lo)*inv + 0.5))
				e[1] = uint16(int32((q0*c[2]+q1*c[3]-lo)*inv + 0.5))
				e[2] = uint16(int32((q0*c[4]+q1*c[5]-lo)*inv + 0.5))
				e[3] = uint16(int32((q0*c[6]+q1*c[7]-lo)*inv + 0.5))
				e[4] = uint16(int32((q0*c[8]+q1*c[9]-lo)*inv + 0.5))
				e[5] = uint16(int32((q0*c[10]+q1*c[11]-lo)*inv + 0.5))
				e[6] = uint16(int32((q0*c[12]+q1*c[13]-lo)*inv + 0.5))
				e[7] = uint16(int32((q0*c[14]+q1*c[15]-lo)*inv + 0.5))
			}
			continue
		}
		cb := p.Codebooks[m*PQCentroids*s : (m+1)*PQCentroids*s]
		for k := range PQCentroids {
			tm[k] = uint16(int32((dot32(qm, cb[k*s:(k+1)*s])-lo)*inv + 0.5))
		}
	}
}

// tableSteps is the number of Steps that the widest subspace's bound
// spans: two short of 65 535, so that an entry rounded up, or pushed a
// few ulps past its bound by the float32 rounding of the inner product,
// still fits 16 bits without a clamp.
const tableSteps = 65533

// dot32 returns Σ x[j]·y[j] in float32, in order.
func dot32(x, y []float32) float32 {
	var d float32
	for j, v := range x {
		d += v * y[j]
	}
	return d
}

// Sums computes, for the rows of codes (M bytes each, row i being
// codes[i·M : (i+1)·M]), the fixed-point table sums
//
//	for i := range dst {
//		var s uint32
//		for m := 0; m < t.M; m++ { s += uint32(t.T[m*256+int(codes[i*t.M+m])]) }
//		dst[i] = s
//	}
//
// exactly (TestPQSums holds it to that loop).
//
// # Notes
//
// For M = 32 and codes at an 8-byte aligned address on a little-endian
// machine, the kernel loads a row as four uint64 words and takes each
// code with a shift and a byte conversion, which with a constant offset
// indexes the table with no bounds check (pqSums32). Go's WebAssembly
// backend emits no SIMD, so a row costs M table loads wherever it runs
// (BenchmarkPQSums).
//
// Sums panics if len(codes) != len(dst)·M.
func (t *PQTable) Sums(dst []uint32, codes []byte) {
	if len(codes) != len(dst)*t.M || len(t.T) != t.M*PQCentroids {
		panic("quant: PQ codes length mismatch")
	}
	if len(dst) == 0 {
		return
	}
	if t.M == 32 && littleEndian && uintptr(unsafe.Pointer(&codes[0]))%8 == 0 {
		w := unsafe.Slice((*uint64)(unsafe.Pointer(&codes[0])), len(codes)/8)
		pqSums32(dst, t, w)
		return
	}
	pqSumsRef(dst, t.T, t.M, codes)
}

// pqSumsRef is the reference loop of Sums.
func pqSumsRef(dst []uint32, tab []uint16, m int, codes []byte) {
	for i := range dst {
		var s uint32
		for j, c := range codes[i*m : (i+1)*m] {
			s += uint32(tab[j*PQCentroids+int(c)])
		}
		dst[i] = s
	}
}

// pqSums32 is Sums for 32-byte codes read as words, one statement per
// look-up.
//
// # Notes
//
// The table's address comes from t.T, a load, rather than from an
// argument: Go's WebAssembly backend rematerializes an argument from its
// Go-stack slot at each use, a bounds-checked linear-memory load per
// look-up in wazero. One statement per look-up and a single sum order the
// code better for wazero than four sums of eight terms each; natively the
// forms are within a few percent (BenchmarkPQSums; core/quant/MEASUREMENTS.md,
// "Compact mode").
func pqSums32(dst []uint32, tab *PQTable, w []uint64) {
	w = w[:4*len(dst)]
	t := (*[32 * PQCentroids]uint16)(tab.T)
	for i := range dst {
		r := (*[4]uint64)(w[4*i : 4*i+4])
		x := r[0]
		s := uint32(t[int(uint8(x))])
		s += uint32(t[1*256+int(uint8(x>>8))])
		s += uint32(t[2*256+int(uint8(x>>16))])
		s += uint32(t[3*256+int(uint8(x>>24))])
		s += uint32(t[4*256+int(uint8(x>>32))])
		s += uint32(t[5*256+int(uint8(x>>40))])
		s += uint32(t[6*256+int(uint8(x>>48))])
		s += uint32(t[7*256+int(uint8(x>>56))])
		x = r[1]
		s += uint32(t[8*256+int(uint8(x))])
		s += uint32(t[9*256+int(uint8(x>>8))])
		s += uint32(t[10*256+int(uint8(x>>16))])
		s += uint32(t[11*256+int(uint8(x>>24))])
		s += uint32(t[12*256+int(uint8(x>>32))])
		s += uint32(t[13*256+int(uint8(x>>40))])
		s += uint32(t[14*256+int(uint8(x>>48))])
		s += uint32(t[15*256+int(uint8(x>>56))])
		x = r[2]
		s += uint32(t[16*256+int(uint8(x))])
		s += uint32(t[17*256+int(uint8(x>>8))])
		s += uint32(t[18*256+int(uint8(x>>16))])
		s += uint32(t[19*256+int(uint8(x>>24))])
		s += uint32(t[20*256+int(uint8(x>>32))])
		s += uint32(t[21*256+int(uint8(x>>40))])
		s += uint32(t[22*256+int(uint8(x>>48))])
		s += uint32(t[23*256+int(uint8(x>>56))])
		x = r[3]
		s += uint32(t[24*256+int(uint8(x))])
		s += uint32(t[25*256+int(uint8(x>>8))])
		s += uint32(t[26*256+int(uint8(x>>16))])
		s += uint32(t[27*256+int(uint8(x>>24))])
		s += uint32(t[28*256+int(uint8(x>>32))])
		s += uint32(t[29*256+int(uint8(x>>40))])
		s += uint32(t[30*256+int(uint8(x>>48))])
		s += uint32(t[31*256+int(uint8(x>>56))])
		dst[i] = s
	}
}
