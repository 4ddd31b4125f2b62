package pipeline

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bloom"
	"github.com/edgerec/edgerec/core/bloom/bloomtest"
	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/bundle/bundletest"
)

// budgetItems is a catalog large enough that fetching deeper until the
// filters leave k items would look at several times MaxExamined rows.
const budgetItems = 40_000

// adversarialRequests are the costliest requests the filters allow, by
// name: the filter rejects (nearly) everything the sources propose. In a
// bundletest catalog, items with i%4 == 3 are rated 18, so a request
// without an age may see none of them.
func adversarialRequests() map[string]*api.Request {
	rated := func(n int) []string { // n items nobody without an age may see
		ids := make([]string, n)
		for j := range ids {
			ids[j] = bundletest.ID(4*j*(budgetItems/4/n) + 3)
		}
		return ids
	}
	spread := func(n, from int) []string {
		ids := make([]string, n)
		for j := range ids {
			ids[j] = bundletest.ID((from + j*(budgetItems/n)) % budgetItems)
		}
		return ids
	}
	half := spread(api.MaxExclude/2, 0)
	below, _ := bloomtest.Below(2000, api.MaxConsumedFPRate, 1).MarshalBinary()
	return map[string]*api.Request{
		"all-ones consumed, 64 bits":  {K: api.MaxK, Consumed: bloomtest.Full(64, 1)},
		"all-ones consumed, max bits": {K: api.MaxK, Consumed: bloomtest.Full(bloom.MaxBits, bloom.MaxHashes)},
		"consumed just below saturation": {K: api.MaxK, Consumed: below,
			Filters: &api.Filters{Exclude: spread(api.MaxExclude, 1)}},
		"allow-list of rated items":  {K: api.MaxK, Filters: &api.Filters{Allow: rated(api.MaxExclude)}},
		"allow-list of 4096 items":   {K: api.MaxK, Filters: &api.Filters{Allow: spread(api.MaxExclude, 0)}},
		"allow and exclude the same": {K: api.MaxK, Filters: &api.Filters{Allow: half, Exclude: half}},
		"everything at once": {K: api.MaxK, NProbe: 1 << 20, Consumed: bloomtest.Full(bloom.MaxBits, bloom.MaxHashes),
			Filters: &api.Filters{Allow: half, Exclude: half}, Context: api.Context{Region: "mars"}},
		"no source but the back-fill": {K: api.MaxK, Consumed: below,
			Sources: api.Weights{"twotower": 0, "covisit": 0, "popular": 0, "trending": 0, "fresh": 0, "explore": 0, "slim": 0}},
	}
}

// TestAdversarialRequestsStayInBudget sends the costliest requests the
// filters allow to a catalog where fetching deeper would look at many
// times the budget, and checks that each looks at no more than
// MaxExamined rows, answers, and returns only items the filters allow.
func TestAdversarialRequestsStayInBudget(t *testing.T) {
	r := loadBundle(t, bundletest.Random(budgetItems, 16, 1))
	for name, req := range adversarialRequests() {
		t.Run(name, func(t *testing.T) {
			req.Debug = true
			check := *req
			resp, err := r.Recommend(req)
			require.NoError(t, err)
			require.NotNil(t, resp.Debug)
			assert.LessOrEqual(t, resp.Debug.Examined, MaxExamined, "rows examined")
			var consumed *bloom.Filter
			if len(req.Consumed) > 0 && !slices.Contains(resp.Warnings, api.WarnConsumedSaturated) {
				consumed, err = bloom.Decode(req.Consumed)
				require.NoError(t, err)
			}
			for _, it := range resp.Items {
				row, ok := r.Lookup(it.ID)
				require.True(t, ok)
				assert.True(t, eligible(r, &check, nil, int(row)), "item %s breaks a filter", it.ID)
				assert.False(t, consumed != nil && consumed.MayContain(it.ID), "item %s may be consumed", it.ID)
			}
			if len(resp.Items) < req.K {
				// Fewer than k: every eligible item of the allow-list, or
				// the budget ran out and the response says so.
				all := check.Filters != nil && len(check.Filters.Allow) > 0
				if all {
					n := 0
					for _, id := range check.Filters.Allow {
						if row, ok := r.Lookup(id); ok && eligible(r, &check, nil, int(row)) && (consumed == nil || !consumed.MayContain(id)) {
							n++
						}
					}
					all = len(resp.Items) == n
				}
				assert.True(t, all || slices.Contains(resp.Warnings, api.WarnBudgetExhausted),
					"%d items of %d, warnings %v", len(resp.Items), req.K, resp.Warnings)
			}
			t.Logf("%d items, %d rows examined, warnings %v", len(resp.Items), resp.Debug.Examined, resp.Warnings)
		})
	}
}

// TestSaturatedConsumedIsIgnored: a consumed filter past MaxConsumedFPRate
// is answered as if the request had none, with WarnConsumedSaturated; one
// just below it is applied, without the warning.
func TestSaturatedConsumedIsIgnored(t *testing.T) {
	r := load(t, 2000)
	base := func() *api.Request {
		return &api.Request{K: 50, History: []api.Event{{Item: bundletest.ID(5)}, {Item: bundletest.ID(77)}}}
	}
	want, err := r.Recommend(base())
	require.NoError(t, err)
	assert.Empty(t, want.Warnings)
	for _, m := range []int{64, 4096, bloom.MaxBits} {
		req := base()
		req.Consumed = bloomtest.Full(m, 3)
		got, err := r.Recommend(req)
		require.NoError(t, err)
		assert.Equal(t, want.Items, got.Items, "m = %d", m)
		assert.Equal(t, []string{api.WarnConsumedSaturated}, got.Warnings, "m = %d", m)
	}
	f := bloomtest.Below(500, api.MaxConsumedFPRate, 2)
	require.Less(t, f.EstimatedFPRate(), api.MaxConsumedFPRate)
	req := base()
	req.Consumed, _ = f.MarshalBinary()
	got, err := r.Recommend(req)
	require.NoError(t, err)
	assert.NotContains(t, got.Warnings, api.WarnConsumedSaturated)
	assert.Len(t, got.Items, 50)
	for _, it := range got.Items {
		assert.False(t, f.MayContain(it.ID), "item %s may be consumed", it.ID)
	}
}

// TestAllowListServedFromList: an allow-list returns every allowed item
// that passes the other filters (when k asks for that many), looking at
// the list rather than the catalog.
func TestAllowListServedFromList(t *testing.T) {
	r := loadBundle(t, bundletest.Random(budgetItems, 16, 1))
	for _, n := range []int{1, 20, 300, api.MaxExclude} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			req := &api.Request{K: api.MaxK, Debug: true, Context: api.Context{Age: 30},
				History: []api.Event{{Item: bundletest.ID(3)}}, Filters: &api.Filters{}}
			for j := range n {
				req.Filters.Allow = append(req.Filters.Allow, bundletest.ID(j*(budgetItems/n)))
			}
			check := *req
			resp, err := r.Recommend(req)
			require.NoError(t, err)
			want := 0
			for _, id := range check.Filters.Allow {
				row, _ := r.Lookup(id)
				if eligible(r, &check, nil, int(row)) {
					want++
				}
			}
			assert.Len(t, resp.Items, min(want, req.K))
			assert.Empty(t, resp.Warnings)
			assert.LessOrEqual(t, resp.Debug.Examined, 4*n+1000, "rows examined for an allow-list of %d", n)
		})
	}
}

// TestBudgetRunsOut: in a catalog where one item in 500 is available,
// k = api.MaxK cannot be met within the budget; the request looks at no
// more than MaxExamined rows, answers with what survived (the back-fill's
// reserve included) and says the budget ran out.
func TestBudgetRunsOut(t *testing.T) {
	b := bundletest.Random(budgetItems, 16, 1)
	for i := range b.Items.Available {
		b.Items.Available[i] = i%500 == 1
	}
	r := loadBundle(t, b)
	for _, sources := range []api.Weights{nil, {"twotower": 0}} {
		req := &api.Request{K: api.MaxK, Debug: true, Sources: sources, Context: api.Context{Age: 30, Region: "eu"}}
		resp, err := r.Recommend(req)
		require.NoError(t, err)
		assert.LessOrEqual(t, resp.Debug.Examined, MaxExamined)
		assert.Contains(t, resp.Warnings, api.WarnBudgetExhausted)
		assert.NotEmpty(t, resp.Items)
		for _, it := range resp.Items {
			row, _ := r.Lookup(it.ID)
			assert.True(t, b.Items.Available[row], "item %s is unavailable", it.ID)
		}
		t.Logf("sources %v: %d items, %d rows examined", sources, len(resp.Items), resp.Debug.Examined)
	}
}

// BenchmarkAdversarial times each adversarial request beside a normal one
// (k = 20, ten history items).
func BenchmarkAdversarial(b *testing.B) {
	r := loadBundle(b, bundletest.Random(budgetItems, 16, 1))
	reqs := adversarialRequests()
	reqs["normal"] = historyRequest(10, 97)
	for name, req := range reqs {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c := *req
				if _, err := r.Recommend(&c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestBudgetFitsTheOrders: the back-fill walks the bundle's popularity
// order, which keeps bundle.PopularOrderRows rows; a budget larger than
// that would walk past its end and miss popular items.
func TestBudgetFitsTheOrders(t *testing.T) {
	assert.LessOrEqual(t, MaxExamined, bundle.PopularOrderRows)
}
