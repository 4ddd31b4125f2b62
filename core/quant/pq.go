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
	f      []float32 // the float table, scratch of Table
}

// Score returns the inner product that a sum of Sums stands for.
func (t *PQTable) Score(sum uint32) float32 { return t.Offset + t.Step*float32(sum) }

// Table fills t with q's table: entry (m, k) is ⟨qₘ, Cₘ[k]⟩ − minₖ ⟨qₘ,
// Cₘ[k]⟩ in units of Step, Step being the largest of the subspaces'
// ranges divided by 65 535 (so every entry fits 16 bits), and Offset the
// sum of the subspaces' minima. A query with a NaN or an infinity gets a
// zero table (every code scores Offset, which is then NaN or infinite).
//
// Table panics if len(q) != Dim.
func (p *PQ) Table(t *PQTable, q []float32) {
	if len(q) != p.Dim {
		panic("quant: PQ query dimension mismatch")
	}
	n := p.M * PQCentroids
	if cap(t.T) < n {
		t.T = make([]uint16, n)
		t.f = make([]float32, n)
	}
	t.M, t.T, t.f = p.M, t.T[:n], t.f[:n]
	s := p.Sub()
	var rng, off float32
	for m := range p.M {
		qm := q[m*s : (m+1)*s]
		f := t.f[m*PQCentroids : (m+1)*PQCentroids]
		cb := p.Codebooks[m*PQCentroids*s : (m+1)*PQCentroids*s]
		if s == 2 {
			// The common shape (64 dimensions in 32 subspaces), without
			// the inner loop.
			q0, q1 := qm[0], qm[1]
			for k := range f {
				f[k] = q0*cb[2*k] + q1*cb[2*k+1]
			}
		} else {
			for k := range f {
				var d float32
				for j, c := range cb[k*s : (k+1)*s] {
					d += qm[j] * c
				}
				f[k] = d
			}
		}
		lo, hi := f[0], f[0]
		for _, v := range f {
			if v < lo {
				lo = v
			}
			if v > hi {
				hi = v
			}
		}
		off += lo
		if hi-lo > rng {
			rng = hi - lo
		}
		// Entries relative to the subspace's minimum: ≥ 0, so the
		// quantization below needs no sign.
		for k := range f {
			f[k] -= lo
		}
	}
	t.Offset = off
	t.Step = rng / 65535
	if !(t.Step > 0) || t.Step > math.MaxFloat32 {
		// All subspaces constant (or NaN/∞): every code scores Offset.
		t.Step = 0
		clear(t.T)
		return
	}
	inv := 1 / t.Step
	for i, v := range t.f {
		// v ≥ 0; round half up, clamp the last ulp.
		u := int32(v*inv + 0.5)
		if u > 65535 {
			u = 65535
		}
		t.T[i] = uint16(u)
	}
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
