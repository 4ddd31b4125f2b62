package pipeline

import (
	"slices"
	"testing"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle/bundletest"
)

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
