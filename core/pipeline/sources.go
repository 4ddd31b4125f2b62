package pipeline

import (
	"encoding/binary"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/edgerec/edgerec/core/ann"
	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle"
)

// Candidate is one item proposed by stage 1, with what each source said of
// it.
type Candidate struct {
	Row int32
	// Score is the retrieval score from Retrieve, then the relevance the
	// rank stage gives.
	Score float32
	// SourceScore and SourceRank hold each source's score and 0-based rank
	// (SourceRank −1: the source did not propose the item).
	SourceScore [api.NumSources]float32
	SourceRank  [api.NumSources]int32
	// Because is the history row an item-to-item candidate came from (the
	// first such source's, co-visitation before slim), or −1.
	Because int32
	// Pinned marks an item placed by a pin rule.
	Pinned bool
	// Features are rank.Features, filled by Features.
	Features []float32
}

func newCandidate(row int32) Candidate {
	c := Candidate{Row: row, Because: -1}
	for s := range c.SourceRank {
		c.SourceRank[s] = -1
	}
	return c
}

// Source returns the source that ranked the candidate best, by weighted
// reciprocal rank.
func (c *Candidate) Source(w *[api.NumSources]float32) api.Source {
	best, bestV := api.Source(0), float32(-1)
	for s, r := range c.SourceRank {
		if r < 0 {
			continue
		}
		ws := w[s]
		if !(ws > 1e-6) { // not max(): a runtime call in wasm
			ws = 1e-6
		}
		v := ws / float32(r+1)
		if v > bestV {
			best, bestV = api.Source(s), v
		}
	}
	return best
}

// pool merges the candidates of several sources, one entry per item.
type pool struct {
	cands []Candidate
	at    *rowIndex // row → index in cands
}

func newPool(n int) *pool { return &pool{cands: make([]Candidate, 0, n), at: newRowIndex(n)} }

// has reports whether row is in the pool.
func (p *pool) has(row int32) bool {
	_, ok := p.at.get(row)
	return ok
}

// add records that source s proposed row at rank with score.
func (p *pool) add(s api.Source, row int32, rank int, score float32) *Candidate {
	i, ok := p.at.get(row)
	if !ok {
		i = len(p.cands)
		p.at.put(row, i)
		p.cands = append(p.cands, newCandidate(row))
	}
	c := &p.cands[i]
	if c.SourceRank[s] < 0 || int32(rank) < c.SourceRank[s] {
		c.SourceRank[s] = int32(rank)
		c.SourceScore[s] = score
	}
	return c
}

// sources runs every enabled source for q with the depths of p scaled by
// mult, skipping rows the filter f refuses. With an allow-list the
// two-tower source scores the allowed rows themselves instead of searching
// the catalog.
func (r *Recommender) sources(q *Query, emb []float32, p *bundle.Params, mult int, f *filter, seed uint64, t *timer) *pool {
	keep := f.keep
	total := 0
	for s := range p.Depth {
		if p.Weights[s] != 0 {
			total += p.Depth[s] * mult
		}
	}
	pl := newPool(min(total, r.b.Manifest.Items, MaxExamined))
	depth := func(s api.Source) int {
		if p.Weights[s] == 0 {
			return 0
		}
		return p.Depth[s] * mult
	}
	if n := depth(api.SourceTwoTower); n > 0 {
		t.startSearch()
		var hits []ann.Hit
		if f.allow != nil {
			hits = r.scoreRows(emb, f.allow, n, f)
		} else {
			hits = r.search(q, emb, n, f)
		}
		t.endSearch(len(hits))
		for i, h := range hits {
			pl.add(api.SourceTwoTower, h.Item, i, h.Score)
		}
	}
	pipe := r.b.Pipeline
	if pipe == nil {
		return pl
	}
	if n := depth(api.SourceCovisit); n > 0 {
		neighbours(pl, api.SourceCovisit, &pipe.Covisit, q, n, keep)
	}
	// The slim source also scores the pool's other candidates it reaches,
	// once every source has proposed (annotate, below).
	var annotate func()
	if n := depth(api.SourceSlim); n > 0 {
		annotate = historyNeighbours(pl, api.SourceSlim, &pipe.Slim, q, n, keep)
	}
	region := q.Context.Region
	if n := depth(api.SourcePopular); n > 0 {
		addList(pl, api.SourcePopular, regionList(pipe.Popular, region), n, keep)
	}
	if n := depth(api.SourceTrending); n > 0 {
		addList(pl, api.SourceTrending, regionList(pipe.Trending, region), n, keep)
	}
	if n := depth(api.SourceFresh); n > 0 {
		r.fresh(pl, q, emb, n, keep)
	}
	if n := depth(api.SourceExplore); n > 0 {
		r.explore(pl, n, keep, seed)
	}
	if annotate != nil {
		annotate()
	}
	return pl
}

// neighbours proposes, as source s, the neighbours in nb of the seed
// (weight 1) and the three newest history items (0.8, 0.6, 0.4): score =
// Σ weight·neighbour weight, remembering the history item that contributed
// most (unless an earlier source already named one). The co-visitation
// source reads its lists so: co-visits are about what comes next.
// Every neighbour looked at passes keep, which counts it against the
// request's work budget.
func neighbours(pl *pool, s api.Source, nb *bundle.PackedNeighbours, q *Query, n int, keep func(int32) bool) {
	type src struct {
		row int32
		w   float32
	}
	var from []src
	if q.Input.Seed >= 0 && (len(q.Input.History) == 0 || q.Input.Seed != q.Input.History[len(q.Input.History)-1]) {
		from = append(from, src{q.Input.Seed, 1})
	}
	h := q.Input.History
	for i, w := range []float32{0.8, 0.6, 0.4} {
		if j := len(h) - 1 - i; j >= 0 {
			from = append(from, src{h[j], w})
		}
	}
	sum := newNeighbourSum(len(from) * 32)
	for _, f := range from {
		sum.add(nb, f.row, f.w, keep)
	}
	// Highest score first, ties by lower row: TopK's order.
	top := ann.NewTopK(n)
	for _, a := range sum.accs {
		top.Push(a.row, a.score)
	}
	for i, h := range top.Sorted() {
		j, _ := sum.at.get(h.Item)
		if c := pl.add(s, h.Item, i, h.Score); c.Because < 0 {
			c.Because = sum.accs[j].because
		}
	}
}

// neighbourSum sums neighbour lists: one accumulator per neighbour, found
// through a row index, with the source row that contributed most.
type neighbourSum struct {
	accs []neighbourAcc
	at   *rowIndex
}

type neighbourAcc struct {
	row         int32
	score, best float32
	because     int32
}

func newNeighbourSum(capacity int) *neighbourSum {
	return &neighbourSum{at: newRowIndex(capacity)}
}

// add adds w times the weights of from's neighbours in nb, those keep
// passes (keep nil: all).
func (s *neighbourSum) add(nb *bundle.PackedNeighbours, from int32, w float32, keep func(int32) bool) {
	for k := range nb.Len(int(from)) {
		it, weight := nb.At(int(from), k)
		if keep != nil && !keep(it) {
			continue
		}
		v := w * weight
		i, ok := s.at.get(it)
		if !ok {
			i = len(s.accs)
			s.at.put(it, i)
			s.accs = append(s.accs, neighbourAcc{row: it, best: negInf, because: -1})
		}
		a := &s.accs[i]
		a.score += v
		if v > a.best {
			a.best, a.because = v, from
		}
	}
}

// historyNeighbours proposes, as source s, the n best items the whole
// history and the seed point to in nb, scored as the model behind nb
// scores a user — score(j) = Σ_{i ∈ history} w_j[i], the sum over every
// history item that EASE and SLIM take, not over the newest few: on
// histories longer than a handful of items the newest few miss most of
// what the model knows (tools/eval/RESULTS.md, "The slim source over the
// whole history"). It remembers the history item that contributed most
// (unless an earlier source already named one).
//
// The neighbours are summed first and the filter is asked about them best
// first until n are kept, so each distinct neighbour costs keep once at
// most. It returns annotate, which gives every candidate in the pool that
// the sum reached and that the source did not propose its score and rank
// there: run after the other sources, it tells the ranker what the model
// thinks of their candidates too.
func historyNeighbours(pl *pool, s api.Source, nb *bundle.PackedNeighbours, q *Query, n int, keep func(int32) bool) (annotate func()) {
	// q.Exclude is the history and the seed.
	sum := newNeighbourSum(len(q.Exclude) * 16)
	for _, from := range q.Exclude {
		sum.add(nb, from, 1, nil)
	}
	accs := sum.accs
	order := byScore(len(accs), func(i int) float32 { return accs[i].score }, func(i int) int32 { return accs[i].row })
	rank := 0
	for _, i := range order {
		if rank == n {
			break
		}
		a := &accs[i]
		if !keep(a.row) {
			continue
		}
		if c := pl.add(s, a.row, rank, a.score); c.Because < 0 {
			c.Because = a.because
		}
		rank++
	}
	return func() {
		// The rank of a row the source did not propose is its position in
		// the sum's order, refused rows included: the filter is not asked
		// again.
		for r, i := range order {
			a := &accs[i]
			if j, ok := pl.at.get(a.row); ok {
				if c := &pl.cands[j]; c.SourceRank[s] < 0 {
					c.SourceRank[s], c.SourceScore[s] = int32(r), a.score
				}
			}
		}
	}
}

// negInf starts a maximum, so that the first contribution, whatever its
// sign, names the history item.
var negInf = float32(math.Inf(-1))

// regionList returns the list of region, or the all-regions list.
func regionList(lists []bundle.RegionList, region string) *bundle.RegionList {
	var all *bundle.RegionList
	for i := range lists {
		switch lists[i].Region {
		case region:
			if region != "" {
				return &lists[i]
			}
			all = &lists[i]
		case "":
			all = &lists[i]
		}
	}
	return all
}

// addList proposes the first n kept items among the first MaxFetch of l,
// scores relative to its top.
func addList(pl *pool, s api.Source, l *bundle.RegionList, n int, keep func(int32) bool) {
	if l == nil || len(l.Items) == 0 {
		return
	}
	top := max(l.Scores[0], 1e-9)
	rank := 0
	for i, it := range l.Items[:min(len(l.Items), MaxFetch)] {
		if rank == n {
			return
		}
		if keep(it) {
			pl.add(s, it, rank, l.Scores[i]/top)
			rank++
		}
	}
}

// fresh proposes items released in the FreshDays before the request,
// scored by the query embedding against their item embedding (content-based
// for items the model never saw); it looks at the newest MaxFetch items of
// that window at most. A NaN score (a query embedding a broken model made
// NaN) proposes nothing: ann.TopK keeps no NaN.
func (r *Recommender) fresh(pl *pool, q *Query, emb []float32, n int, keep func(int32) bool) {
	from := q.Time - int64(r.b.Pipeline.FreshDays)*86400
	sc := r.scorer(emb)
	// Highest score first, ties by lower row: TopK's order.
	top := ann.NewTopK(n)
	// byRelease is newest first: skip what was released after the request
	// by a binary search, so that an early request time costs nothing.
	rel := r.b.Items.Released
	start := sort.Search(len(r.b.Orders.Release), func(i int) bool { return rel[r.b.Orders.Release[i]] <= q.Time })
	window := r.b.Orders.Release[start:]
	for _, row := range window[:min(len(window), MaxFetch)] {
		if rel[row] < from {
			break
		}
		if !keep(row) {
			continue
		}
		top.Push(row, sc.score(int(row)))
	}
	for i, h := range top.Sorted() {
		pl.add(api.SourceFresh, h.Item, i, h.Score)
	}
}

// explore proposes n items drawn without replacement from the long tail
// (popularity at or below the median) with a generator seeded per request.
func (r *Recommender) explore(pl *pool, n int, keep func(int32) bool, seed uint64) {
	tail := r.b.Orders.Tail
	if len(tail) == 0 {
		return
	}
	rng := rand.New(rand.NewPCG(seed, 0x6578706c6f7265))
	taken := newRowIndex(n)
	rank := 0
	for tries := 0; rank < n && tries < 4*n+16; tries++ {
		row := tail[rng.IntN(len(tail))]
		if _, dup := taken.get(row); dup || !keep(row) {
			continue
		}
		taken.put(row, 0)
		pl.add(api.SourceExplore, row, rank, 0)
		rank++
	}
}

// requestSeed derives the exploration seed from the user, the experiment
// key and the day, so a user sees the same exploration within a day.
func requestSeed(user, key string, t int64) uint64 {
	h := fnv.New64a()
	h.Write([]byte(user))
	h.Write([]byte{0})
	h.Write([]byte(key))
	var day [8]byte
	binary.LittleEndian.PutUint64(day[:], uint64(t/86400))
	h.Write(day[:])
	return h.Sum64()
}
