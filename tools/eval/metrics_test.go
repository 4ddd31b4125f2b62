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

func TestNextHitAndCoverageByHand(t *testing.T) {
	cases := []struct {
		name string
		got  float64
		want float64
	}{
		{"next in top 2", NextHit([]string{"a", "b", "c"}, "b", 2), 1},
		{"next at rank 3, K = 2", NextHit([]string{"a", "b", "c"}, "c", 2), 0},
		{"next beyond the list", NextHit([]string{"a"}, "c", 10), 0},
		// Top 2 of each list: {a, b} ∪ {b, c} = 3 of 6 items.
		{"coverage@2", Coverage([][]string{{"a", "b", "x"}, {"b", "c"}}, 2, 6), 0.5},
		// Top 3 adds x: 4 of 8.
		{"coverage@3", Coverage([][]string{{"a", "b", "x"}, {"b", "c"}}, 3, 8), 0.5},
		{"coverage of an empty catalog", Coverage([][]string{{"a"}}, 1, 0), 0},
		{"coverage of no lists", Coverage(nil, 20, 5), 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if math.Abs(tc.got-tc.want) > 1e-12 {
				t.Errorf("got %.6f, want %.6f", tc.got, tc.want)
			}
		})
	}
}

func TestBootstrap(t *testing.T) {
	t.Run("constant", func(t *testing.T) {
		lo, hi := Bootstrap([]float64{0.25, 0.25, 0.25}, 200, 1)
		if lo != 0.25 || hi != 0.25 {
			t.Errorf("interval [%v, %v], want [0.25, 0.25]", lo, hi)
		}
	})
	t.Run("empty", func(t *testing.T) {
		if lo, hi := Bootstrap(nil, 100, 1); lo != 0 || hi != 0 {
			t.Errorf("interval [%v, %v], want [0, 0]", lo, hi)
		}
	})
	t.Run("binary against the normal approximation", func(t *testing.T) {
		// 400 users, 30% hits: the normal approximation gives
		// 0.3 ± 1.96·√(0.3·0.7/400) = 0.3 ± 0.0449.
		v := make([]float64, 400)
		for i := range 120 {
			v[i] = 1
		}
		lo, hi := Bootstrap(v, Resamples, BootstrapSeed)
		if math.Abs(lo-(0.3-0.0449)) > 0.01 || math.Abs(hi-(0.3+0.0449)) > 0.01 {
			t.Errorf("interval [%.4f, %.4f], want about [0.2551, 0.3449]", lo, hi)
		}
		lo2, hi2 := Bootstrap(v, Resamples, BootstrapSeed)
		if lo2 != lo || hi2 != hi {
			t.Error("same seed, different interval")
		}
	})
}

func TestEvaluateByHand(t *testing.T) {
	s := &Split{Train: &dataset.Dataset{}}
	for _, id := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"} {
		s.Train.Items = append(s.Train.Items, dataset.Item{ID: id})
	}
	s.Users = []TestUser{
		{ID: "u1", History: []string{"j"}, Targets: []string{"e", "b"}},
		{ID: "u2", History: []string{"j"}, Targets: []string{"a"}},
	}
	lists := map[string][]string{"u1": {"a", "b", "c", "d", "e"}, "u2": {"c"}}
	r := Evaluate(s, func(u TestUser, k int) []string { return lists[u.ID] })
	// u1: hits at ranks 2 and 5 of 2 targets; u2: none.
	ndcg1 := (1/math.Log2(3) + 1/math.Log2(6)) / (1 + 1/math.Log2(3))
	want := map[string]float64{
		"recall@10": 0.5, "recall@20": 0.5, "recall@50": 0.5,
		"ndcg@10": ndcg1 / 2, "ndcg@50": ndcg1 / 2,
		"hr@10": 0.5, "hr@50": 0.5,
		NextHR10: 0.5, // u1's first target e is at rank 5
		// {a, b, c, d, e} of 10 training items.
		Coverage20: 0.5,
	}
	for name, w := range want {
		if got := r.Metrics[name]; math.Abs(got-w) > 1e-12 {
			t.Errorf("%s = %.6f, want %.6f", name, got, w)
		}
	}
	// Every metric but ILD@10, which items without categories leave out.
	if len(r.Metrics) != len(MetricNames())-1 {
		t.Errorf("%d metrics, want %d (%v without %s)", len(r.Metrics), len(MetricNames())-1, MetricNames(), ILD10)
	}
	// Resampling two users with recall 1 and 0: a quarter of the means
	// are 0 and a quarter 1, so the 2.5% and 97.5% points are 0 and 1.
	if ci := r.CI["recall@20"]; ci != [2]float64{0, 1} {
		t.Errorf("recall@20 interval %v, want [0 1]", ci)
	}
	if got := r.PerUser["recall@10"]; len(got) != 2 || got[0] != 1 || got[1] != 0 {
		t.Errorf("per-user recall@10 = %v, want [1 0]", got)
	}
}

func TestIntraListDiversity(t *testing.T) {
	cats := map[string][]string{"a": {"x"}, "b": {"x", "y"}, "c": {"z"}, "d": nil}
	// Pairs of [a b c]: a–b 1 − 1/2, a–c 1, b–c 1 → (0.5 + 1 + 1)/3.
	if got, want := IntraListDiversity([]string{"a", "b", "c"}, cats, 10), 2.5/3; math.Abs(got-want) > 1e-12 {
		t.Errorf("ILD = %v, want %v", got, want)
	}
	if got := IntraListDiversity([]string{"a", "b", "c"}, cats, 2); got != 0.5 {
		t.Errorf("ILD@2 = %v, want 0.5", got)
	}
	if got := IntraListDiversity([]string{"d", "d"}, cats, 10); got != 0 {
		t.Errorf("ILD of uncategorized items = %v, want 0", got)
	}
}
