package pipeline

import (
	"slices"
	"sync"

	"github.com/edgerec/edgerec/core/ann"
	"github.com/edgerec/edgerec/core/bundle"
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
// request's work budget is spent. With a popularity prior (the bundle's
// Model.PopPrior), "highest" is by score + prior·popularity, among
// priorFetch times as many hits by score alone.
func (r *Recommender) search(q *Query, emb []float32, n int, f *filter) []ann.Hit {
	prior := r.b.Manifest.Model.PopPrior
	for m := firstFetch(n); ; m = min(4*m, MaxFetch) {
		fetch := m
		if prior != 0 {
			fetch = priorPool(m)
		}
		hits := r.retrieve(q, emb, fetch)
		found := len(hits)
		if prior != 0 {
			r.withPrior(hits, prior)
		}
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
		if found < fetch || fetch == MaxFetch {
			return out
		}
	}
}

// firstFetch is how many hits search first fetches for n: the filter
// drops some.
func firstFetch(n int) int { return min(n+64, MaxFetch) }

// priorFetch is how many times the hits it needs the two-tower source
// fetches by score when a popularity prior reorders them: the prior can
// lift an item only from among the hits the search returns.
const priorFetch = 4

// priorPool is how many hits, best by score, search reorders by the
// prior when it needs m.
func priorPool(m int) int { return min(priorFetch*m, MaxFetch) }

// PriorPool returns how many hits, best by score alone, the two-tower
// source first reorders by its popularity prior for a request of n
// items: what a trainer choosing the prior must reorder to choose it for
// what serving does.
func PriorPool(n int) int { return priorPool(firstFetch(n)) }

// withPrior reorders hits by score + prior·priorPop, best first, ties by
// lower row; each hit keeps its score, which the ranker reads as the
// query similarity.
func (r *Recommender) withPrior(hits []ann.Hit, prior float32) {
	// The product rounded on its own (float32), so that no target fuses
	// it into a multiply-add and the module and native code order alike.
	order := byScore(len(hits), func(i int) float32 { return hits[i].Score + float32(prior*r.priorPop(hits[i].Item)) },
		func(i int) int32 { return hits[i].Item })
	permute(hits, order)
}

// priorPop is the popularity the prior reads for row: the items' column,
// ln(1 + training interactions), and for an item the model never saw —
// a cold item, whose count is unknown, not zero — the mean over the items
// it saw, so that the prior neither buries new items nor favours them.
func (r *Recommender) priorPop(row int32) float32 {
	if !r.b.Items.Known[row] {
		return r.coldPop
	}
	return r.b.Items.Popularity[row]
}

// meanKnownPopularity returns the mean popularity of the items the model
// saw (0 when it saw none).
func meanKnownPopularity(it *bundle.Items) float32 {
	var sum float64
	n := 0
	for i, p := range it.Popularity {
		if it.Known[i] {
			sum += float64(p)
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return float32(sum / float64(n))
}

// scoreRows returns the n rows among rows (an allow-list) scoring highest
// against the query embedding, among those the filter f keeps, best first
// with ties by lower row: the order and the scores of an exact search
// restricted to rows.
func (r *Recommender) scoreRows(emb []float32, rows []int32, n int, f *filter) []ann.Hit {
	prior := r.b.Manifest.Model.PopPrior
	sc := r.scorer(emb)
	top := ann.NewTopK(n)
	for _, row := range rows {
		if f.spent() {
			break
		}
		if f.keepAllowed(row) {
			s := sc.score(int(row))
			if prior != 0 {
				s += float32(prior * r.priorPop(row)) // rounded alone, as in withPrior
			}
			top.Push(row, s)
		}
	}
	hits := top.Sorted()
	if prior != 0 {
		// Each keeps its score, as search's hits do.
		for i := range hits {
			hits[i].Score = sc.score(int(hits[i].Item))
		}
	}
	return hits
}
