package pipeline

import (
	"math"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/feature"
	"github.com/edgerec/edgerec/core/rank"
	"github.com/edgerec/edgerec/core/sortkey"
)

// Features computes every candidate's rank.Raw, in place.
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
	// Both similarities score one row at a time (vectors.go).
	query := r.scorer(emb)
	var seed *rowScorer
	if q.Input.Seed >= 0 {
		seed = r.rowScorer(int(q.Input.Seed))
	}
	histLog := float32(math.Log1p(float64(nh)))
	absent := float32(math.Log1p(rank.AbsentRank))
	shown := r.shownDecay(q)
	nf := len(rank.Raw)
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
		qs := c.SourceScore[api.SourceTwoTower]
		if c.SourceRank[api.SourceTwoTower] < 0 {
			qs = query.score(row)
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
			seedSim = seed.score(row)
		}
		c.Features = append(f, aff, histLog, cold, seedSim, shown[c.Row])
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
// one and p.Ranker is set) its logit over rank.Raw; otherwise the
// weighted reciprocal-rank blend Σ_s w_s/(60 + rank_s + 1) over the sources
// that proposed the item. Candidates are then sorted best first (ties by
// row).
func (r *Recommender) Rank(q *Query, emb []float32, p *bundle.Params, cands []Candidate) {
	if m := r.b.Ranker; m != nil && p.Ranker {
		r.Features(q, emb, cands)
		raws := make([][]float32, len(cands))
		for k := range cands {
			raws[k] = cands[k].Features
		}
		scores := make([]float32, len(cands))
		// The pool may hold another ranker's buffers: a caller may swap
		// the bundle's ranker (eval compares rankers on one Recommender).
		rows, _ := r.rankRows.Get().(*rank.Rows)
		if !rows.For(m) {
			rows = m.NewRows()
		}
		m.ScoreRows(rows, raws, scores)
		r.rankRows.Put(rows)
		for k := range cands {
			cands[k].Score = scores[k]
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
// total order, so the result is deterministic). It moves the candidates
// in place along the permutation's cycles: a sorted copy of them was a
// seventh of what a request allocated.
func sortCandidates(cands []Candidate) {
	permute(cands, byScore(len(cands), func(i int) float32 { return cands[i].Score }, func(i int) int32 { return cands[i].Row }))
}

// permute moves s[order[j]] to position j for every j, in place along the
// permutation's cycles; it overwrites order (a moved position is marked
// −1).
func permute[T any](s []T, order []int) {
	for start, first := range order {
		if first < 0 || first == start {
			continue
		}
		held := s[start]
		for j := start; ; {
			i := order[j]
			order[j] = -1
			if i == start {
				s[j] = held
				break
			}
			s[j] = s[i]
			j = i
		}
	}
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
// cost a sixth of a request (BenchmarkStages, "sort").
func byScore(n int, score func(i int) float32, row func(i int) int32) []int {
	keys := make([]uint64, n)
	for i := range keys {
		keys[i] = sortkey.Descending(score(i), uint32(i))
	}
	sortkey.Sort(keys)
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
			sortkey.Sort(run)
			for t, k := range run {
				order[lo+t] = int(uint32(k))
			}
		}
		lo = hi
	}
	return order
}
