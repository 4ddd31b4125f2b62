package ann

import (
	"errors"
	"fmt"
	"math"

	"github.com/edgerec/edgerec/core/quant"
)

// IVFPQ is the compact mode's index: an inverted file whose rows are not
// stored as embeddings but as product-quantization codes of their residual
// to the list's centroid (Jégou, Douze & Schmid, "Product Quantization for
// Nearest Neighbor Search", IEEE TPAMI 2011, §IV, "IVFADC"). Row r of
// list l stands for the vector
//
//	x̂ᵣ = cₗ + PQ.Decode(Codes[r·M : (r+1)·M]),  cₗ = Centroids.Decode(l)
//
// so its inner product with a query q is ⟨q, cₗ⟩ + Σₘ ⟨qₘ, Cₘ[codeₘ]⟩:
// one score per list and one look-up table per query serve every list.
// With 32 subspaces a row costs 32 bytes instead of the int8 rows' 68 at
// dimension 64 (core/quant/MEASUREMENTS.md has the recall it keeps).
//
// As for IVF, list l is rows Offsets[l] … Offsets[l+1]−1, so a search
// reads contiguous runs of Codes. The host trains and encodes
// (tools/compact.Train); the module decodes the bytes of MarshalBinary
// with DecodeIVFPQ, aliasing them, and searches.
type IVFPQ struct {
	// PQ quantizes the residuals.
	PQ *quant.PQ
	// Centroids holds one int8-coded centroid per list: the residuals
	// are taken against the decoded centroid, so it is exact as stored,
	// costs Dim+4 bytes a list, and its codes rank the lists with the
	// int8 word kernel, several times faster than float inner products
	// in the module.
	Centroids *quant.Int8
	// Offsets has Lists()+1 entries: 0, non-decreasing, ending at Rows().
	Offsets []uint32
	// Codes holds Rows() codes of PQ.M bytes, grouped by list.
	Codes []byte
	// NProbe is how many lists a search probes by default (1…Lists()).
	NProbe int
	// Bias, when not nil, holds one term per row added to its score to
	// rank it, as Exact.Bias; the lists probed are still chosen by their
	// centroids alone.
	Bias []float32
}

// Prepare readies the index for Search: it prepares the quantizer
// (quant.PQ.Prepare). DecodeIVFPQ and tools/compact.Train call it; call
// it again after changing PQ.Codebooks.
func (ix *IVFPQ) Prepare() { ix.PQ.Prepare() }

// Lists returns the number of lists.
func (ix *IVFPQ) Lists() int { return len(ix.Offsets) - 1 }

// Rows returns the number of coded rows.
func (ix *IVFPQ) Rows() int {
	if ix.PQ == nil || ix.PQ.M == 0 {
		return 0
	}
	return len(ix.Codes) / ix.PQ.M
}

// Validate reports whether the index is consistent: the quantizer, the
// shapes, the offsets and the default nprobe.
func (ix *IVFPQ) Validate() error {
	if ix.PQ == nil {
		return errors.New("ivfpq: quantizer missing")
	}
	if err := ix.PQ.Validate(); err != nil {
		return fmt.Errorf("ivfpq: %w", err)
	}
	if ix.Centroids == nil {
		return errors.New("ivfpq: centroids missing")
	}
	l, d, m := ix.Lists(), ix.PQ.Dim, ix.PQ.M
	c := ix.Centroids
	switch {
	case l < 1 || l > MaxLists:
		return fmt.Errorf("ivfpq: %d lists, want 1…%d", l, MaxLists)
	case c.Rows != l || c.Dim != d || len(c.Codes) != l*d || len(c.Scales) != l:
		return fmt.Errorf("ivfpq: %d×%d centroids (%d codes, %d scales) for %d lists of dimension %d", c.Rows, c.Dim, len(c.Codes), len(c.Scales), l, d)
	case len(ix.Codes)%m != 0:
		return fmt.Errorf("ivfpq: %d code bytes are not whole %d-byte codes", len(ix.Codes), m)
	case ix.Offsets[0] != 0 || uint64(ix.Offsets[l]) != uint64(len(ix.Codes)/m):
		return fmt.Errorf("ivfpq: lists span rows %d…%d, codes hold %d", ix.Offsets[0], ix.Offsets[l], len(ix.Codes)/m)
	case ix.NProbe < 1 || ix.NProbe > l:
		return fmt.Errorf("ivfpq: default nprobe %d outside 1…%d", ix.NProbe, l)
	}
	for i := 1; i <= l; i++ {
		if ix.Offsets[i] < ix.Offsets[i-1] {
			return fmt.Errorf("ivfpq: offsets decrease at list %d", i-1)
		}
	}
	for _, v := range c.Scales {
		if !(v >= 0) || v > math.MaxFloat32 {
			return errors.New("ivfpq: a centroid scale is negative, NaN or infinite")
		}
	}
	return nil
}

// List returns the list that holds row r: the l with Offsets[l] ≤ r <
// Offsets[l+1] (a binary search).
//
// List panics if r is not a row.
func (ix *IVFPQ) List(r int) int {
	if r < 0 || r >= ix.Rows() {
		panic("ann: row out of range")
	}
	lo, hi := 0, ix.Lists()-1 // Offsets[lo] ≤ r < Offsets[hi+1]
	for lo < hi {
		mid := int(uint(lo+hi+1) >> 1)
		if int(ix.Offsets[mid]) <= r {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// Decode writes row r's reconstruction x̂ᵣ (its list's decoded centroid
// plus its decoded residual) into dst: the vector the search scores, for
// the uses that need an item's embedding in a bundle that keeps no other
// (item-to-item similarity, diversification).
//
// Decode panics if len(dst) != PQ.Dim or r is not a row.
func (ix *IVFPQ) Decode(dst []float32, r int) {
	m := ix.PQ.M
	var buf [64]float32
	res := buf[:]
	if len(dst) > len(buf) {
		res = make([]float32, len(dst))
	}
	res = res[:len(dst)]
	ix.PQ.Decode(res, ix.Codes[r*m:(r+1)*m])
	ix.Centroids.Decode(dst, ix.List(r))
	for j, v := range res {
		dst[j] += v
	}
}

// Search appends to dst up to k rows with the highest approximate inner
// product with q (the reconstruction x̂ above) among the rows of the
// nprobe lists whose centroids score highest against q (nprobe ≤ 0 means
// NProbe; more than Lists() means all), best first with ties by lower
// row, skipping rows for which skip returns true (skip may be nil; it is
// only asked about rows that would enter the top k). When those lists
// hold fewer than k rows that skip keeps, the next lists in centroid
// order are scanned too. s holds the search's memory (nil allocates one).
// Scores are the fixed-point sums of quant.PQTable plus the list's
// centroid score: within PQTable's rounding of the float ADC score.
//
// Search panics if len(q) != PQ.Dim.
func (ix *IVFPQ) Search(dst []Hit, q []float32, k, nprobe int, skip func(int32) bool, s *Scratch) []Hit {
	p := ix.PQ
	if len(q) != p.Dim {
		panic("ann: query dimension mismatch")
	}
	if k <= 0 {
		return dst
	}
	if s == nil {
		s = new(Scratch)
	}
	lists := ix.Lists()
	if nprobe <= 0 {
		nprobe = ix.NProbe
	}
	nprobe = min(max(nprobe, 1), lists)
	p.Table(&s.table, q)
	cs := s.centroidScores(lists)
	s.query.Reset(q)
	ix.Centroids.Scores(cs, &s.query, 0)
	top := s.topK(k)
	if nprobe == lists {
		for l := range lists {
			ix.scanList(&top, s, l, q, skip)
		}
	} else {
		order := s.lists.best(cs, nprobe)
		for _, l := range order {
			ix.scanList(&top, s, int(l), q, skip)
		}
		if top.Len() < k {
			// Too few rows in the probed lists: the rest in centroid
			// order (rare: only for k near the catalog's size).
			for _, l := range s.lists.best(cs, lists)[len(order):] {
				if top.Len() >= k {
					break
				}
				ix.scanList(&top, s, int(l), q, skip)
			}
		}
	}
	start := len(dst)
	dst = top.appendSorted(dst)
	s.keepKeys(&top)
	if ix.Bias != nil {
		// Each hit's own score back, from the table at hand (as Exact's
		// unbias: sum − bias is not exact).
		for i := start; i < len(dst); i++ {
			dst[i].Score = ix.rowScore(&s.table, q, int(dst[i].Item))
		}
	}
	return dst
}

// scanList offers the rows of list l to top, scored by s.table plus the
// list's centroid score.
func (ix *IVFPQ) scanList(top *TopK, s *Scratch, l int, q []float32, skip func(int32) bool) {
	t := &s.table
	m := t.M
	lo, hi := int(ix.Offsets[l]), int(ix.Offsets[l+1])
	if lo == hi {
		return
	}
	off, step := ix.centroidScore(l, q)+t.Offset, t.Step
	for lo < hi {
		n := min(hi-lo, scanChunk)
		sums := s.sums[:n]
		t.Sums(sums, ix.Codes[lo*m:(lo+n)*m])
		var bias []float32
		if ix.Bias != nil {
			bias = ix.Bias[lo : lo+n]
		}
		for i, v := range sums {
			sc := off + float32(step*float32(v)) // each product rounded: no target fuses it
			if bias != nil {
				sc += bias[i]
			}
			if !(sc >= top.thr) {
				continue
			}
			row := int32(lo + i)
			if skip != nil && skip(row) {
				continue
			}
			// top.Push, inlined: a call per hit costs in wazero.
			top.keys = append(top.keys, key(row, sc))
			if len(top.keys) >= 2*top.k && len(top.keys) >= 64 {
				top.reduce()
			}
		}
		lo += n
	}
}

// RowScorer scores single rows against one query as Search scores them
// (the list's centroid score plus the code's table sum): the scores of
// rows other sources propose, on the scale of the retrieved rows'. It
// costs one table (as a search does) and then, per row, a list look-up
// and M table reads, several times less than decoding the row.
type RowScorer struct {
	ix    *IVFPQ
	q     []float32
	table quant.PQTable
}

// Scorer returns a RowScorer of q; it aliases q.
//
// Scorer panics if len(q) != PQ.Dim.
func (ix *IVFPQ) Scorer(q []float32) *RowScorer {
	s := &RowScorer{ix: ix, q: q}
	ix.PQ.Table(&s.table, q)
	return s
}

// Score returns row r's approximate inner product with the query.
//
// Score panics if r is not a row.
func (s *RowScorer) Score(r int) float32 { return s.ix.rowScore(&s.table, s.q, r) }

// rowScore returns row r's score against q, whose table t is: as a search
// scores it.
func (ix *IVFPQ) rowScore(t *quant.PQTable, q []float32, r int) float32 {
	var sum [1]uint32
	m := t.M
	l := ix.List(r)
	t.Sums(sum[:], ix.Codes[r*m:(r+1)*m])
	return ix.centroidScore(l, q) + t.Offset + float32(t.Step*float32(sum[0]))
}

// centroidScore returns ⟨q, cₗ⟩ for the decoded centroid of list l, in
// float32 (the lists' ranking uses the query quantized to int8; a row's
// score uses the query as given, like its table).
func (ix *IVFPQ) centroidScore(l int, q []float32) float32 {
	c := ix.Centroids
	d := c.Dim
	codes := c.Codes[l*d : (l+1)*d]
	if d == 64 {
		qa, ca := (*[64]float32)(q), (*[64]int8)(codes)
		var s0, s1, s2, s3 float32
		for j := 0; j < 64; j += 4 {
			// Each product rounded on its own, so that no target (arm64
			// natively, say) fuses it into a multiply-add and ranks the
			// lists otherwise than the module does.
			s0 += float32(qa[j] * float32(ca[j]))
			s1 += float32(qa[j+1] * float32(ca[j+1]))
			s2 += float32(qa[j+2] * float32(ca[j+2]))
			s3 += float32(qa[j+3] * float32(ca[j+3]))
		}
		return c.Scales[l] * ((s0 + s1) + (s2 + s3))
	}
	var s float32
	for j, v := range codes {
		s += float32(q[j] * float32(v))
	}
	return c.Scales[l] * s
}
