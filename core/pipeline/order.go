package pipeline

import (
	"math"
	"slices"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/quant"
	"github.com/edgerec/edgerec/core/sortkey"
)

// mmrPool is how many of the most relevant candidates the ordering stage
// considers: MMR costs k·mmrPool similarity computations.
const mmrPool = 64

// standardize turns the candidates' scores into robust z-scores,
// (score − median) / (1.4826·MAD), so that the knobs of the order stage
// (demotion, boosts, MMR's λ) mean the same with the ranker's logits and
// with the blend. The median and the median absolute deviation ignore a
// few extreme scores: with the mean and standard deviation, one wild logit
// (−500 for an item the ranker never saw the like of) shrank every other
// candidate's relevance to a few hundredths and let MMR's similarity term
// order the list. A deviation of 0 falls back to the standard deviation,
// then to 1.
func standardize(cands []Candidate) []float32 {
	rel := make([]float32, len(cands))
	if len(cands) == 0 {
		return rel
	}
	s := make([]float64, len(cands))
	for i, c := range cands {
		s[i] = float64(c.Score)
	}
	med := median(s)
	var sum, sq float64
	for _, c := range cands {
		v := float64(c.Score)
		sum += v
		sq += v * v
	}
	for i, c := range cands {
		s[i] = math.Abs(float64(c.Score) - med)
	}
	scale := 1.4826 * median(s)
	if !(scale > 1e-9) {
		n := float64(len(s))
		scale = math.Sqrt(max(sq/n-(sum/n)*(sum/n), 0))
	}
	if !(scale > 1e-9) {
		scale = 1
	}
	for i, c := range cands {
		rel[i] = float32((float64(c.Score) - med) / scale)
	}
	return rel
}

// median returns the median of s (len(s) > 0), reordering s: a
// quickselect, cheaper in wazero than sorting (BenchmarkMedian). The
// scores are finite.
func median(s []float64) float64 {
	n := len(s)
	m := sortkey.SelectNth(s, n/2)
	if n%2 == 1 {
		return m
	}
	// s[:n/2] holds the n/2 smallest: the lower middle is their maximum.
	return (slices.Max(s[:n/2]) + m) / 2
}

// order picks and orders the k items of the response (stage 4):
//
//  1. relevance = the standardized score, lowered for impressions shown but
//     not taken (Params.Demote) and raised by the bundle's boosts;
//  2. among the mmrPool most relevant, greedy maximal marginal relevance
//     (Carbonell & Goldstein, SIGIR 1998): the next item maximizes
//     λ·relevance − (1−λ)·max similarity to the items already chosen, with
//     similarity the inner product of the item embeddings; items whose
//     categories reached Params.CategoryCap are skipped; every
//     ExploreEvery-th position goes to the most relevant exploration
//     candidate left;
//  3. pinned items that passed the filters are placed at their positions.
//
// The candidates must have passed the filters; the result is at most k
// long.
func (r *Recommender) order(rq *request) []Candidate {
	rel := standardize(rq.cands)
	r.demote(rel, rq)
	var pins []bundle.Pin
	if pipe := r.b.Pipeline; pipe != nil {
		boost(rel, rq.cands, pipe.Rules.Boosted)
		pins = pipe.Rules.Pinned
	}
	o := r.newOrdering(&rq.p, rq.cands, rel)
	var out []Candidate
	for len(out) < rq.req.K {
		pick := o.next(len(out))
		if pick < 0 {
			break
		}
		o.take(pick)
		out = append(out, rq.cands[pick])
	}
	return r.pin(out, pins, rq.req.K, rq.f.allows)
}

// demote lowers the relevance of the candidates the request says were
// shown and not taken: by Params.Demote·shown_log (shownDecay). A ranker
// that learned the demotion (rank.Model.LearnedDemotion) has weighed
// shown_log itself: wherever it ranks, the rule is left out.
func (r *Recommender) demote(rel []float32, rq *request) {
	p := &rq.p
	if len(rq.q.Impressions) == 0 || p.Demote <= 0 {
		return
	}
	if m := r.b.Ranker; m != nil && p.Ranker && m.LearnedDemotion() {
		return
	}
	shown := r.shownDecay(rq.q)
	for i, c := range rq.cands {
		if v, ok := shown[c.Row]; ok {
			rel[i] -= p.Demote * v
		}
	}
}

// shownDecay returns, per row the query's impressions name, the ranker's
// shown_log: ln(1 + times shown)·2^(−days since last shown/7), with an
// impression's count at least 1 and repeated entries of an item summed;
// nil without impressions. The demotion rule and the ranker's feature are
// this one value, so that a learned weight replaces the hand-set one; it
// is computed once per query, whichever asks first.
func (r *Recommender) shownDecay(q *Query) map[int32]float32 {
	if len(q.Impressions) == 0 || q.shown != nil {
		return q.shown
	}
	type seen struct {
		count int
		last  int64
	}
	agg := make(map[int32]seen, len(q.Impressions))
	for _, im := range q.Impressions {
		if row, ok := r.Lookup(im.Item); ok {
			prev := agg[row]
			prev.count += max(im.Count, 1)
			prev.last = max(prev.last, im.Last)
			agg[row] = prev
		}
	}
	out := make(map[int32]float32, len(agg))
	for row, im := range agg {
		days := 0.0
		if im.last > 0 && q.Time > im.last {
			days = float64(q.Time-im.last) / 86400
		}
		out[row] = float32(math.Log1p(float64(im.count)) * math.Exp2(-days/7))
	}
	q.shown = out
	return out
}

// boost raises the relevance of the boosted candidates.
func boost(rel []float32, cands []Candidate, boosted []bundle.Boost) {
	if len(boosted) == 0 {
		return
	}
	at := make(map[int32]int, len(cands))
	for i, c := range cands {
		at[c.Row] = i
	}
	for _, b := range boosted {
		if i, ok := at[b.Item]; ok {
			rel[i] += b.Amount
		}
	}
}

// ordering is the state of the greedy pick of step 2.
type ordering struct {
	r     *Recommender
	p     *bundle.Params
	cands []Candidate
	rel   []float32
	// idx orders the candidates by relevance; pool is its mmrPool first;
	// explore lists the exploration candidates in that order.
	idx, pool, explore []int
	used, capped       []bool
	catCount           []int32 // per category, when Params.CategoryCap is set
	// With MMR, poolEmb holds the pool's embeddings, gathered so that one
	// kernel call scores a picked item against the whole pool, and
	// maxSim[i] candidate i's largest similarity to an item picked.
	mmr     bool
	poolEmb *quant.Int8
	sims    []float32
	maxSim  []float32
	// poolLeft counts the pool's candidates not yet picked: once none is
	// left, no pick reads maxSim, and a long list (k = api.MaxK) stops
	// scoring each pick against the pool. rest is where the scan for the
	// most relevant candidate left resumes: candidates before it are used
	// or capped, and stay so.
	poolLeft, rest int
}

func (r *Recommender) newOrdering(p *bundle.Params, cands []Candidate, rel []float32) *ordering {
	o := &ordering{r: r, p: p, cands: cands, rel: rel,
		used: make([]bool, len(cands)), capped: make([]bool, len(cands))}
	o.idx = byScore(len(cands), func(i int) float32 { return rel[i] }, func(i int) int32 { return cands[i].Row })
	o.pool = o.idx[:min(len(o.idx), mmrPool)]
	o.poolLeft = len(o.pool)
	for _, i := range o.idx {
		if cands[i].SourceRank[api.SourceExplore] >= 0 {
			o.explore = append(o.explore, i)
		}
	}
	if p.CategoryCap > 0 {
		o.catCount = make([]int32, r.b.Vocab.Categories.Size())
	}
	o.mmr = p.MMRLambda < 1 && len(o.pool) > 1
	if o.mmr {
		o.poolEmb = quant.NewInt8(len(o.pool), r.b.Manifest.Dim)
		rows := make([]int32, len(o.pool))
		for j, i := range o.pool {
			rows[j] = cands[i].Row
		}
		r.copyRows(o.poolEmb, rows)
		o.sims = make([]float32, len(o.pool))
		o.maxSim = make([]float32, len(cands))
		for i := range o.maxSim {
			o.maxSim[i] = float32(math.Inf(-1))
		}
	}
	return o
}

// free reports whether candidate i may still be picked.
func (o *ordering) free(i int) bool { return !o.used[i] && !o.capped[i] }

// next returns the candidate for position n (0-based), or −1 when none is
// left: an exploration candidate at every ExploreEvery-th position, else
// the pool's best by MMR, else, the pool spent (caps, or fewer
// candidates), the most relevant left.
func (o *ordering) next(n int) int {
	if e := o.p.ExploreEvery; e > 1 && (n+1)%e == 0 {
		for _, i := range o.explore {
			if o.free(i) {
				return i
			}
		}
	}
	pick, best := -1, float32(math.Inf(-1))
	lambda := o.p.MMRLambda
	for _, i := range o.pool {
		if !o.free(i) {
			continue
		}
		v := o.rel[i]
		if n > 0 && o.mmr {
			v = lambda*o.rel[i] - (1-lambda)*o.maxSim[i]
		}
		if v > best {
			best, pick = v, i
		}
	}
	if pick >= 0 {
		return pick
	}
	for ; o.rest < len(o.idx); o.rest++ {
		if i := o.idx[o.rest]; o.free(i) {
			return i
		}
	}
	return -1
}

// take records that candidate i was picked: its categories count towards
// their caps, and the pool's similarities to it are scored.
func (o *ordering) take(i int) {
	o.used[i] = true
	if slices.Contains(o.pool, i) {
		o.poolLeft--
	}
	row := int(o.cands[i].Row)
	if o.catCount != nil {
		for _, c := range o.r.b.Items.CategoriesOf(row) {
			if o.catCount[c]++; int(o.catCount[c]) == o.p.CategoryCap {
				o.r.capCategory(c, o.cands, o.capped)
			}
		}
	}
	if o.mmr && o.poolLeft > 0 {
		o.poolEmb.Scores(o.sims, o.r.rowQuery(row), 0)
		for j, k := range o.pool {
			if o.sims[j] > o.maxSim[k] { // not max(): a runtime call in wasm
				o.maxSim[k] = o.sims[j]
			}
		}
	}
}

// capCategory marks the candidates in category c as capped.
func (r *Recommender) capCategory(c int32, cands []Candidate, capped []bool) {
	for i := range cands {
		if !capped[i] && slices.Contains(r.b.Items.CategoriesOf(int(cands[i].Row)), c) {
			capped[i] = true
		}
	}
}

// pin places the pinned items that pass the filters at their positions.
func (r *Recommender) pin(out []Candidate, pins []bundle.Pin, k int, keep func(int32) bool) []Candidate {
	for _, p := range pins {
		if p.Position >= k || !keep(p.Item) {
			continue
		}
		for i := range out {
			if out[i].Row == p.Item {
				out = append(out[:i], out[i+1:]...)
				break
			}
		}
		c := newCandidate(p.Item)
		c.Pinned = true
		pos := min(p.Position, len(out))
		out = append(out[:pos], append([]Candidate{c}, out[pos:]...)...)
	}
	return out[:min(len(out), k)]
}
