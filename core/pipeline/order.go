package pipeline

import (
	"math"
	"slices"

	"github.com/edgerec/edgerec/core/ann"
	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/quant"
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
// quickselect (Hoare's FIND, as ann's top-k): for 205 scores, 13 µs in
// wazero where sorting them twice took 44. The scores are finite.
func median(s []float64) float64 {
	n := len(s)
	m := ann.SelectNth(s, n/2)
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
// cands must have passed the filters; the result is at most k long.
func (r *Recommender) order(req *api.Request, q *Query, p *bundle.Params, cands []Candidate, k int, keep func(int32) bool) []Candidate {
	rel := standardize(cands)
	if len(req.Impressions) > 0 && p.Demote > 0 {
		shown := make(map[int32]api.Impression, len(req.Impressions))
		for _, im := range req.Impressions {
			if row, ok := r.index[im.Item]; ok {
				prev := shown[row]
				prev.Count += max(im.Count, 1)
				prev.Last = max(prev.Last, im.Last)
				shown[row] = prev
			}
		}
		for i, c := range cands {
			if im, ok := shown[c.Row]; ok {
				days := 0.0
				if im.Last > 0 && q.Time > im.Last {
					days = float64(q.Time-im.Last) / 86400
				}
				rel[i] -= p.Demote * float32(math.Log1p(float64(im.Count))*math.Exp2(-days/7))
			}
		}
	}
	var pins []bundle.Pin
	if pipe := r.b.Pipeline; pipe != nil {
		if len(pipe.Rules.Boosted) > 0 {
			at := make(map[int32]int, len(cands))
			for i, c := range cands {
				at[c.Row] = i
			}
			for _, b := range pipe.Rules.Boosted {
				if i, ok := at[b.Item]; ok {
					rel[i] += b.Amount
				}
			}
		}
		pins = pipe.Rules.Pinned
	}

	// The mmrPool most relevant, plus every exploration candidate.
	idx := byScore(len(cands), func(i int) float32 { return rel[i] }, func(i int) int32 { return cands[i].Row })
	pool := idx[:min(len(idx), mmrPool)]
	var explore []int
	for _, i := range idx {
		if cands[i].SourceRank[bundle.SourceExplore] >= 0 {
			explore = append(explore, i)
		}
	}

	// Category caps: capped[i] is set once one of candidate i's categories
	// is full.
	items := &r.b.Items
	var catCount []int32
	capped := make([]bool, len(cands))
	if p.CategoryCap > 0 {
		catCount = make([]int32, r.b.Vocab.Categories.Size())
	}
	lambda := p.MMRLambda
	mmr := lambda < 1 && len(pool) > 1
	// The pool's embeddings, gathered so that one kernel call scores a
	// picked item against the whole pool.
	emb := r.b.Embeddings
	var poolEmb *quant.Int8
	var sims []float32
	maxSim := make([]float32, len(cands))
	if mmr {
		poolEmb = quant.NewInt8(len(pool), emb.Dim)
		for j, i := range pool {
			copy(poolEmb.Row(j), emb.Row(int(cands[i].Row)))
			poolEmb.Scales[j] = emb.Scales[cands[i].Row]
		}
		sims = make([]float32, len(pool))
		for i := range maxSim {
			maxSim[i] = float32(math.Inf(-1))
		}
	}
	used := make([]bool, len(cands))
	// poolLeft counts the pool's candidates not yet picked: once none is
	// left, no pick reads maxSim, and a long list (k = api.MaxK) stops
	// scoring each pick against the pool. rest is where the scan for the
	// most relevant candidate left resumes: candidates before it are used
	// or capped, and stay so.
	poolLeft, rest := len(pool), 0
	var out []Candidate
	for len(out) < k {
		pick := -1
		if p.ExploreEvery > 1 && (len(out)+1)%p.ExploreEvery == 0 {
			for _, i := range explore {
				if !used[i] && !capped[i] {
					pick = i
					break
				}
			}
		}
		if pick < 0 {
			best := float32(math.Inf(-1))
			for _, i := range pool {
				if used[i] || capped[i] {
					continue
				}
				v := rel[i]
				if len(out) > 0 && mmr {
					v = lambda*rel[i] - (1-lambda)*maxSim[i]
				}
				if v > best {
					best, pick = v, i
				}
			}
		}
		if pick < 0 {
			// The pool is spent (caps, or fewer candidates): take the rest
			// in order of relevance.
			for ; rest < len(idx); rest++ {
				if i := idx[rest]; !used[i] && !capped[i] {
					pick = i
					break
				}
			}
		}
		if pick < 0 {
			break
		}
		used[pick] = true
		if slices.Contains(pool, pick) {
			poolLeft--
		}
		out = append(out, cands[pick])
		if catCount != nil {
			for _, c := range items.CategoriesOf(int(cands[pick].Row)) {
				if catCount[c]++; int(catCount[c]) == p.CategoryCap {
					r.capCategory(c, cands, capped)
				}
			}
		}
		if mmr && poolLeft > 0 {
			poolEmb.Scores(sims, emb.RowQuery(int(cands[pick].Row)), 0)
			for j, i := range pool {
				if sims[j] > maxSim[i] { // not max(): a runtime call in wasm
					maxSim[i] = sims[j]
				}
			}
		}
	}
	return r.pin(out, pins, k, keep)
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
