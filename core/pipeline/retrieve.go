package pipeline

import (
	"slices"
	"sync"

	"github.com/edgerec/edgerec/core/ann"
	"github.com/edgerec/edgerec/core/bundle"
)

// Retrieve returns the n items scoring highest against the query embedding,
// best first, excluding the history and the seed: by score alone, what the
// index returns without the bundle's popularity prior.
func (r *Recommender) Retrieve(q *Query, emb []float32, n int) []Candidate {
	hits := r.retrieve(q, emb, n, false)
	out := make([]Candidate, len(hits))
	for i, h := range hits {
		out[i] = Candidate{Row: h.Item, Score: h.Score}
	}
	return out
}

// retrieve is Retrieve as hits, what the two-tower source takes (a
// Candidate is 80 bytes with a pointer, and building two slices of them
// per request cost more in wazero than the filter itself), ranked with the
// popularity prior when prior is set and the bundle has one: every
// searcher then ranks by score + bias[row] as it scans, and each hit
// keeps its own score.
func (r *Recommender) retrieve(q *Query, emb []float32, n int, prior bool) []ann.Hit {
	var bias []float32
	if prior {
		bias = r.bias
	}
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
		ix := *c // the bundle's index, with this request's bias
		ix.Bias = bias
		sc := searchScratch.Get().(*ann.Scratch)
		hits = ix.Search(nil, emb, m, r.b.CodesNProbe(q.NProbe, m), nil, sc)
		searchScratch.Put(sc)
	} else if x := r.b.Index; x != nil && m < r.b.Manifest.Items/8 {
		ix := x.IVF(r.b.Embeddings)
		ix.Bias = bias
		sc := searchScratch.Get().(*ann.Scratch)
		hits = ix.Search(nil, emb, m, x.NProbeFor(q.NProbe), nil, sc)
		searchScratch.Put(sc)
	} else {
		hits = ann.Exact{Items: r.b.Embeddings, Bias: bias}.Search(emb, m, nil)
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

// searchScratch holds an index search's memory between requests (the
// quantized query, its table, the list scores and choice, the top k's
// keys), which would otherwise be garbage each time.
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
// Model.PopPrior), "highest" is by score + prior·popularity, which the
// index ranks by as it scans (Recommender.bias).
func (r *Recommender) search(q *Query, emb []float32, n int, f *filter) []ann.Hit {
	for m := firstFetch(n); ; m = min(4*m, MaxFetch) {
		hits := r.retrieve(q, emb, m, true)
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

// firstFetch is how many hits search first fetches for n: the filter
// drops some.
func firstFetch(n int) int { return min(n+64, MaxFetch) }

// setPrior sets the two-tower source's popularity prior p: each row's
// term p·priorPops()[row], rounded on its own (float32) so that no target
// fuses it into a multiply-add and the module and native code order
// alike. It costs 4 bytes an item, and only with a prior.
func (r *Recommender) setPrior(p float32) {
	r.bias = nil
	if p == 0 {
		return
	}
	r.bias = r.priorPops()
	for row, pop := range r.bias {
		r.bias[row] = float32(p * pop)
	}
}

// priorPops returns the popularity the prior reads for each row: the
// items' column, ln(1 + training interactions), and for an item the model
// never saw — a cold item, whose count is unknown, not zero — the mean
// over the items it saw, so that the prior neither buries new items nor
// favours them.
func (r *Recommender) priorPops() []float32 {
	it := &r.b.Items
	cold := meanKnownPopularity(it)
	pops := make([]float32, it.Len())
	for row := range pops {
		pops[row] = cold
		if it.Known[row] {
			pops[row] = it.Popularity[row]
		}
	}
	return pops
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
	sc := r.scorer(emb)
	top := ann.NewTopK(n)
	for _, row := range rows {
		if f.spent() {
			break
		}
		if f.keepAllowed(row) {
			s := sc.score(int(row))
			if r.bias != nil {
				s += r.bias[row] // as the index adds it
			}
			top.Push(row, s)
		}
	}
	hits := top.Sorted()
	if r.bias != nil {
		// Each keeps its score, as search's hits do.
		for i := range hits {
			hits[i].Score = sc.score(int(hits[i].Item))
		}
	}
	return hits
}
