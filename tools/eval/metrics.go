package eval

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"sync"
)

// Recall returns Recall@K = |top K ∩ targets| / |targets| (0 when there
// are no targets). Cremonesi et al., "Performance of Recommender Algorithms
// on Top-N Recommendation Tasks", RecSys 2010.
func Recall(ranked []string, targets map[string]bool, k int) float64 {
	if len(targets) == 0 {
		return 0
	}
	return float64(hits(ranked, targets, k)) / float64(len(targets))
}

// HitRate returns HR@K = 1 if any target is in the top K, else 0; averaged
// over users it is the share of users with at least one hit. Deshpande &
// Karypis, "Item-Based Top-N Recommendation Algorithms", TOIS 2004.
func HitRate(ranked []string, targets map[string]bool, k int) float64 {
	if hits(ranked, targets, k) > 0 {
		return 1
	}
	return 0
}

// NDCG returns NDCG@K with binary gains: DCG = Σ_{r ≤ K, item r a target}
// 1/log₂(r+1) over 1-based ranks r, divided by the ideal DCG of min(K,
// |targets|) hits at ranks 1…. Järvelin & Kekäläinen, "Cumulated
// Gain-Based Evaluation of IR Techniques", TOIS 2002.
func NDCG(ranked []string, targets map[string]bool, k int) float64 {
	var dcg, idcg float64
	for r := 0; r < min(k, len(ranked)); r++ {
		if targets[ranked[r]] {
			dcg += 1 / math.Log2(float64(r+2))
		}
	}
	for r := 0; r < min(k, len(targets)); r++ {
		idcg += 1 / math.Log2(float64(r+2))
	}
	if idcg == 0 {
		return 0
	}
	return dcg / idcg
}

// NextHit returns next-item HR@K = 1 if next, the user's first target by
// time, is in the top K, else 0: the leave-one-out hit rate of sequential
// recommendation (Kang & McAuley, "Self-Attentive Sequential
// Recommendation", ICDM 2018, whose target is the next item), here ranked
// against the whole catalog rather than sampled negatives.
//
// # Notes
//
// [Evaluate] passes the first of TestUser.Targets, which follow the data
// set's order: by time and, among a user's events with the same timestamp,
// by item id (the order [dataset.Dataset] documents), not by their order in
// the source file. Where a whole basket shares one timestamp, "next" is the
// basket's item with the lowest id (TestNextHitTies).
func NextHit(ranked []string, next string, k int) float64 {
	for _, id := range ranked[:min(k, len(ranked))] {
		if id == next {
			return 1
		}
	}
	return 0
}

// Coverage returns catalog coverage@K = |∪_u top K(u)| / catalog: the share
// of the catalog that appears in at least one user's top K (0 for an empty
// catalog). Ge, Delgado-Battenfeld & Jannach, "Beyond Accuracy: Evaluating
// Recommender Systems by Coverage and Serendipity", RecSys 2010
// ("prediction coverage" over the recommended lists).
func Coverage(lists [][]string, k, catalog int) float64 {
	if catalog <= 0 {
		return 0
	}
	seen := map[string]bool{}
	for _, l := range lists {
		for _, id := range l[:min(k, len(l))] {
			seen[id] = true
		}
	}
	return float64(len(seen)) / float64(catalog)
}

func hits(ranked []string, targets map[string]bool, k int) int {
	n := 0
	for _, id := range ranked[:min(k, len(ranked))] {
		if targets[id] {
			n++
		}
	}
	return n
}

// Bootstrap returns the 95% percentile bootstrap interval of the mean of
// values (Efron & Tibshirani, "An Introduction to the Bootstrap", 1993,
// ch. 13): draw len(values) values with replacement, take their mean,
// repeat resamples times, sort the means m₁ ≤ … ≤ m_B and return
// (m_⌈0.025·B⌉, m_⌈0.975·B⌉) (1-based order statistics). The draws come
// from a PCG stream seeded with seed, so equal inputs give equal intervals
// and two metrics bootstrapped with the same seed over the same users are
// resampled on the same users. Empty values give (0, 0).
func Bootstrap(values []float64, resamples int, seed uint64) (lo, hi float64) {
	n := len(values)
	if n == 0 || resamples <= 0 {
		return 0, 0
	}
	rng := rand.New(rand.NewPCG(seed, 0x626f6f74))
	means := make([]float64, resamples)
	for b := range means {
		var sum float64
		for range n {
			sum += values[rng.IntN(n)]
		}
		means[b] = sum / float64(n)
	}
	sort.Float64s(means)
	at := func(p float64) float64 {
		i := int(math.Ceil(p*float64(resamples))) - 1
		return means[min(max(i, 0), resamples-1)]
	}
	return at(0.025), at(0.975)
}

// Ranker ranks items for a test user, best first, leaving out the user's
// history; it returns at most k items. [Evaluate] calls it from several
// goroutines at once, so it must be safe for concurrent use.
type Ranker func(u TestUser, k int) []string

// Result holds a model's metrics over the test users of a split.
type Result struct {
	// Metrics are the means over the test users of "recall@K", "ndcg@K",
	// "hr@K" for K in [Ks] and of "next-hr@10", plus "coverage@20", which
	// is a property of all the lists together.
	Metrics map[string]float64
	// CI holds the 95% interval of the mean of each metric in [CIMetrics]
	// ([Bootstrap] over the test users, [Resamples] resamples, seed
	// [BootstrapSeed]).
	CI map[string][2]float64
	// PerUser holds each per-user metric's values in the order of
	// Split.Users, for paired comparisons between models.
	PerUser map[string][]float64
	Users   int
}

// Ks are the cut-offs Evaluate reports.
var Ks = []int{10, 20, 50}

// Metric names beside the "recall@K", "ndcg@K" and "hr@K" of [Ks].
const (
	NextHR10   = "next-hr@10"
	Coverage20 = "coverage@20"
	ILD10      = "ild@10"
)

// CIMetrics are the metrics [Evaluate] gives a 95% interval for.
var CIMetrics = []string{"ndcg@10", "recall@20"}

// Bootstrap settings of [Evaluate]'s intervals.
const (
	Resamples     = 1000
	BootstrapSeed = 1
)

// MetricNames lists the metrics of a Result in report order.
func MetricNames() []string {
	var out []string
	for _, m := range []string{"recall", "ndcg", "hr"} {
		for _, k := range Ks {
			out = append(out, key(m, k))
		}
	}
	return append(out, NextHR10, Coverage20, ILD10)
}

// IntraListDiversity returns ILD@K, the mean over pairs of the top K of the
// category distance 1 − |C_i ∩ C_j| / |C_i ∪ C_j| (Jaccard), two items
// without categories counting as distance 0 (Ziegler et al., "Improving
// Recommendation Lists Through Topic Diversification", WWW 2005, with
// category Jaccard distance as the dissimilarity). Lists shorter than 2
// give 0.
func IntraListDiversity(ranked []string, cats map[string][]string, k int) float64 {
	top := ranked[:min(k, len(ranked))]
	if len(top) < 2 {
		return 0
	}
	var sum float64
	pairs := 0
	for i := range top {
		for j := 0; j < i; j++ {
			a, b := cats[top[i]], cats[top[j]]
			inter, union := 0, len(a)
			for _, c := range b {
				if slices.Contains(a, c) {
					inter++
				} else {
					union++
				}
			}
			if union > 0 {
				sum += 1 - float64(inter)/float64(union)
			}
			pairs++
		}
	}
	return sum / float64(pairs)
}

// Evaluate scores rank on every test user of s: the means of Recall@K,
// NDCG@K and HR@K for each K in Ks and of next-item HR@10, catalog
// coverage@20 over the training items, ILD@10 when some training item has
// categories (without any, every list would score 0, which says nothing:
// the metric is left out), and the intervals of [CIMetrics].
// The rankings run on GOMAXPROCS goroutines; the sums run in user order, so
// the result does not depend on scheduling.
func Evaluate(s *Split, rank Ranker) Result {
	maxK := Ks[len(Ks)-1]
	ranked := make([][]string, len(s.Users))
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := 0
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= len(s.Users) {
					return
				}
				ranked[i] = rank(s.Users[i], maxK)
			}
		})
	}
	wg.Wait()

	cats := make(map[string][]string, len(s.Train.Items))
	hasCats := false
	for _, it := range s.Train.Items {
		cats[it.ID] = it.Categories
		hasCats = hasCats || len(it.Categories) > 0
	}
	per := map[string][]float64{}
	for i, u := range s.Users {
		targets := make(map[string]bool, len(u.Targets))
		for _, t := range u.Targets {
			targets[t] = true
		}
		for _, k := range Ks {
			per[key("recall", k)] = append(per[key("recall", k)], Recall(ranked[i], targets, k))
			per[key("ndcg", k)] = append(per[key("ndcg", k)], NDCG(ranked[i], targets, k))
			per[key("hr", k)] = append(per[key("hr", k)], HitRate(ranked[i], targets, k))
		}
		per[NextHR10] = append(per[NextHR10], NextHit(ranked[i], u.Targets[0], 10))
		if hasCats {
			per[ILD10] = append(per[ILD10], IntraListDiversity(ranked[i], cats, 10))
		}
	}
	res := Result{Metrics: map[string]float64{}, CI: map[string][2]float64{}, PerUser: per, Users: len(s.Users)}
	for name, v := range per {
		res.Metrics[name] = mean(v)
	}
	res.Metrics[Coverage20] = Coverage(ranked, 20, len(s.Train.Items))
	for _, name := range CIMetrics {
		lo, hi := Bootstrap(per[name], Resamples, BootstrapSeed)
		res.CI[name] = [2]float64{lo, hi}
	}
	return res
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func key(name string, k int) string { return name + "@" + strconv.Itoa(k) }

// Popularity ranks the training items by their number of training
// interactions (ties by id), skipping the user's history.
func Popularity(s *Split) Ranker {
	count := map[string]int{}
	for _, in := range s.Train.Interactions {
		count[in.Item]++
	}
	items := make([]string, 0, len(count))
	for id := range count {
		items = append(items, id)
	}
	sort.Slice(items, func(i, j int) bool {
		if count[items[i]] != count[items[j]] {
			return count[items[i]] > count[items[j]]
		}
		return items[i] < items[j]
	})
	return func(u TestUser, k int) []string {
		hist := make(map[string]bool, len(u.History))
		for _, h := range u.History {
			hist[h] = true
		}
		out := make([]string, 0, k)
		for _, id := range items {
			if len(out) == k {
				break
			}
			if !hist[id] {
				out = append(out, id)
			}
		}
		return out
	}
}
