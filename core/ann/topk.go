package ann

import (
	"cmp"
	"math"
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
// threshold costs one comparison, one above it an append. For k = 274 of
// 3 000 scanned hits this is about three times cheaper in wazero than a
// binary heap of Hit structs (RATIONALE.md, "Retrieval at scale").
type TopK struct {
	k    int
	keys []uint64
	// thr is the score of the k-th best hit when the buffer was last
	// reduced (−∞ before): a hit scoring less cannot enter.
	thr float32
}

// NewTopK returns an empty TopK keeping k hits (none if k ≤ 0).
func NewTopK(k int) *TopK {
	k = max(k, 0)
	return &TopK{k: k, keys: make([]uint64, 0, min(2*k, 1<<16)), thr: float32(math.Inf(-1))}
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
	return uint64(Monotone(score))<<32 | uint64(^(uint32(item) ^ 1<<31))
}

// hit decodes a key.
func hit(k uint64) Hit {
	return Hit{Item: int32(^uint32(k) ^ 1<<31), Score: math.Float32frombits(unmonotone(uint32(k >> 32)))}
}

// Monotone maps a float32 to a uint32 that orders like it (−0 maps like +0,
// as they compare equal; NaN never gets here).
func Monotone(f float32) uint32 {
	if f == 0 {
		f = 0
	}
	b := math.Float32bits(f)
	if b>>31 != 0 {
		return ^b
	}
	return b | 1<<31
}

// unmonotone inverts monotone.
func unmonotone(u uint32) uint32 {
	if u>>31 != 0 {
		return u &^ (1 << 31)
	}
	return ^u
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
	SelectNth(t.keys, n-t.k)
	t.thr = hit(t.keys[n-t.k]).Score
	t.keys = append(t.keys[:0], t.keys[n-t.k:]...)
}

// SelectNth reorders s so that s[k] is its k-th smallest value (0-based),
// no value before it larger and no value after it smaller, and returns
// s[k]: Hoare's FIND (CACM 1961), a quickselect. With NaNs among floats the
// order is undefined but the loop still ends. It panics unless
// 0 ≤ k < len(s).
func SelectNth[T cmp.Ordered](s []T, k int) T {
	lo, hi := 0, len(s)-1
	for lo < hi {
		p := s[lo+(hi-lo)/2]
		i, j := lo, hi
		for i <= j {
			for s[i] < p {
				i++
			}
			for s[j] > p {
				j--
			}
			if i <= j {
				s[i], s[j] = s[j], s[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return s[k]
		}
	}
	return s[k]
}

// Len returns the number of hits kept, at most k.
func (t *TopK) Len() int { return min(len(t.keys), t.k) }

// Sorted returns the kept hits best first and empties the TopK.
func (t *TopK) Sorted() []Hit {
	t.reduce()
	keys := t.keys
	t.keys, t.thr = nil, float32(math.Inf(-1))
	SortKeys(keys)
	h := make([]Hit, len(keys))
	for i, k := range keys {
		h[len(h)-1-i] = hit(k)
	}
	return h
}

// SortKeys sorts x in increasing order: an introsort (Musser 1997) of
// quicksort partitions (median of three, Hoare's scheme, the smaller side
// first) over insertion sorts of at most 12 keys, with a heapsort once the
// depth passes 2·log₂n, so that no input costs more than O(n·log n).
//
// # Notes
//
// It is the module's one general sort: callers pack what they sort into
// 64-bit keys. For the 174 keys of a pipeline search it takes 6.8 µs in
// wazero against 10.6 µs for slices.Sort (BenchmarkSortKeys), whose
// pattern-defeating bookkeeping costs more there than it saves; and each
// element type or comparison function given to slices.Sort or
// slices.SortFunc adds its own copy of pdqsort to the module, 15–20 kB
// before compression (RATIONALE.md, "Module size").
func SortKeys(x []uint64) {
	depth := 0
	for n := len(x); n > 0; n >>= 1 {
		depth += 2
	}
	introsort(x, depth)
}

func introsort(x []uint64, depth int) {
	for len(x) > 12 {
		if depth == 0 {
			heapsort(x)
			return
		}
		depth--
		m := len(x) / 2
		a, b, c := x[0], x[m], x[len(x)-1]
		if a > b {
			a, b = b, a
		}
		if b > c {
			b = c
			if a > b {
				b = a
			}
		}
		p := b
		i, j := 0, len(x)-1
		for i <= j {
			for x[i] < p {
				i++
			}
			for x[j] > p {
				j--
			}
			if i <= j {
				x[i], x[j] = x[j], x[i]
				i++
				j--
			}
		}
		// Recurse into the smaller side, loop on the larger.
		if j+1 < len(x)-i {
			introsort(x[:j+1], depth)
			x = x[i:]
		} else {
			introsort(x[i:], depth)
			x = x[:j+1]
		}
	}
	for i := 1; i < len(x); i++ {
		v := x[i]
		j := i
		for j > 0 && x[j-1] > v {
			x[j] = x[j-1]
			j--
		}
		x[j] = v
	}
}

// heapsort sorts x in increasing order with a max-heap.
func heapsort(x []uint64) {
	for i := len(x)/2 - 1; i >= 0; i-- {
		siftDown(x, i)
	}
	for n := len(x) - 1; n > 0; n-- {
		x[0], x[n] = x[n], x[0]
		siftDown(x[:n], 0)
	}
}

func siftDown(x []uint64, i int) {
	for {
		c := 2*i + 1
		if c >= len(x) {
			return
		}
		if c+1 < len(x) && x[c+1] > x[c] {
			c++
		}
		if x[i] >= x[c] {
			return
		}
		x[i], x[c] = x[c], x[i]
		i = c
	}
}
