package ann

import "github.com/edgerec/edgerec/core/quant"

// Scratch is the memory of one search at a time, for IVF and IVFPQ: the
// quantized query (and for IVFPQ its table), the centroid scores, the
// choice of lists, a chunk's scores and the kept hits. Reusing one across
// searches makes a search allocate nothing but the hits it appends, once
// the buffers have grown to the index and k. The zero value is ready; a
// Scratch must not be used by two searches at once.
//
// # Notes
//
// In the module a search's few kilobytes of garbage cost more than they
// do natively: Go's allocator and collector run as WebAssembly, and the
// instance's memory grows to the collector's peak and never shrinks.
type Scratch struct {
	query  quant.Query
	table  quant.PQTable // IVFPQ
	cs     []float32
	lists  listScratch
	scores [scanChunk]float32 // IVF
	sums   [scanChunk]uint32  // IVFPQ
	keys   []uint64
}

// centroidScores returns a buffer for the scores of n centroids.
func (s *Scratch) centroidScores(n int) []float32 {
	if cap(s.cs) < n {
		s.cs = make([]float32, n)
	}
	return s.cs[:n]
}

// topK returns an empty TopK of k hits over the Scratch's key buffer;
// keepKeys takes the buffer back when the search is done.
func (s *Scratch) topK(k int) TopK { return newTopK(k, s.keys[:0]) }

// keepKeys keeps the buffer of t's keys for the next search.
func (s *Scratch) keepKeys(t *TopK) { s.keys = t.keys[:0] }
