package eval

import (
	"cmp"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// catalog indexes the training part of a split for the matrix baselines:
// item indices 0…n−1 in order of training popularity (most interactions
// first, ties by id), so that a lower index breaks score ties, and the
// binary user × item matrix X as item lists per user and user lists per
// item.
type catalog struct {
	ids      []string
	index    map[string]int32
	count    []int     // training interactions (users) per item
	userRows [][]int32 // each training user's items, sorted
	itemCols [][]int32 // each item's training users (indices into userRows)
}

func newCatalog(s *Split) *catalog {
	count := map[string]int{}
	users := map[string]int32{}
	for _, in := range s.Train.Interactions {
		count[in.Item]++
		if _, ok := users[in.User]; !ok {
			users[in.User] = int32(len(users))
		}
	}
	c := &catalog{ids: make([]string, 0, len(count))}
	for id := range count {
		c.ids = append(c.ids, id)
	}
	slices.SortFunc(c.ids, func(a, b string) int {
		if n := cmp.Compare(count[b], count[a]); n != 0 {
			return n
		}
		return cmp.Compare(a, b)
	})
	c.index = make(map[string]int32, len(c.ids))
	c.count = make([]int, len(c.ids))
	for i, id := range c.ids {
		c.index[id] = int32(i)
		c.count[i] = count[id]
	}
	c.userRows = make([][]int32, len(users))
	c.itemCols = make([][]int32, len(c.ids))
	for _, in := range s.Train.Interactions {
		u, i := users[in.User], c.index[in.Item]
		c.userRows[u] = append(c.userRows[u], i)
		c.itemCols[i] = append(c.itemCols[i], u)
	}
	for _, r := range c.userRows {
		slices.Sort(r)
	}
	return c
}

// scorer fills dst (one score per catalog item, zeroed by the caller) from
// a history of catalog indices.
type scorer func(dst []float64, hist []int32)

// ranker turns a scorer into a Ranker: every training item outside the
// history, by score, ties by popularity. History items not in the catalog
// are ignored.
func (c *catalog) ranker(score scorer) Ranker {
	pool := sync.Pool{New: func() any { return make([]float64, len(c.ids)) }}
	return func(u TestUser, k int) []string {
		hist := make([]int32, 0, len(u.History))
		for _, id := range u.History {
			if i, ok := c.index[id]; ok {
				hist = append(hist, i)
			}
		}
		scores := pool.Get().([]float64)
		clear(scores)
		score(scores, hist)
		for _, i := range hist {
			scores[i] = nan
		}
		top := topK(scores, k)
		pool.Put(scores)
		out := make([]string, len(top))
		for j, i := range top {
			out[j] = c.ids[i]
		}
		return out
	}
}

// nan marks an excluded item in a score vector.
var nan = math.NaN()

// topK returns the indices of the k best scores, best first, ordered by
// score descending, ties by lower index; NaN scores are skipped.
func topK(scores []float64, k int) []int32 {
	if k <= 0 {
		return nil
	}
	// h is a min-heap on (score, −index): its root is the worst kept item.
	h := make([]int32, 0, k)
	worse := func(a, b int32) bool { // a ranks below b
		if scores[a] != scores[b] {
			return scores[a] < scores[b]
		}
		return a > b
	}
	down := func(i int) {
		for {
			l, m := 2*i+1, i
			if l < len(h) && worse(h[l], h[m]) {
				m = l
			}
			if r := l + 1; r < len(h) && worse(h[r], h[m]) {
				m = r
			}
			if m == i {
				return
			}
			h[i], h[m] = h[m], h[i]
			i = m
		}
	}
	for i := range scores {
		s := scores[i]
		if s != s { // NaN: excluded
			continue
		}
		j := int32(i)
		if len(h) < k {
			h = append(h, j)
			for c := len(h) - 1; c > 0; {
				p := (c - 1) / 2
				if !worse(h[c], h[p]) {
					break
				}
				h[c], h[p] = h[p], h[c]
				c = p
			}
			continue
		}
		if worse(h[0], j) {
			h[0] = j
			down(0)
		}
	}
	slices.SortFunc(h, func(a, b int32) int {
		if worse(b, a) {
			return -1
		}
		if worse(a, b) {
			return 1
		}
		return 0
	})
	return h
}

// parallel runs fn(i) for i in [0, n) on workers goroutines (0 means
// GOMAXPROCS), handing out indices in chunks of chunk.
func parallel(n, chunk, workers int, fn func(i int)) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	chunk = max(chunk, 1)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, (n+chunk-1)/chunk) {
		wg.Go(func() {
			for {
				lo := int(next.Add(int64(chunk))) - chunk
				if lo >= n {
					return
				}
				for i := lo; i < min(lo+chunk, n); i++ {
					fn(i)
				}
			}
		})
	}
	wg.Wait()
}
