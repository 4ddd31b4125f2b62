package compact

import (
	"runtime"
	"sync"

	"github.com/edgerec/edgerec/core/ann"
)

// Tune returns the smallest nprobe at which ix's mean recall@k against
// exact float32 search of the vectors x (the rows Train was given, of
// ix.PQ.Dim floats; perm as Train returned it) reaches target on the
// queries, and that recall, both lists leaving out the rows of x in
// exclude[i] for query i (exclude may be nil or shorter: the module
// leaves a user's history out of the answer, which sends the search
// deeper than the top k of the whole catalog). When even every list
// falls short of target, it aims CeilingMargin below the recall of every
// list instead. k ≤ 0 means 100. Recall grows with nprobe (a few
// hundredths of noise aside), so a binary search over 1…Lists() finds it
// with about log₂(Lists()) passes over the queries. It does not change
// ix; set ix.NProbe to the result.
//
// The queries should be the ones the bundle will serve (users' query
// embeddings): a query tower's output can lie far from every item and
// need more lists than items do (core/ann/MEASUREMENTS.md).
func Tune(ix *ann.IVFPQ, perm []int32, x []float32, queries [][]float32, exclude [][]int32, k int, target float64) (nprobe int, recall float64) {
	if k <= 0 {
		k = 100
	}
	dim := ix.PQ.Dim
	if len(queries) == 0 || len(x) < dim {
		return ix.NProbe, 0
	}
	k = min(k, len(x)/dim)
	want := make([]map[int32]bool, len(queries))
	skip := make([]map[int32]bool, len(queries))
	for i := range min(len(exclude), len(queries)) {
		skip[i] = map[int32]bool{}
		for _, r := range exclude[i] {
			skip[i][r] = true
		}
	}
	parallel(len(queries), runtime.GOMAXPROCS(0), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			want[i] = map[int32]bool{}
			for _, r := range exactTop(x, dim, queries[i], k, skip[i]) {
				want[i][r] = true
			}
		}
	})
	at := func(np int) float64 {
		var mu sync.Mutex
		var sum float64
		parallel(len(queries), runtime.GOMAXPROCS(0), func(lo, hi int) {
			var s ann.Scratch
			var hits []ann.Hit
			var part float64
			for i := lo; i < hi; i++ {
				var sk func(int32) bool
				if m := skip[i]; m != nil {
					sk = func(r int32) bool { return m[perm[r]] }
				}
				hits = ix.Search(hits[:0], queries[i], k, np, sk, &s)
				n := 0
				for _, h := range hits {
					if want[i][perm[h.Item]] {
						n++
					}
				}
				part += float64(n) / float64(k)
			}
			mu.Lock()
			sum += part
			mu.Unlock()
		})
		return sum / float64(len(queries))
	}
	lo, hi := 1, ix.Lists()
	rHi := at(hi)
	if rHi < target {
		// The codes cannot reach target even probing every list: aim
		// just below that ceiling rather than scan the whole catalog for
		// the last hundredth.
		target = rHi - CeilingMargin
	}
	for lo < hi {
		mid := (lo + hi) / 2
		if r := at(mid); r >= target {
			hi, rHi = mid, r
		} else {
			lo = mid + 1
		}
	}
	return hi, rHi
}

// CeilingMargin is how far below the recall of probing every list Tune
// aims when its target is out of reach: probing every list costs a scan
// of the whole catalog (a million codes: tens of milliseconds in the
// module) for the last hundredth of recall.
const CeilingMargin = 0.01

// exactTop returns the rows of the k highest inner products of q with
// the rows of x not in skip, by a float32 scan.
func exactTop(x []float32, dim int, q []float32, k int, skip map[int32]bool) []int32 {
	top := ann.NewTopK(k)
	for i := 0; i < len(x)/dim; i++ {
		if skip[int32(i)] {
			continue
		}
		var s float32
		for j, v := range x[i*dim : (i+1)*dim] {
			s += v * q[j]
		}
		top.Push(int32(i), s)
	}
	hs := top.Sorted()
	out := make([]int32, len(hs))
	for i, h := range hs {
		out[i] = h.Item
	}
	return out
}
