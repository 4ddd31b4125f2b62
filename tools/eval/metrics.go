package eval

import (
	"math"
	"sort"
	"strconv"
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

// HitRate returns HR@K = 1 if any target is in the top K, else 0.
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

func hits(ranked []string, targets map[string]bool, k int) int {
	n := 0
	for _, id := range ranked[:min(k, len(ranked))] {
		if targets[id] {
			n++
		}
	}
	return n
}

// Ranker ranks items for a test user, best first, leaving out the user's
// history.
type Ranker func(u TestUser, k int) []string

// Result holds a model's metrics averaged over the test users.
type Result struct {
	Metrics map[string]float64 // "recall@20", "ndcg@10", "hr@10", ...
	Users   int
}

// Ks are the cut-offs Evaluate reports.
var Ks = []int{10, 20, 50}

// Evaluate scores rank on every test user of s and averages Recall@K,
// NDCG@K and HR@K for each K in Ks.
func Evaluate(s *Split, rank Ranker) Result {
	maxK := Ks[len(Ks)-1]
	sum := map[string]float64{}
	for _, u := range s.Users {
		targets := make(map[string]bool, len(u.Targets))
		for _, t := range u.Targets {
			targets[t] = true
		}
		ranked := rank(u, maxK)
		for _, k := range Ks {
			sum[key("recall", k)] += Recall(ranked, targets, k)
			sum[key("ndcg", k)] += NDCG(ranked, targets, k)
			sum[key("hr", k)] += HitRate(ranked, targets, k)
		}
	}
	for k := range sum {
		sum[k] /= float64(len(s.Users))
	}
	return Result{Metrics: sum, Users: len(s.Users)}
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
