package ann

import (
	"github.com/edgerec/edgerec/core/quant"
)

// BinaryRerank searches in two passes: a full scan of one-bit codes by
// Hamming distance to the query's code (quant.Binary.Hamming: an XOR and
// a popcount per 64 dimensions), then an int8 re-score of the Rerank rows
// nearest in Hamming distance. The codes are the signs of x − μ, μ the
// mean item, so the distance estimates the angle between q and x − μ, and
// ⟨q, x⟩ = ⟨q, μ⟩ + ⟨q, x − μ⟩ ranks like the latter.
//
// It is one of the alternatives measured against IVF (MEASUREMENTS.md,
// "Choosing the index"); it costs one bit per dimension per item and still
// touches every item.
type BinaryRerank struct {
	Items  *quant.Int8
	Codes  *quant.Binary
	Center []float32
	// Rerank is how many rows the second pass re-scores (at least k).
	Rerank int
}

// NewBinaryRerank computes the mean of the items and their sign codes
// around it.
func NewBinaryRerank(items *quant.Int8, rerank int) *BinaryRerank {
	b := &BinaryRerank{Items: items, Codes: quant.NewBinary(items.Rows, items.Dim),
		Center: make([]float32, items.Dim), Rerank: rerank}
	v := make([]float32, items.Dim)
	sum := make([]float64, items.Dim)
	for i := 0; i < items.Rows; i++ {
		items.Decode(v, i)
		for j, x := range v {
			sum[j] += float64(x)
		}
	}
	for j := range sum {
		b.Center[j] = float32(sum[j] / float64(max(items.Rows, 1)))
	}
	for i := 0; i < items.Rows; i++ {
		items.Decode(v, i)
		b.Codes.Set(i, v, b.Center)
	}
	return b
}

// Search returns up to k items, best first by int8 score, among the
// max(Rerank, k) rows nearest the query's sign code in Hamming distance
// (ties by lower row), skipping rows for which skip returns true.
//
// Search panics if len(q) != Items.Dim.
func (b *BinaryRerank) Search(q []float32, k int, skip func(int32) bool) []Hit {
	if len(q) != b.Items.Dim {
		panic("ann: query dimension mismatch")
	}
	top := NewTopK(k)
	if k <= 0 {
		return top.Sorted()
	}
	r := max(b.Rerank, k)
	qc := make([]uint64, b.Codes.Words)
	quant.SignBits(qc, q, nil)
	// Pass 1: histogram of distances, to find the distance t such that
	// the rows at distance < t are fewer than r and those ≤ t are not.
	hist := make([]int, b.Codes.Dim+2)
	var buf [scanChunk]int32
	n := b.Items.Rows
	for lo := 0; lo < n; lo += scanChunk {
		h := buf[:min(scanChunk, n-lo)]
		b.Codes.Hamming(h, qc, lo)
		for _, d := range h {
			hist[d]++
		}
	}
	t, below := 0, 0
	for t < len(hist)-1 && below+hist[t] < r {
		below += hist[t]
		t++
	}
	atT := r - below // rows at distance t to take, lowest rows first
	// Pass 2: re-score the chosen rows with int8.
	qq := quant.NewQuery(q)
	var one [1]float32
	for lo := 0; lo < n; lo += scanChunk {
		h := buf[:min(scanChunk, n-lo)]
		b.Codes.Hamming(h, qc, lo)
		for i, d := range h {
			if int(d) > t || int(d) == t && atT <= 0 {
				continue
			}
			if int(d) == t {
				atT--
			}
			row := lo + i
			b.Items.Scores(one[:], qq, row)
			if skip != nil && skip(int32(row)) {
				continue
			}
			top.Push(int32(row), one[0])
		}
	}
	return top.Sorted()
}
