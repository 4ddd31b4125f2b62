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
	if k > 0 {
		var buf [scanChunk]float32
		scan(top, m, quant.NewQuery(q), 0, m.Rows, skip, buf[:])
	}
	return top.Sorted()
}

// scanChunk is how many rows scan scores per kernel call.
const scanChunk = 256

// scan scores rows [lo, hi) of m against q, in chunks of len(buf), and
// offers each to top unless skip says otherwise. skip is only called for a
// row whose score would enter top, so it costs nothing per row scanned.
func scan(top *TopK, m *quant.Int8, q *quant.Query, lo, hi int, skip func(int32) bool, buf []float32) {
	for lo < hi {
		n := min(hi-lo, len(buf))
		s := buf[:n]
		m.Scores(s, q, lo)
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
