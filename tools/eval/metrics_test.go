package eval

import (
	"math"
	"testing"

	"github.com/edgerec/edgerec/tools/dataset"
)

func set(ids ...string) map[string]bool {
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}

func TestMetricsByHand(t *testing.T) {
	ranked := []string{"a", "b", "c", "d", "e"}
	targets := set("b", "e", "z")
	cases := []struct {
		name string
		got  float64
		want float64
	}{
		// Hits in the top 2: b → 1 of 3 targets.
		{"recall@2", Recall(ranked, targets, 2), 1.0 / 3},
		{"recall@5", Recall(ranked, targets, 5), 2.0 / 3},
		{"recall@10 beyond the list", Recall(ranked, targets, 10), 2.0 / 3},
		{"hr@1", HitRate(ranked, targets, 1), 0},
		{"hr@2", HitRate(ranked, targets, 2), 1},
		// DCG@5 = 1/log2(3) + 1/log2(6); IDCG@5 = 1 + 1/log2(3) + 1/log2(4).
		{"ndcg@5", NDCG(ranked, targets, 5), (1/math.Log2(3) + 1/math.Log2(6)) / (1 + 1/math.Log2(3) + 0.5)},
		// K = 2: DCG = 1/log2(3); IDCG over min(2, 3) = 2 hits: 1 + 1/log2(3).
		{"ndcg@2", NDCG(ranked, targets, 2), (1 / math.Log2(3)) / (1 + 1/math.Log2(3))},
		{"ndcg perfect", NDCG([]string{"b", "e"}, set("b", "e"), 10), 1},
		{"no targets", Recall(ranked, set(), 5), 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if math.Abs(tc.got-tc.want) > 1e-12 {
				t.Errorf("got %.6f, want %.6f", tc.got, tc.want)
			}
		})
	}
}

func TestTemporalSplit(t *testing.T) {
	ds := &dataset.Dataset{Name: "hand"}
	for _, id := range []string{"a", "b", "c", "d", "new"} {
		ds.Items = append(ds.Items, dataset.Item{ID: id})
	}
	add := func(u, i string, ts int64) {
		ds.Interactions = append(ds.Interactions, dataset.Interaction{User: u, Item: i, Time: ts, Value: 1})
	}
	// Ten events: the 0.7 quantile is the time at index ⌊0.7·10⌋ = 7 of the
	// sorted times: 80, leaving 7 events (6 distinct pairs) in train.
	add("u1", "a", 10)
	add("u1", "b", 20)
	add("u2", "a", 30)
	add("u2", "c", 40)
	add("u3", "d", 50)
	add("u1", "a", 60) // repeat of (u1, a): dropped
	add("u3", "a", 70)
	add("u1", "c", 80)   // target
	add("u2", "new", 90) // item not in train: not a target
	add("u4", "a", 95)   // user without train history: not a test user
	s, err := TemporalSplit(ds, 0.7)
	if err != nil {
		t.Fatal(err)
	}
	if s.T != 80 {
		t.Errorf("T = %d, want 80", s.T)
	}
	if len(s.Train.Interactions) != 6 || len(s.Train.Items) != 4 {
		t.Errorf("train has %d interactions and %d items, want 6 and 4", len(s.Train.Interactions), len(s.Train.Items))
	}
	if len(s.Users) != 1 || s.Users[0].ID != "u1" || len(s.Users[0].Targets) != 1 || s.Users[0].Targets[0] != "c" {
		t.Fatalf("test users = %+v, want u1 with target c", s.Users)
	}
	if h := s.Users[0].History; len(h) != 2 || h[0] != "a" || h[1] != "b" {
		t.Errorf("history = %v, want [a b]", h)
	}
	pop := Popularity(s)(s.Users[0], 3)
	// Train counts: a 3, then b, c, d 1 each (ties by id); a and b are in
	// u1's history.
	if len(pop) != 2 || pop[0] != "c" || pop[1] != "d" {
		t.Errorf("popularity = %v, want [c d]", pop)
	}
	if _, err := TemporalSplit(ds, 1); err == nil {
		t.Error("quantile 1 accepted")
	}
}
