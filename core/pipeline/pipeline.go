// Package pipeline runs a recommendation request against a loaded bundle:
// retrieve → filter → rank → order. It is the code recommender.wasm runs, and
// the same code runs natively for parity tests, benchmarks, and the
// trainer's generation of ranker examples.
//
// This version retrieves with the two-tower model by an exact int8 scan,
// excluding the user's history and the seed, and, when the bundle has a
// ranker, re-scores the top Depth candidates with it.
package pipeline

import (
	"fmt"
	"hash/fnv"
	"math"
	"slices"

	"github.com/edgerec/edgerec/core/ann"
	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/feature"
	"github.com/edgerec/edgerec/core/quant"
	"github.com/edgerec/edgerec/core/rank"
	"github.com/edgerec/edgerec/core/tower"
)

// SourceTwoTower names the two-tower ANN candidate source in responses.
const SourceTwoTower = "twotower"

// Recommender answers requests from one bundle. It is safe for concurrent
// use: requests do not modify it.
type Recommender struct {
	b            *bundle.Bundle
	index        map[string]int32 // item id → row
	summary      api.Summary
	byRelease    []int32 // rows with a release time, newest first
	byPopularity []int32 // every row, most popular first
	tail         []int32 // rows at or below the median popularity
}

// Load decodes and validates a bundle. The Recommender may keep references to
// data: the caller must not modify data afterwards.
func Load(data []byte) (*Recommender, error) {
	b, err := bundle.Decode(data)
	if err != nil {
		return nil, err
	}
	r := &Recommender{
		b:     b,
		index: make(map[string]int32, len(b.Items.IDs)),
		summary: api.Summary{
			Version:   b.Manifest.Version,
			Created:   b.Manifest.Created,
			Items:     b.Manifest.Items,
			Dim:       b.Manifest.Dim,
			Format:    b.Format,
			SizeBytes: len(data),
		},
	}
	for i, id := range b.Items.IDs {
		r.index[id] = int32(i)
	}
	// Build the vocabularies' lookup maps now, so that concurrent requests
	// only read them.
	b.Vocab.Categories.Index("")
	b.Vocab.Licensing.Index("")
	for i := range b.Query.Fields {
		b.Query.Fields[i].Vocab.Index("")
	}
	r.indexSources()
	return r, nil
}

// Summary describes the loaded bundle.
func (r *Recommender) Summary() api.Summary { return r.summary }

// Bundle returns the loaded bundle's content; callers must not modify it.
func (r *Recommender) Bundle() *bundle.Bundle { return r.b }

// Lookup returns the row of an item id.
func (r *Recommender) Lookup(id string) (int32, bool) {
	i, ok := r.index[id]
	return i, ok
}

// Query is a request resolved against the bundle.
type Query struct {
	Input   tower.QueryInput
	Context feature.Context
	Exclude []int32 // rows never to recommend: the history and the seed
	Unknown int     // history and seed ids not in the bundle
	Time    int64   // the request time, or the bundle's creation time
	NProbe  int     // the request's override of the index's probes (0: the bundle's)
}

// Resolve maps a normalized request's ids to rows and its context to the
// query tower's input. Ids not in the bundle are dropped and counted; items
// in the bundle that the model never saw are excluded from the results but
// not pooled (their id embedding is the untrained unknown row).
func (r *Recommender) Resolve(req *api.Request) *Query {
	q := &Query{Time: req.Context.Time, NProbe: req.NProbe}
	if q.Time <= 0 {
		q.Time = r.b.Manifest.Created
	}
	known := r.b.Items.Known
	hist := make([]int32, 0, len(req.History))
	for _, e := range req.History {
		if i, ok := r.index[e.Item]; ok {
			q.Exclude = append(q.Exclude, i)
			if known[i] {
				hist = append(hist, i)
			}
		} else {
			q.Unknown++
		}
	}
	seed := int32(-1)
	if req.Seed != "" {
		if i, ok := r.index[req.Seed]; ok {
			q.Exclude = append(q.Exclude, i)
			if known[i] {
				seed = i
			}
		} else {
			q.Unknown++
		}
	}
	c := req.Context
	q.Context = feature.Context{Region: c.Region, Device: c.Device, Gender: c.Gender, Age: c.Age, Attrs: c.Attrs,
		Time: c.Time, HistoryLen: len(hist)}
	q.Input = r.b.Query.Prepare(&q.Context, hist, seed)
	return q
}

// Embed computes the query embedding.
func (r *Recommender) Embed(q *Query) []float32 {
	return r.b.Query.Embed(r.b.Query.NewScratch(), r.b.History, q.Input)
}

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
	if x := r.b.Index; x != nil && m < r.b.Manifest.Items/8 {
		hits = x.IVF(r.b.Embeddings).Search(emb, m, x.NProbeFor(q.NProbe), nil)
	} else {
		hits = ann.Exact{Items: r.b.Embeddings}.Search(emb, m, nil)
	}
	// A 256-bit mask of the excluded rows' low bits answers most hits
	// without looking at the list (in wazero a compare loop per hit cost
	// 24 µs for ten excluded rows and 174 hits).
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

// excluded reports whether row is in excl, which is sorted when it has
// more than 16 entries.
func excluded(excl []int32, row int32) bool {
	if len(excl) > 16 {
		_, found := slices.BinarySearch(excl, row)
		return found
	}
	return slices.Contains(excl, row)
}

// Features computes every candidate's rank.Features, in place.
func (r *Recommender) Features(q *Query, emb []float32, cands []Candidate) {
	it := &r.b.Items
	// Category histogram of the history, for category_affinity.
	catCount := make([]int32, r.b.Vocab.Categories.Size())
	for _, h := range q.Input.History {
		for _, c := range it.CategoriesOf(int(h)) {
			catCount[c]++
		}
	}
	nh := len(q.Input.History)
	// Both similarities run the word kernel one row at a time.
	e := r.b.Embeddings
	query := quant.NewQuery(emb)
	var seed *quant.Query
	if q.Input.Seed >= 0 {
		seed = e.RowQuery(int(q.Input.Seed))
	}
	var one [1]float32
	histLog := float32(math.Log1p(float64(nh)))
	absent := float32(math.Log1p(rank.AbsentRank))
	nf := len(rank.Features)
	backing := make([]float32, nf*len(cands))
	for k := range cands {
		c := &cands[k]
		row := int(c.Row)
		f := backing[k*nf : k*nf : (k+1)*nf]
		for s := range c.SourceRank {
			if c.SourceRank[s] >= 0 {
				f = append(f, 1, c.SourceScore[s], rankLog(c.SourceRank[s]))
			} else {
				f = append(f, 0, 0, absent)
			}
		}
		// The two-tower source's score is this same product (Retrieve
		// scores with the same kernel and query): reuse it.
		qs := c.SourceScore[bundle.SourceTwoTower]
		if c.SourceRank[bundle.SourceTwoTower] < 0 {
			e.Scores(one[:], query, row)
			qs = one[0]
		}
		f = append(f, qs, it.Popularity[row], it.Recent[row],
			(&feature.Item{Released: it.Released[row], Time: q.Time}).Numeric(feature.ItemAge))
		var aff float32
		if cats := it.CategoriesOf(row); nh > 0 && len(cats) > 0 {
			var s int32
			for _, cat := range cats {
				s += catCount[cat]
			}
			aff = float32(s) / float32(nh*len(cats))
		}
		var cold, seedSim float32
		if !it.Known[row] {
			cold = 1
		}
		if seed != nil {
			e.Scores(one[:], seed, row)
			seedSim = one[0]
		}
		c.Features = append(f, aff, histLog, cold, seedSim)
	}
}

// rankLogs caches ln(1 + r) for the ranks sources usually give.
var rankLogs = func() (t [1024]float32) {
	for i := range t {
		t[i] = float32(math.Log1p(float64(i)))
	}
	return t
}()

// rankLog returns ln(1 + r).
func rankLog(r int32) float32 {
	if r >= 0 && int(r) < len(rankLogs) {
		return rankLogs[r]
	}
	return float32(math.Log1p(float64(r)))
}

// rankBlendK is the constant of reciprocal rank fusion (Cormack, Clarke &
// Büttcher, "Reciprocal Rank Fusion outperforms Condorcet and individual
// Rank Learning Methods", SIGIR 2009).
const rankBlendK = 60

// Rank scores the candidates (stage 3): with the ranker (when the bundle has
// one and p.Ranker is set) its logit over rank.Features; otherwise the
// weighted reciprocal-rank blend Σ_s w_s/(60 + rank_s + 1) over the sources
// that proposed the item. Candidates are then sorted best first (ties by
// row).
func (r *Recommender) Rank(q *Query, emb []float32, p *bundle.Params, cands []Candidate) {
	if m := r.b.Ranker; m != nil && p.Ranker {
		r.Features(q, emb, cands)
		s := m.NewScratch()
		for k := range cands {
			cands[k].Score = m.Score(s, cands[k].Features)
		}
	} else {
		for k := range cands {
			c := &cands[k]
			var v float32
			for s, rk := range c.SourceRank {
				if rk >= 0 {
					v += p.Weights[s] / float32(rankBlendK+rk+1)
				}
			}
			c.Score = v
		}
	}
	sortCandidates(cands)
}

// sortCandidates sorts cands by decreasing score, ties by lower row (a
// total order, so the result is deterministic).
func sortCandidates(cands []Candidate) {
	order := byScore(len(cands), func(i int) float32 { return cands[i].Score }, func(i int) int32 { return cands[i].Row })
	tmp := make([]Candidate, len(cands))
	for j, i := range order {
		tmp[j] = cands[i]
	}
	copy(cands, tmp)
}

// byScore returns the indices 0…n−1 ordered by decreasing score(i), ties by
// lower row(i).
//
// # Notes
//
// It sorts one 64-bit key per index (the score's bits made monotone, then
// the index) with no comparison callback, then puts runs of equal scores in
// row order; callers move their ~90-byte candidates once afterwards. In
// wazero, sorting the candidates themselves through a comparison callback
// took 0.3 ms of a 2 ms request for 200 candidates (edgerec bench).
func byScore(n int, score func(i int) float32, row func(i int) int32) []int {
	keys := make([]uint64, n)
	for i := range keys {
		keys[i] = uint64(^ann.Monotone(score(i)))<<32 | uint64(i)
	}
	ann.SortKeys(keys)
	order := make([]int, n)
	for j, k := range keys {
		order[j] = int(uint32(k))
	}
	for lo := 0; lo < n; {
		hi := lo + 1
		for hi < n && keys[hi]>>32 == keys[lo]>>32 {
			hi++
		}
		if hi-lo > 1 {
			// Equal scores: by row, again as keys.
			run := keys[lo:hi]
			for t, i := range order[lo:hi] {
				run[t] = uint64(uint32(row(i)))<<32 | uint64(i)
			}
			ann.SortKeys(run)
			for t, k := range run {
				order[lo+t] = int(uint32(k))
			}
		}
		lo = hi
	}
	return order
}

// Params returns the pipeline parameters of a request: the bundle's
// defaults, or the arm its experiment key hashes to, with the request's
// source weights and ordering overrides (api.Order) on top; and the arm's name ("" outside experiments). A
// bundle without section PIPE serves retrieval alone: DefaultParams
// without MMR.
func (r *Recommender) Params(req *api.Request) (bundle.Params, string, error) {
	p := bundle.DefaultParams()
	p.MMRLambda = 1
	arm := ""
	if pipe := r.b.Pipeline; pipe != nil {
		p = pipe.Defaults
		if a := pickArm(pipe.Arms, req.ExperimentKey); a != nil {
			p, arm = a.Params, a.Name
		}
	}
	for name, w := range req.Sources {
		s := sourceIndex(name)
		if s < 0 {
			return p, arm, fmt.Errorf("unknown source %q in sources (known: %v)", name, bundle.SourceNames)
		}
		if !(w >= 0 && w <= 100) {
			return p, arm, fmt.Errorf("weight of source %s = %v out of [0, 100]", name, w)
		}
		p.Weights[s] = w
	}
	if o := req.Order; o != nil {
		if o.MMRLambda != nil {
			p.MMRLambda = float32(*o.MMRLambda)
		}
		if o.ExploreEvery != nil {
			p.ExploreEvery = *o.ExploreEvery
		}
		if o.CategoryCap != nil {
			p.CategoryCap = *o.CategoryCap
		}
	}
	return p, arm, nil
}

func sourceIndex(name string) int {
	for s, n := range bundle.SourceNames {
		if n == name {
			return s
		}
	}
	return -1
}

// pickArm hashes key to an arm with probability proportional to its
// weight: FNV-1a 64 of the key, scaled to [0, Σ weights). An empty key or
// no arms gives nil.
func pickArm(arms []bundle.Arm, key string) *bundle.Arm {
	if key == "" || len(arms) == 0 {
		return nil
	}
	var total float64
	for _, a := range arms {
		total += float64(a.Weight)
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	u := float64(h.Sum64()>>11) / (1 << 53) * total
	for i := range arms {
		if u -= float64(arms[i].Weight); u < 0 {
			return &arms[i]
		}
	}
	return &arms[len(arms)-1]
}

// candidates runs stages 1 and 2 within the request's work budget
// (MaxExamined): the sources fetch only what the filter keeps, and when
// fewer than req.K items survive they run once more four times as deep
// (not with an allow-list, which the two-tower source has scored whole);
// then the popularity back-fill fills up, from the allow-list when there
// is one. The sources may spend all but BackfillReserve of the budget.
func (r *Recommender) candidates(req *api.Request, p *bundle.Params, t *timer) (*Query, []float32, *filter, []Candidate, error) {
	q := r.Resolve(req)
	f, err := r.newFilter(req, q)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	emb := r.Embed(q)
	t.stage("embed", len(q.Input.History), len(emb))
	seed := requestSeed(req.UserID, req.ExperimentKey, q.Time)
	f.limit = MaxExamined - BackfillReserve
	var pl *pool
	for _, mult := range []int{1, 4} {
		// A deeper pass cut short by the budget may find fewer.
		if next := r.sources(q, emb, p, mult, f, seed, t); pl == nil || len(next.cands) >= len(pl.cands) {
			pl = next
		}
		if len(pl.cands) >= req.K || f.allow != nil || f.spent() {
			break
		}
	}
	// Back-fill: the enabled sources are exhausted (a request may disable
	// the two-tower source); fill up by popularity from the allow-list or
	// the catalog.
	f.limit = MaxExamined
	rows := r.byPopularity
	if f.allow != nil {
		rows = sortByPopularity(r.b.Items.Popularity, f.allow)
	}
	rank := 0
	for _, row := range rows {
		if len(pl.cands) >= req.K || f.spent() {
			break
		}
		if !pl.has(row) && f.keepAllowed(row) {
			pl.add(bundle.SourcePopular, row, ListBackfillRank+rank, 0)
			rank++
		}
	}
	return q, emb, f, pl.cands, nil
}

// ListBackfillRank is the popular-source rank of the first back-filled item.
const ListBackfillRank = 10000

// Candidates runs stages 1 and 2 for a request with the bundle's default
// parameters and returns the surviving candidates with their ranker
// features, in the order the sources proposed them. The ranker is trained
// on exactly this.
func (r *Recommender) Candidates(req *api.Request) ([]Candidate, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	req.Normalize()
	p, _, err := r.Params(req)
	if err != nil {
		return nil, err
	}
	q, emb, _, cands, err := r.candidates(req, &p, nil)
	if err != nil {
		return nil, err
	}
	r.Features(q, emb, cands)
	return cands, nil
}

// Recommend answers one request through the four stages. req is
// normalized in place (see api.Request.Normalize).
func (r *Recommender) Recommend(req *api.Request) (*api.Response, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	truncated := req.Normalize()
	p, arm, err := r.Params(req)
	if err != nil {
		return nil, err
	}
	var t *timer
	if req.Debug {
		t = newTimer()
	}
	q, emb, f, cands, err := r.candidates(req, &p, t)
	if err != nil {
		return nil, err
	}
	t.sources(r.b.Manifest.Items, len(cands))

	r.Rank(q, emb, &p, cands)
	t.stage("rank", len(cands), len(cands))

	out := r.order(req, q, &p, cands, req.K, f.allows)
	t.stage("order", len(cands), len(out))

	resp := &api.Response{Items: make([]api.Item, len(out)), BundleVersion: r.b.Manifest.Version, Arm: arm}
	if f.saturated {
		resp.Warnings = append(resp.Warnings, api.WarnConsumedSaturated)
	}
	if f.exhausted {
		resp.Warnings = append(resp.Warnings, api.WarnBudgetExhausted)
	}
	for j, c := range out {
		item := api.Item{ID: r.b.Items.IDs[c.Row], Score: c.Score}
		switch {
		case c.Pinned:
			item.Source = "pinned"
		default:
			src := c.Source(&p.Weights)
			item.Source = bundle.SourceNames[src]
			if (src == bundle.SourceCovisit || src == bundle.SourceSlim) && c.Because >= 0 {
				item.Because = r.b.Items.IDs[c.Because]
			}
		}
		resp.Items[j] = item
	}
	if req.Debug {
		resp.Debug = &api.Debug{Stages: t.stages, UnknownItems: q.Unknown, Truncated: truncated, Examined: f.examined}
	}
	return resp, nil
}
