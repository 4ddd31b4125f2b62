package ann

import "sort"

// TopK keeps the k best hits seen so far in a min-heap: the root is the worst
// kept hit, so a new hit costs one comparison unless it enters.
type TopK struct {
	k    int
	heap []Hit
}

// NewTopK returns an empty TopK keeping k hits (none if k ≤ 0).
func NewTopK(k int) *TopK {
	return &TopK{k: max(k, 0), heap: make([]Hit, 0, max(k, 0))}
}

// worse orders hits: lower score, then higher row, is worse.
func worse(a, b Hit) bool {
	if a.Score != b.Score {
		return a.Score < b.Score
	}
	return a.Item > b.Item
}

// Push offers a hit.
func (t *TopK) Push(item int32, score float32) {
	h := Hit{Item: item, Score: score}
	if len(t.heap) < t.k {
		t.heap = append(t.heap, h)
		t.up(len(t.heap) - 1)
		return
	}
	if t.k == 0 || !worse(t.heap[0], h) {
		return
	}
	t.heap[0] = h
	t.down(0)
}

func (t *TopK) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !worse(t.heap[i], t.heap[p]) {
			return
		}
		t.heap[i], t.heap[p] = t.heap[p], t.heap[i]
		i = p
	}
}

func (t *TopK) down(i int) {
	n := len(t.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && worse(t.heap[r], t.heap[l]) {
			m = r
		}
		if !worse(t.heap[m], t.heap[i]) {
			return
		}
		t.heap[i], t.heap[m] = t.heap[m], t.heap[i]
		i = m
	}
}

// Sorted returns the kept hits best first and empties the TopK.
func (t *TopK) Sorted() []Hit {
	h := t.heap
	t.heap = nil
	sort.Slice(h, func(i, j int) bool { return worse(h[j], h[i]) })
	return h
}
