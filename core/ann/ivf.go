package ann

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sort"

	"github.com/edgerec/edgerec/core/quant"
	"github.com/edgerec/edgerec/core/sortkey"
	"github.com/edgerec/edgerec/core/vec"
)

// IVF is an inverted-file index (Sivic & Zisserman, "Video Google", ICCV
// 2003; for vector search Jégou, Douze & Schmid, "Product Quantization for
// Nearest Neighbor Search", IEEE TPAMI 2011, §IV): k-means partitions the
// items into lists, each with a centroid; a query ranks the centroids by
// inner product, scans the items of the nprobe best lists with the int8
// kernel, and keeps the top k by their int8 score. With nprobe = Lists()
// it returns exactly what Exact does.
//
// The items are not copied: the rows of Items are grouped by list, list l
// being rows Offsets[l] … Offsets[l+1]−1, so that a list is one contiguous
// run of the embedding matrix (the bundle builder orders a bundle's rows
// this way; TrainIVF gives the permutation).
type IVF struct {
	// Items holds the item embeddings, grouped by list.
	Items *quant.Int8
	// Centroids holds one int8-coded unit centroid per list.
	Centroids *quant.Int8
	// Offsets has Lists()+1 entries: 0, non-decreasing, ending at
	// Items.Rows.
	Offsets []uint32
	// NProbe is how many lists a search probes by default (1…Lists()).
	NProbe int
	// Bias, when not nil, holds one term per row added to its score to
	// rank it, as Exact.Bias; the lists probed are still chosen by their
	// centroids alone.
	Bias []float32
}

// MaxLists bounds the number of lists of an IVF.
const MaxLists = 1 << 20

// Lists returns the number of lists.
func (ix *IVF) Lists() int { return len(ix.Offsets) - 1 }

// Validate reports whether the index is consistent: shapes, offsets and the
// default nprobe.
func (ix *IVF) Validate() error {
	if ix.Items == nil || ix.Centroids == nil {
		return errors.New("ivf: items or centroids missing")
	}
	l := ix.Lists()
	switch {
	case l < 1 || l > MaxLists:
		return fmt.Errorf("ivf: %d lists, want 1…%d", l, MaxLists)
	case ix.Centroids.Rows != l || ix.Centroids.Dim != ix.Items.Dim:
		return fmt.Errorf("ivf: %d×%d centroids for %d lists of %d-dim items", ix.Centroids.Rows, ix.Centroids.Dim, l, ix.Items.Dim)
	case ix.Offsets[0] != 0 || int(ix.Offsets[l]) != ix.Items.Rows:
		return fmt.Errorf("ivf: lists span rows %d…%d, items hold %d", ix.Offsets[0], ix.Offsets[l], ix.Items.Rows)
	case ix.NProbe < 1 || ix.NProbe > l:
		return fmt.Errorf("ivf: default nprobe %d outside 1…%d", ix.NProbe, l)
	}
	for i := 1; i <= l; i++ {
		if ix.Offsets[i] < ix.Offsets[i-1] {
			return fmt.Errorf("ivf: offsets decrease at list %d", i-1)
		}
	}
	return nil
}

// Search appends to dst up to k items with the highest inner product with
// q among the items of the nprobe lists whose centroids score highest
// against q (nprobe ≤ 0 means NProbe; more than Lists() means all), best
// first with ties by lower row, skipping rows for which skip returns true
// (skip may be nil; it is only asked about rows that would enter the top
// k). When those lists hold fewer than k items that skip keeps, the next
// lists in centroid order are scanned too, so Search returns min(k, items
// kept) hits. Scores are those of Exact. s holds the search's memory (nil
// allocates one).
//
// Search costs Lists() + (items scanned) int8 inner products, the choice
// of the nprobe best lists (listScratch.best) and a TopK of k items.
//
// Search panics if len(q) != Items.Dim.
func (ix *IVF) Search(dst []Hit, q []float32, k, nprobe int, skip func(int32) bool, s *Scratch) []Hit {
	m := ix.Items
	if len(q) != m.Dim {
		panic("ann: query dimension mismatch")
	}
	if k <= 0 {
		return dst
	}
	if s == nil {
		s = new(Scratch)
	}
	lists := ix.Lists()
	if nprobe <= 0 {
		nprobe = ix.NProbe
	}
	nprobe = min(max(nprobe, 1), lists)
	qq := &s.query
	qq.Reset(q)
	cs := s.centroidScores(lists)
	ix.Centroids.Scores(cs, qq, 0)
	top := s.topK(k)
	if nprobe == lists {
		scan(&top, m, qq, 0, m.Rows, skip, ix.Bias, s.scores[:])
	} else {
		order := s.lists.best(cs, nprobe)
		for _, l := range order {
			scan(&top, m, qq, int(ix.Offsets[l]), int(ix.Offsets[l+1]), skip, ix.Bias, s.scores[:])
		}
		if top.Len() < k {
			// Too few items in the probed lists: continue in centroid
			// order.
			for _, l := range s.lists.best(cs, lists)[len(order):] {
				if top.Len() >= k {
					break
				}
				scan(&top, m, qq, int(ix.Offsets[l]), int(ix.Offsets[l+1]), skip, ix.Bias, s.scores[:])
			}
		}
	}
	start := len(dst)
	dst = top.appendSorted(dst)
	s.keepKeys(&top)
	unbias(dst[start:], m, qq, ix.Bias)
	return dst
}

// listScratch is the memory of the choice of lists (best), kept in a
// Scratch between searches.
type listScratch struct {
	maxes []float32
	keys  []uint64
	order []int32
}

// best returns the indices of the n highest scores, best first (ties by
// lower index), in s's memory: the result aliases it, valid until the
// next call.
//
// # Notes
//
// The n-th largest of the maxima of blocks of 8 scores is a lower bound of
// the n-th largest score (n blocks each hold a score at least that high),
// and few scores pass it (for normal scores, hardly more than n). So one
// pass takes the block maxima, a quickselect over them gives the bound, a
// second pass keeps the scores above it as TopK's 64-bit keys, and a
// quickselect and a sort of those few give the answer. In wazero this
// beats keeping the best so far in a sorted array (a binary search and a
// copy per score that enters, about n·ln(len/n) times): BenchmarkBestLists.
func (s *listScratch) best(scores []float32, n int) []int32 {
	n = min(n, len(scores))
	if n <= 0 {
		return nil
	}
	const block = 8
	thr := float32(math.Inf(-1))
	if nb := len(scores) / block; nb >= 2*n {
		if cap(s.maxes) < nb {
			s.maxes = make([]float32, nb)
		}
		maxes := s.maxes[:nb]
		for b := range maxes {
			t := (*[block]float32)(scores[b*block:])
			// Comparisons, not max: a float max is a call in wazero.
			m := t[0]
			if t[1] > m {
				m = t[1]
			}
			if t[2] > m {
				m = t[2]
			}
			if t[3] > m {
				m = t[3]
			}
			if t[4] > m {
				m = t[4]
			}
			if t[5] > m {
				m = t[5]
			}
			if t[6] > m {
				m = t[6]
			}
			if t[7] > m {
				m = t[7]
			}
			maxes[b] = m
		}
		thr = sortkey.SelectNth(maxes, nb-n) // the n-th largest
	}
	keys := s.keys[:0]
	for l, v := range scores {
		if v >= thr {
			keys = append(keys, key(int32(l), v))
		}
	}
	if len(keys) < n {
		// Only NaN scores get here (they pass no comparison): keep every
		// other score.
		keys = keys[:0]
		for l, v := range scores {
			if v == v {
				keys = append(keys, key(int32(l), v))
			}
		}
	}
	s.keys = keys[:0]
	if len(keys) > n {
		sortkey.SelectNth(keys, len(keys)-n)
		keys = keys[len(keys)-n:]
	}
	sortkey.Sort(keys)
	if cap(s.order) < len(keys) {
		s.order = make([]int32, len(keys))
	}
	out := s.order[:len(keys)]
	for i, k := range keys {
		out[len(out)-1-i] = hit(k).Item
	}
	return out
}

// IVFOptions configure TrainIVF. The zero value is usable.
type IVFOptions struct {
	// Lists is the number of lists; 0 means DefaultLists(rows).
	Lists int
	// Sample is how many rows k-means clusters; 0 means
	// SamplePerList·Lists (all rows when fewer).
	Sample int
	// KMeans configures the clustering (its Seed also picks the sample).
	KMeans KMeansOptions
	// Progress, if not nil, is called with a stage name ("kmeans",
	// "assign") and the work done and total in that stage.
	Progress func(stage string, done, total int)
}

// SamplePerList is the default number of k-means training rows per list:
// the clustering quality stops improving well before it (FAISS warns below
// 39 points per centroid).
const SamplePerList = 40

// DefaultLists returns the number of lists for n items, ⌈2·√n⌉. The usual
// rule of thumb is 4√n to 16√n, for float vectors whose centroids cost
// little beside the rows; here a centroid costs what a row costs (the same
// int8 kernel). In `edgerec bench` at 100k items 2√n lists retrieved
// faster than 4√n at the same recall; at 1M the two were close
// (core/ann/MEASUREMENTS.md, "Choosing the index").
func DefaultLists(n int) int {
	return min(max(int(math.Ceil(2*math.Sqrt(float64(n)))), 1), MaxLists)
}

// Partition is a trained inverted file before the items are reordered:
// new row r is old row Perm[r], and new rows Offsets[l] … Offsets[l+1]−1
// form list l (old rows in increasing order within a list).
type Partition struct {
	Centroids *quant.Int8
	Perm      []int32
	Offsets   []uint32
}

// TrainIVF partitions the rows of items into lists: spherical k-means
// (KMeans) on a random sample of rows (decoded from int8 and normalized),
// then every row to the list whose centroid scores highest
// (Clusters.Assign). It keeps only the sample in float32, so its memory
// beyond items is 4·Dim bytes per sampled row plus 8 bytes per row.
//
// It returns an error for an empty or zero-dimensional matrix.
func TrainIVF(items *quant.Int8, opts IVFOptions) (*Partition, error) {
	n, dim := items.Rows, items.Dim
	if n == 0 || dim <= 0 {
		return nil, fmt.Errorf("ivf: cannot train on %d×%d items", n, dim)
	}
	lists := opts.Lists
	if lists <= 0 {
		lists = DefaultLists(n)
	}
	lists = min(lists, n, MaxLists)
	sample := opts.Sample
	if sample <= 0 {
		sample = SamplePerList * lists
	}
	sample = min(max(sample, lists), n)
	rng := rand.New(rand.NewPCG(opts.KMeans.Seed, 0x5a3b))
	rows := rng.Perm(n)[:sample]
	sort.Ints(rows)
	x := make([]float32, sample*dim)
	for s, r := range rows {
		decodeUnit(x[s*dim:(s+1)*dim], items, r)
	}
	km := opts.KMeans
	if km.Workers <= 0 {
		km.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.Progress != nil {
		km.Progress = func(done, total int) { opts.Progress("kmeans", done, total) }
	}
	cl := KMeans(x, dim, lists, km)
	lists = cl.K()

	assign := make([]int32, n)
	const chunk = 1 << 14
	done := 0
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		parallel(hi-lo, km.Workers, func(a, b int) {
			v := make([]float32, dim)
			for i := lo + a; i < lo+b; i++ {
				decodeUnit(v, items, i)
				assign[i] = int32(cl.Assign(v))
			}
		})
		done = hi
		if opts.Progress != nil {
			opts.Progress("assign", done, n)
		}
	}
	p := &Partition{Centroids: quant.NewInt8(lists, dim), Perm: make([]int32, n), Offsets: make([]uint32, lists+1)}
	for l := 0; l < lists; l++ {
		p.Centroids.Set(l, cl.Centroid(l))
	}
	for _, a := range assign {
		p.Offsets[a+1]++
	}
	for l := 0; l < lists; l++ {
		p.Offsets[l+1] += p.Offsets[l]
	}
	next := make([]uint32, lists)
	copy(next, p.Offsets[:lists])
	for i, a := range assign {
		p.Perm[next[a]] = int32(i)
		next[a]++
	}
	return p, nil
}

// decodeUnit writes row i of m, decoded and normalized, into dst.
func decodeUnit(dst []float32, m *quant.Int8, i int) {
	m.Decode(dst, i)
	vec.L2Normalize(dst)
}

// Permute returns the rows of m in the order perm gives: row r of the
// result is row perm[r] of m. It panics if perm is not a permutation of
// m's rows.
func Permute(m *quant.Int8, perm []int32) *quant.Int8 {
	if len(perm) != m.Rows {
		panic("ann: permutation length mismatch")
	}
	out := quant.NewInt8(m.Rows, m.Dim)
	seen := make([]bool, m.Rows)
	for r, old := range perm {
		if seen[old] {
			panic("ann: not a permutation")
		}
		seen[old] = true
		copy(out.Row(r), m.Row(int(old)))
		out.Scales[r] = m.Scales[old]
	}
	return out
}

// DefaultTarget is TuneNProbe's default recall@K against Exact. It sits
// above the recall@100 against exact float32 search that bundles should
// reach, because the int8 codes themselves lose some against float32 and
// users' queries are harder than the tuning ones (`edgerec bench` measures
// the result; MEASUREMENTS.md beside this file has the runs that chose it).
const DefaultTarget = 0.985

// TuneOptions configure TuneNProbe.
type TuneOptions struct {
	// K is the recall depth; 0 means 100.
	K int
	// Target is the recall@K against Exact to reach; 0 means
	// DefaultTarget.
	Target float64
	// Queries is the number of synthetic sample queries; 0 means 200.
	Queries int
	// Samples, when not empty, are the queries to tune on instead of
	// synthetic ones: real users' query embeddings, which may lie far from
	// any item and need more lists than the synthetic queries do.
	Samples [][]float32
	// Seed picks the synthetic queries.
	Seed uint64
	// Workers run queries in parallel; 0 means GOMAXPROCS.
	Workers int
}

// TuneNProbe returns the smallest nprobe whose mean recall@K against Exact
// reaches Target on sample queries, and that recall. The queries are
// opts.Samples, or else synthetic: the normalized sum of 1 to 3 random
// items (what a user's history pools to), which falls among the items
// rather than in empty space. Since both
// searches score identically, an exact top-K item is found exactly when
// its list is probed, and one exact search per query gives recall for
// every nprobe.
func TuneNProbe(ix *IVF, opts TuneOptions) (nprobe int, recall float64) {
	k, target, nq := opts.K, opts.Target, opts.Queries
	if k <= 0 {
		k = 100
	}
	if target <= 0 {
		target = DefaultTarget
	}
	if nq <= 0 {
		nq = 200
	}
	lists, dim, n := ix.Lists(), ix.Items.Dim, ix.Items.Rows
	if n == 0 {
		return 1, 1
	}
	k = min(k, n)
	rng := rand.New(rand.NewPCG(opts.Seed, 0x7e57))
	queries := make([][]float32, nq)
	if len(opts.Samples) > 0 {
		queries, nq = append([][]float32(nil), opts.Samples...), len(opts.Samples)
	}
	v := make([]float32, dim)
	for i := range queries {
		if queries[i] != nil {
			continue
		}
		q := make([]float32, dim)
		for range 1 + rng.IntN(3) {
			ix.Items.Decode(v, rng.IntN(n))
			vec.Axpy(q, 1, v)
		}
		vec.L2Normalize(q)
		queries[i] = q
	}
	// found[p] counts exact top-K items whose list ranks p in its query's
	// centroid order.
	found := make([][]int, nq)
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	parallel(nq, workers, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			found[i] = make([]int, lists)
			q := queries[i]
			cs := make([]float32, lists)
			ix.Centroids.Scores(cs, quant.NewQuery(q), 0)
			order := make([]int32, lists)
			for l := range order {
				order[l] = int32(l)
			}
			sort.SliceStable(order, func(a, b int) bool { return cs[order[a]] > cs[order[b]] })
			rank := make([]int, lists)
			for p, l := range order {
				rank[l] = p
			}
			for _, h := range (Exact{Items: ix.Items}).Search(q, k, nil) {
				l := sort.Search(lists, func(l int) bool { return ix.Offsets[l+1] > uint32(h.Item) })
				found[i][rank[l]]++
			}
		}
	})
	total := make([]int, lists)
	for _, f := range found {
		for p, c := range f {
			total[p] += c
		}
	}
	hit := 0
	for p := 0; p < lists; p++ {
		hit += total[p]
		if r := float64(hit) / float64(nq*k); r >= target || p == lists-1 {
			return p + 1, r
		}
	}
	return lists, 1
}
