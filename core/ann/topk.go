package ann

import (
	"math"

	"github.com/edgerec/edgerec/core/sortkey"
)

// TopK keeps the k best hits seen so far: higher score, then lower row, is
// better.
//
// # Notes
//
// A hit is kept as one 64-bit key, the score's bits made monotone above
// the row's inverted, so that comparing two hits is one integer comparison
// (float comparisons and calls are what cost most in wazero). Hits that
// may belong to the top k are appended to a buffer of 2k keys; when it
// fills, a quickselect (Hoare's FIND, CACM 1961) keeps the k best and
// raises the admission threshold to the k-th best score. A hit below the
// threshold costs one comparison, one above it an append. In wazero this
// is several times cheaper than a binary heap of Hit structs
// (core/ann/MEASUREMENTS.md).
type TopK struct {
	k    int
	keys []uint64
	// thr is the score of the k-th best hit when the buffer was last
	// reduced (−∞ before): a hit scoring less cannot enter.
	thr float32
}

// NewTopK returns an empty TopK keeping k hits (none if k ≤ 0).
func NewTopK(k int) *TopK {
	t := newTopK(k, make([]uint64, 0, min(2*max(k, 0), 1<<16)))
	return &t
}

// newTopK returns an empty TopK keeping k hits in the buffer keys (empty,
// grown by append as hits enter).
func newTopK(k int, keys []uint64) TopK {
	return TopK{k: max(k, 0), keys: keys[:0], thr: float32(math.Inf(-1))}
}

// worse orders hits: lower score, then higher row, is worse.
func worse(a, b Hit) bool {
	if a.Score != b.Score {
		return a.Score < b.Score
	}
	return a.Item > b.Item
}

// key encodes a hit so that a better hit has a larger key.
func key(item int32, score float32) uint64 {
	return uint64(sortkey.Monotone(score))<<32 | uint64(^(uint32(item) ^ 1<<31))
}

// hit decodes a key.
func hit(k uint64) Hit {
	return Hit{Item: int32(^uint32(k) ^ 1<<31), Score: math.Float32frombits(sortkey.Float(uint32(k >> 32)))}
}

// Push offers a hit. A NaN score never enters.
func (t *TopK) Push(item int32, score float32) {
	if t.k == 0 || !(score >= t.thr) {
		return
	}
	t.keys = append(t.keys, key(item, score))
	if len(t.keys) >= 2*t.k && len(t.keys) >= 64 {
		t.reduce()
	}
}

// reduce keeps the k best keys of the buffer and sets the threshold to the
// k-th best score.
func (t *TopK) reduce() {
	n := len(t.keys)
	if n <= t.k {
		return
	}
	// The k largest keys end the buffer, the smallest of them first.
	sortkey.SelectNth(t.keys, n-t.k)
	t.thr = hit(t.keys[n-t.k]).Score
	t.keys = append(t.keys[:0], t.keys[n-t.k:]...)
}

// Len returns the number of hits kept, at most k.
func (t *TopK) Len() int { return min(len(t.keys), t.k) }

// Sorted returns the kept hits best first and empties the TopK.
func (t *TopK) Sorted() []Hit {
	h := t.appendSorted(make([]Hit, 0, t.Len()))
	t.keys = nil
	return h
}

// appendSorted appends the kept hits to dst best first and empties the
// TopK, keeping its buffer.
func (t *TopK) appendSorted(dst []Hit) []Hit {
	t.reduce()
	keys := t.keys
	sortkey.Sort(keys)
	for i := len(keys) - 1; i >= 0; i-- {
		dst = append(dst, hit(keys[i]))
	}
	t.keys, t.thr = keys[:0], float32(math.Inf(-1))
	return dst
}
