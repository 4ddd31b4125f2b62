package pipeline

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/bundle/bundletest"
)

// TestStandardizeIgnoresOutliers: one wild score (a ranker extrapolating)
// leaves the other candidates' relevance on a unit scale, as without it.
func TestStandardizeIgnoresOutliers(t *testing.T) {
	mk := func(scores ...float32) []Candidate {
		c := make([]Candidate, len(scores))
		for i, s := range scores {
			c[i] = newCandidate(int32(i))
			c[i].Score = s
		}
		return c
	}
	var base []float32
	for i := range 21 {
		base = append(base, float32(i)/10)
	}
	clean := standardize(mk(base...))
	wild := standardize(mk(append(append([]float32(nil), base...), -500)...))
	spread := func(r []float32) float64 { return float64(r[20] - r[0]) }
	t.Logf("spread of 21 scores: %.2f alone, %.2f beside a score of -500", spread(clean), spread(wild))
	if spread(clean) < 2 || math.Abs(spread(wild)-spread(clean)) > 0.25*spread(clean) {
		t.Errorf("relevance spread %.2f alone, %.2f with an outlier", spread(clean), spread(wild))
	}
	if wild[21] > -50 {
		t.Errorf("the outlier's relevance %.1f is not far below the rest", wild[21])
	}
	// Equal scores: relevance 0, no division by zero.
	for _, r := range standardize(mk(2, 2, 2)) {
		if r != 0 {
			t.Errorf("equal scores: relevance %v", r)
		}
	}
}

// TestMedianMatchesSort holds the quickselect median to the median of the
// sorted values, with ties and both parities.
func TestMedianMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	for n := 1; n < 300; n++ {
		s := make([]float64, n)
		for i := range s {
			s[i] = float64(rng.IntN(7)) - 3
			if rng.IntN(2) == 0 {
				s[i] = rng.NormFloat64()
			}
		}
		sorted := slices.Sorted(slices.Values(s))
		want := sorted[n/2]
		if n%2 == 0 {
			want = (sorted[n/2-1] + sorted[n/2]) / 2
		}
		if got := median(s); got != want {
			t.Fatalf("n=%d: median %v, want %v", n, got, want)
		}
	}
}

// TestOrderOverrides: a request's api.Order replaces the bundle's ordering
// parameters, and only those it sets.
func TestOrderOverrides(t *testing.T) {
	r := load(t, 400)
	hist := []api.Event{{Item: bundletest.ID(3)}, {Item: bundletest.ID(50)}, {Item: bundletest.ID(77)}}
	base := &api.Request{K: 20, History: hist}
	p0, _, err := r.Params(base)
	if err != nil {
		t.Fatal(err)
	}
	lambda, every, capN := 0.25, 3, 2
	p, _, err := r.Params(&api.Request{K: 20, History: hist, Order: &api.Order{MMRLambda: &lambda, ExploreEvery: &every}})
	if err != nil {
		t.Fatal(err)
	}
	want := p0
	want.MMRLambda, want.ExploreEvery = 0.25, 3
	if p != want {
		t.Fatalf("params %+v, want %+v", p, want)
	}

	// The override reaches the ordering: explore_every 3 and 0 order
	// differently (Params above shows which values apply).
	ids := func(o *api.Order) []string {
		resp, err := r.Recommend(&api.Request{K: 12, History: hist, Order: o})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, it := range resp.Items {
			out = append(out, it.ID)
		}
		return out
	}
	zero, one := 0, 1.0
	if a, b := ids(&api.Order{ExploreEvery: &zero}), ids(&api.Order{ExploreEvery: &every}); slices.Equal(a, b) {
		t.Errorf("explore_every 0 and 3 give the same list %v", a)
	}
	if a, b := ids(&api.Order{MMRLambda: &one}), ids(&api.Order{MMRLambda: &lambda}); slices.Equal(a, b) {
		t.Errorf("mmr_lambda 1 and 0.25 give the same list %v", a)
	}
	// A category cap of 2 leaves at most two items per category.
	resp, err := r.Recommend(&api.Request{K: 8, History: hist, Order: &api.Order{CategoryCap: &capN}})
	if err != nil {
		t.Fatal(err)
	}
	perCat := map[string]int{}
	for _, it := range resp.Items {
		row, _ := r.Lookup(it.ID)
		for _, c := range r.b.Items.CategoriesOf(int(row)) {
			perCat[r.b.Vocab.Categories.Values[c-1]]++
		}
	}
	for c, n := range perCat {
		if n > 2 {
			t.Errorf("%d items of category %s with a cap of 2", n, c)
		}
	}

	bad := 1.5
	if _, err := api.DecodeRequest(mustEncode(t, &api.Request{Order: &api.Order{MMRLambda: &bad}})); err == nil {
		t.Error("mmr_lambda 1.5 accepted")
	}
	neg := -1
	if _, err := api.DecodeRequest(mustEncode(t, &api.Request{Order: &api.Order{ExploreEvery: &neg}})); err == nil {
		t.Error("explore_every -1 accepted")
	}
}

func mustEncode(t *testing.T, r *api.Request) []byte {
	t.Helper()
	b, err := api.EncodeRequest(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOrder checks the order stage's knobs.
func TestOrder(t *testing.T) {
	b := bundletest.Random(400, 32, 5)
	ctx := api.Context{Age: 40, Region: "eu", Time: bundletest.Created}
	params := func(mod func(p *bundle.Params)) *Recommender {
		bb := bundletest.Random(400, 32, 5)
		mod(&bb.Pipeline.Defaults)
		return loadBundle(t, bb)
	}
	t.Run("impression demotes", func(t *testing.T) {
		r := loadBundle(t, b)
		first, _ := r.Recommend(&api.Request{K: 10, Context: ctx})
		top := first.Items[0].ID
		second, _ := r.Recommend(&api.Request{K: 10, Context: ctx, Impressions: []api.Impression{{Item: top, Count: 3, Last: ctx.Time}}})
		pos := slices.IndexFunc(second.Items, func(it api.Item) bool { return it.ID == top })
		if pos == 0 {
			t.Errorf("the impressed item %s is still first", top)
		}
	})
	t.Run("category cap", func(t *testing.T) {
		r := params(func(p *bundle.Params) { p.CategoryCap = 2 })
		resp, _ := r.Recommend(&api.Request{K: 8, Context: ctx})
		count := map[int32]int{}
		for _, it := range resp.Items {
			row, _ := r.Lookup(it.ID)
			for _, c := range b.Items.CategoriesOf(int(row)) {
				if count[c]++; count[c] > 2 {
					t.Errorf("category %d appears %d times", c, count[c])
				}
			}
		}
		if len(resp.Items) != 8 {
			t.Errorf("%d items with a cap of 2 over 4 categories, want 8", len(resp.Items))
		}
	})
	t.Run("exploration slots", func(t *testing.T) {
		r := params(func(p *bundle.Params) { p.ExploreEvery = 3 })
		resp, _ := r.Recommend(&api.Request{K: 9, Context: ctx})
		for i, it := range resp.Items {
			if (i+1)%3 == 0 && it.Source != "explore" {
				t.Errorf("position %d is %s from %s, want an exploration slot", i, it.ID, it.Source)
			}
		}
	})
	t.Run("MMR diversifies", func(t *testing.T) {
		sim := func(r *Recommender, items []api.Item) float32 {
			var s float32
			for i := range items {
				for j := 0; j < i; j++ {
					a, _ := r.Lookup(items[i].ID)
					c, _ := r.Lookup(items[j].ID)
					s += cosine(r, a, c)
				}
			}
			return s
		}
		plain := params(func(p *bundle.Params) { p.MMRLambda = 1 })
		diverse := params(func(p *bundle.Params) { p.MMRLambda = 0.3 })
		a, _ := plain.Recommend(&api.Request{K: 10, Context: ctx})
		d, _ := diverse.Recommend(&api.Request{K: 10, Context: ctx})
		if sa, sd := sim(plain, a.Items), sim(diverse, d.Items); !(sd < sa) {
			t.Errorf("pairwise similarity with λ=0.3 is %.3f, with λ=1 %.3f: MMR did not diversify", sd, sa)
		}
	})
	t.Run("pins and boosts", func(t *testing.T) {
		bb := bundletest.Random(400, 32, 5)
		bb.Pipeline.Rules.Pinned = []bundle.Pin{{Item: 1, Position: 2}}
		bb.Pipeline.Rules.Exclude = []int32{4}
		r := loadBundle(t, bb)
		resp, _ := r.Recommend(&api.Request{K: 5, Context: ctx})
		if resp.Items[2].ID != bundletest.ID(1) || resp.Items[2].Source != "pinned" {
			t.Errorf("position 2 is %+v, want the pinned %s", resp.Items[2], bundletest.ID(1))
		}
		for _, it := range resp.Items {
			if it.ID == bundletest.ID(4) {
				t.Error("an excluded item was returned")
			}
		}
	})
}

func cosine(r *Recommender, a, b int32) float32 {
	e := r.b.Embeddings
	var s int32
	for j := range e.Dim {
		s += int32(e.Row(int(a))[j]) * int32(e.Row(int(b))[j])
	}
	return e.Scales[a] * e.Scales[b] * float32(s)
}

// BenchmarkMedian compares median's quickselect with sorting a copy, on
// the ~200 scores of a typical request. In wazero:
//
//	GOOS=wasip1 GOARCH=wasm go test -exec "$(go env GOROOT)/lib/wasm/go_wasip1_wasm_exec" -run '^$' -bench Median ./core/pipeline
func BenchmarkMedian(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	src := make([]float64, 205)
	for i := range src {
		src[i] = rng.NormFloat64()
	}
	s := make([]float64, len(src))
	b.Run("quickselect", func(b *testing.B) {
		for b.Loop() {
			copy(s, src)
			median(s)
		}
	})
	b.Run("sort", func(b *testing.B) {
		for b.Loop() {
			copy(s, src)
			slices.Sort(s)
			_ = (s[len(s)/2-1] + s[len(s)/2]) / 2
		}
	})
}
