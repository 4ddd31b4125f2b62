package pipeline

import (
	"slices"
	"sync"

	"github.com/edgerec/edgerec/core/ann"
)

// Retrieve returns the n items scoring highest against the query embedding,
// best first, excluding the history and the seed.
func (r *Recommender) Retrieve(q *Query, emb []float32, n int) []Candidate {
	hits := r.retrieve(q, emb, n)
	out := make([]Candidate, len(hits))
	for i, h := range hits {
		out[i] = Candidate{Row: h.Item, Score: h.Score}
	}
	return out
}

// retrieve is Retrieve as hits, what the two-tower source takes: a
// Candidate is 80 bytes with a pointer, and building two slices of them
// per request cost more in wazero than the filter itself.
func (r *Recommender) retrieve(q *Query, emb []float32, n int) []ann.Hit {
	// Fetch len(excl) more and drop the excluded rows afterwards: the top n
	// of the rest, with no test per row scanned.
	excl := q.Exclude
	if len(excl) > 16 {
		excl = make([]int32, len(q.Exclude))
		copy(excl, q.Exclude)
		sortRows(excl)
	}
	m := n
	if n > 0 {
		m += len(excl)
	}
	var hits []ann.Hit
	// With the bundle's index (section INDX), probe its default number of
	// lists; a request for an eighth of the catalog or more scans it all,
	// which then costs about the same and is exact.
	if c := r.b.Codes; c != nil {
		sc := searchScratch.Get().(*ann.Scratch)
		hits = c.Search(nil, emb, m, r.b.CodesNProbe(q.NProbe, m), nil, sc)
		searchScratch.Put(sc)
	} else if x := r.b.Index; x != nil && m < r.b.Manifest.Items/8 {
		hits = x.IVF(r.b.Embeddings).Search(emb, m, x.NProbeFor(q.NProbe), nil)
	} else {
		hits = ann.Exact{Items: r.b.Embeddings}.Search(emb, m, nil)
	}
	// A 256-bit mask of the excluded rows' low bits answers most hits
	// without looking at the list: in wazero a compare loop per hit cost a
	// noticeable share of the search (core/pipeline/MEASUREMENTS.md).
	var mask [4]uint64
	for _, e := range excl {
		mask[e>>6&3] |= 1 << (e & 63)
	}
	out := hits[:0]
	for _, h := range hits {
		if len(out) == n {
			break
		}
		if mask[h.Item>>6&3]&(1<<(h.Item&63)) != 0 && excluded(excl, h.Item) {
			continue
		}
		out = append(out, h)
	}
	return out
}

// searchScratch holds the compact search's memory between requests (its
// query table and list scores), which would otherwise be garbage each
// time.
var searchScratch = sync.Pool{New: func() any { return new(ann.Scratch) }}

// excluded reports whether row is in excl, which is sorted when it has
// more than 16 entries.
func excluded(excl []int32, row int32) bool {
	if len(excl) > 16 {
		_, found := slices.BinarySearch(excl, row)
		return found
	}
	return slices.Contains(excl, row)
}

// search returns the n items scoring highest against the query embedding
// among those the filter f keeps, best first: retrieve over-fetches, the
// filter drops, and when too few survive it fetches four times as many,
// until the catalog is exhausted, MaxFetch hits were fetched, or the
// request's work budget is spent.
func (r *Recommender) search(q *Query, emb []float32, n int, f *filter) []ann.Hit {
	for m := min(n+64, MaxFetch); ; m = min(4*m, MaxFetch) {
		hits := r.retrieve(q, emb, m)
		found := len(hits)
		out := hits[:0]
		for _, h := range hits {
			if f.spent() {
				return out
			}
			if f.keep(h.Item) {
				out = append(out, h)
				if len(out) == n {
					return out
				}
			}
		}
		if found < m || m == MaxFetch {
			return out
		}
	}
}

// scoreRows returns the n rows among rows (an allow-list) scoring highest
// against the query embedding, among those the filter f keeps, best first
// with ties by lower row: the order and the scores of an exact search
// restricted to rows.
func (r *Recommender) scoreRows(emb []float32, rows []int32, n int, f *filter) []ann.Hit {
	sc := r.scorer(emb)
	top := ann.NewTopK(n)
	for _, row := range rows {
		if f.spent() {
			break
		}
		if f.keepAllowed(row) {
			top.Push(row, sc.score(int(row)))
		}
	}
	return top.Sorted()
}
