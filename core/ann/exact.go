// Package ann finds the items whose embeddings score highest against a query
// embedding. Exact scans every item and is the reference every faster index
// is measured against.
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
// may be nil). The query is quantized like the items, so a score is
// qscale·iscale·Σ qcode·icode.
//
// Search panics if len(q) != Items.Dim.
func (e Exact) Search(q []float32, k int, skip func(int32) bool) []Hit {
	m := e.Items
	if len(q) != m.Dim {
		panic("ann: query dimension mismatch")
	}
	qc := make([]int8, m.Dim)
	qs := quant.Encode(qc, q)
	top := NewTopK(k)
	for i := 0; i < m.Rows; i++ {
		row := int32(i)
		if skip != nil && skip(row) {
			continue
		}
		s := qs * m.Scales[i] * float32(quant.DotInt8(qc, m.Codes[i*m.Dim:(i+1)*m.Dim]))
		top.Push(row, s)
	}
	return top.Sorted()
}
