// Package ann finds the items whose embeddings score highest against a query
// embedding. Exact scans every item and is the reference every faster index
// is measured against; IVF, an inverted file over k-means lists, scans the
// few lists nearest the query. Both score with the int8 word kernel of
// quant.Int8.Scores. RATIONALE.md ("Retrieval at scale") says why;
// MEASUREMENTS.md beside this file holds the measurements.
package ann

import (
	"github.com/edgerec/edgerec/core/quant"
)

// Hit is one search result.
type Hit struct {
	Item  int32   // row in the embedding matrix
	Score float32 // approximate inner product with the query
}

// Exact searches int8 item embeddings by a full scan.
type Exact struct {
	Items *quant.Int8
	// Bias, when not nil, holds one term per row (len Items.Rows) added
	// to the row's score to rank it: a search returns the rows best by
	// score + Bias[row], in that order, each hit with its own score.
	Bias []float32
}

// Search returns up to k items with the highest inner product with q, best
// first (ties by lower row), skipping rows for which skip returns true (skip
// may be nil; it is only asked about rows that would enter the top k). The
// query is quantized like the items, so a score is
// qscale·iscale·Σ qcode·icode (quant.Int8.Scores).
//
// Search panics if len(q) != Items.Dim.
func (e Exact) Search(q []float32, k int, skip func(int32) bool) []Hit {
	m := e.Items
	if len(q) != m.Dim {
		panic("ann: query dimension mismatch")
	}
	top := NewTopK(k)
	if k <= 0 {
		return top.Sorted()
	}
	var buf [scanChunk]float32
	qq := quant.NewQuery(q)
	scan(top, m, qq, 0, m.Rows, skip, e.Bias, buf[:])
	return unbias(top.Sorted(), m, qq, e.Bias)
}

// unbias gives each hit its own score back when a bias ranked them: the
// row scored again, one kernel call per hit, so that the score is
// exactly what a search without the bias gives (sum − bias is not, by a
// rounding).
func unbias(hits []Hit, m *quant.Int8, q *quant.Query, bias []float32) []Hit {
	if bias == nil {
		return hits
	}
	var one [1]float32
	for i := range hits {
		m.Scores(one[:], q, int(hits[i].Item))
		hits[i].Score = one[0]
	}
	return hits
}

// scanChunk is how many rows scan scores per kernel call.
const scanChunk = 256

// scan scores rows [lo, hi) of m against q, in chunks of len(buf), adds
// bias[row] when bias is not nil, and offers each to top unless skip says
// otherwise. skip is only called for a row whose score would enter top,
// so it costs nothing per row scanned.
func scan(top *TopK, m *quant.Int8, q *quant.Query, lo, hi int, skip func(int32) bool, bias, buf []float32) {
	for lo < hi {
		n := min(hi-lo, len(buf))
		s := buf[:n]
		m.Scores(s, q, lo)
		if bias != nil {
			addBias(s, bias[lo:lo+n])
		}
		for i, v := range s {
			if !(v >= top.thr) || top.k == 0 {
				continue
			}
			row := int32(lo + i)
			if skip != nil && skip(row) {
				continue
			}
			// top.Push, inlined: a call per hit costs in wazero.
			top.keys = append(top.keys, key(row, v))
			if len(top.keys) >= 2*top.k && len(top.keys) >= 64 {
				top.reduce()
			}
		}
		lo += n
	}
}

// addBias adds b to s element by element, each sum rounded to float32
// (len(b) ≥ len(s)).
func addBias(s, b []float32) {
	b = b[:len(s)]
	for i := range s {
		s[i] += b[i]
	}
}
