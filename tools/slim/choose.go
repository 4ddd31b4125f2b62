package slim

import (
	"cmp"
	"github.com/edgerec/edgerec/core/bundle"
	"slices"
	"sort"
)

// DefaultLambdas is the grid Choose searches, relative to the mean item
// count (Config.Lambda). The best value moves with the data: measured on
// MovieLens-100K, latest-small and Last.fm it ranged from 4 to 64.
var DefaultLambdas = []float64{2, 8, 32, 128}

// Seq is one user's distinct item rows and their times, in time order.
type Seq struct {
	Items []int32
	Times []int64
}

// Choose picks Config.Lambda from lambdas on a temporal validation split of
// seqs: the model is fitted on the events before the 0.9 quantile of their
// times and scored by Recall@20 of the served form (each history item's Top
// neighbours) on each user's later items; the best λ wins (ties: the
// first). It returns the chosen λ and the validation recall of each; with
// no user to validate on, cfg.Lambda.
func Choose(seqs []Seq, n int, cfg Config, lambdas []float64) (float64, map[float64]float64, error) {
	var times []int64
	for _, s := range seqs {
		times = append(times, s.Times...)
	}
	if len(times) == 0 {
		return cfg.Lambda, nil, nil
	}
	slices.Sort(times)
	cut := times[len(times)*9/10]
	train := make([][]int32, 0, len(seqs))
	type val struct {
		hist    []int32
		targets map[int32]bool
	}
	var vals []val
	for _, s := range seqs {
		k := sort.Search(len(s.Times), func(i int) bool { return s.Times[i] >= cut })
		train = append(train, s.Items[:k])
		if k == 0 || k == len(s.Items) {
			continue
		}
		v := val{hist: s.Items[:k], targets: map[int32]bool{}}
		for _, it := range s.Items[k:] {
			v.targets[it] = true
		}
		vals = append(vals, v)
	}
	if len(vals) == 0 {
		return cfg.Lambda, nil, nil
	}
	scores := map[float64]float64{}
	best, bestRecall := cfg.Lambda, -1.0
	if len(lambdas) == 0 {
		return cfg.Lambda, scores, nil
	}
	dst := make([]float32, n)
	nbs, err := FitLambdas(train, n, cfg, lambdas)
	if err != nil {
		return 0, nil, err
	}
	for li, l := range lambdas {
		nb := nbs[li]
		var sum float64
		for _, v := range vals {
			clear(dst)
			seen := map[int32]bool{}
			for _, h := range v.hist {
				seen[h] = true
			}
			var touched []int32
			for _, h := range v.hist {
				items, ws := nb.Of(int(h))
				for i, j := range items {
					if !seen[j] {
						if dst[j] == 0 {
							touched = append(touched, j)
						}
						dst[j] += ws[i]
					}
				}
			}
			slices.SortFunc(touched, func(a, b int32) int { return cmp.Or(cmp.Compare(dst[b], dst[a]), cmp.Compare(a, b)) })
			hits := 0
			for _, j := range touched[:min(20, len(touched))] {
				if v.targets[j] {
					hits++
				}
			}
			sum += float64(hits) / float64(len(v.targets))
		}
		scores[l] = sum / float64(len(vals))
		if scores[l] > bestRecall {
			best, bestRecall = l, scores[l]
		}
	}
	return best, scores, nil
}

// FitChosen chooses λ from lambdas with Choose, then fits on every event
// of seqs with it: what the bundle builder serves. It returns the
// neighbours and the λ chosen.
func FitChosen(seqs []Seq, n int, cfg Config, lambdas []float64) (*bundle.Neighbours, float64, error) {
	lambda, _, err := Choose(seqs, n, cfg, lambdas)
	if err != nil {
		return nil, 0, err
	}
	cfg.Lambda = lambda
	users := make([][]int32, len(seqs))
	for u := range seqs {
		users[u] = seqs[u].Items
	}
	nb, err := Fit(users, n, cfg)
	return nb, lambda, err
}
