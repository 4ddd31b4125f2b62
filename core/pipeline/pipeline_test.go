package pipeline

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bloom"
	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/bundle/bundletest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func loadBundle(t testing.TB, b *bundle.Bundle) *Recommender {
	t.Helper()
	data, err := bundle.Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Load(data)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func load(t testing.TB, n int) *Recommender { return loadBundle(t, bundletest.Random(n, 32, 1)) }

// eligible is the reference filter, written apart from filter.keep: may
// item row be returned to req?
func eligible(r *Recommender, req *api.Request, consumed map[string]bool, row int) bool {
	it := &r.b.Items
	id := it.IDs.At(row)
	for _, h := range req.History {
		if h.Item == id {
			return false
		}
	}
	if req.Seed == id || consumed[id] {
		return false
	}
	if f := req.Filters; f != nil {
		if slices.Contains(f.Exclude, id) || len(f.Allow) > 0 && !slices.Contains(f.Allow, id) {
			return false
		}
		if !f.IgnoreAvailability && !it.Available[row] {
			return false
		}
	} else if !it.Available[row] {
		return false
	}
	rating := int(it.AgeRating[row])
	if req.Context.Age > 0 && rating > req.Context.Age || req.Context.Age == 0 && rating >= AdultAge {
		return false
	}
	if regs := it.RegionsOf(row); len(regs) > 0 {
		ok := false
		for _, g := range regs {
			ok = ok || r.b.Vocab.Licensing.Values[g-1] == req.Context.Region
		}
		if !ok {
			return false
		}
	}
	return true
}

// randomRequest draws a request over a bundletest catalog of n items, and
// the set of items its consumed filter holds.
func randomRequest(rng *rand.Rand, n int) (*api.Request, map[string]bool) {
	req := &api.Request{
		UserID: fmt.Sprintf("u%d", rng.IntN(1000)),
		K:      1 + rng.IntN(40),
		Context: api.Context{
			Region: []string{"", "eu", "us", "mars"}[rng.IntN(4)],
			Age:    []int{0, 12, 16, 30, 70}[rng.IntN(5)],
			Time:   bundletest.Created - int64(rng.IntN(3))*86400,
		},
		ExperimentKey: fmt.Sprintf("k%d", rng.IntN(10)),
	}
	for h := rng.IntN(25); h > 0; h-- {
		req.History = append(req.History, api.Event{Item: bundletest.ID(rng.IntN(n))})
	}
	if rng.IntN(3) == 0 {
		req.Seed = bundletest.ID(rng.IntN(n))
	}
	if rng.IntN(3) == 0 {
		req.Filters = &api.Filters{IgnoreAvailability: rng.IntN(2) == 0}
		for e := rng.IntN(10); e > 0; e-- {
			req.Filters.Exclude = append(req.Filters.Exclude, bundletest.ID(rng.IntN(n)))
		}
		if rng.IntN(4) == 0 {
			for a := 5 + rng.IntN(60); a > 0; a-- {
				req.Filters.Allow = append(req.Filters.Allow, bundletest.ID(rng.IntN(n)))
			}
		}
	}
	for i := rng.IntN(5); i > 0; i-- {
		req.Impressions = append(req.Impressions, api.Impression{Item: bundletest.ID(rng.IntN(n)), Count: 1 + rng.IntN(3)})
	}
	if rng.IntN(4) == 0 {
		req.Sources = api.Weights{"twotower": float32(rng.IntN(2)), "explore": 1}
	}
	consumed := map[string]bool{}
	if rng.IntN(2) == 0 {
		f, _ := bloom.New(200, 0.01)
		for c := rng.IntN(150); c > 0; c-- {
			id := bundletest.ID(rng.IntN(n))
			f.Add(id)
			consumed[id] = true
		}
		req.Consumed, _ = f.MarshalBinary()
	}
	return req, consumed
}

// TestPropertiesOverRandomRequests checks, over random requests: no
// returned item breaks a filter; no consumed item is returned; k items come
// back whenever k items are eligible; no duplicates; the same request gives
// the same response. It also measures the consumed filter's false-positive
// rate among eligible items.
func TestPropertiesOverRandomRequests(t *testing.T) {
	const n = 600
	r := load(t, n)
	rng := rand.New(rand.NewPCG(11, 12))
	var fpDropped, fpCandidates int
	for trial := 0; trial < 300; trial++ {
		req, consumed := randomRequest(rng, n)
		again := *req
		resp, err := r.Recommend(req)
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		eligibleCount := 0
		for row := 0; row < n; row++ {
			if eligible(r, req, consumed, row) {
				eligibleCount++
			}
		}
		seen := map[string]bool{}
		for _, it := range resp.Items {
			row, ok := r.Lookup(it.ID)
			if !ok || seen[it.ID] {
				t.Fatalf("trial %d: unknown or repeated item %s", trial, it.ID)
			}
			seen[it.ID] = true
			if consumed[it.ID] {
				t.Fatalf("trial %d: consumed item %s returned", trial, it.ID)
			}
			if !eligible(r, req, consumed, int(row)) {
				t.Fatalf("trial %d: item %s breaks a filter (request %+v)", trial, it.ID, req)
			}
		}
		if want := min(req.K, eligibleCount); len(resp.Items) < want {
			// Only the consumed filter's false positives may take items
			// away from the eligible set.
			fp := 0
			if len(req.Consumed) > 0 {
				f, _ := bloom.Decode(req.Consumed)
				for row := 0; row < n; row++ {
					if eligible(r, req, consumed, row) && f.MayContain(r.b.Items.IDs.At(int(row))) {
						fp++
					}
				}
			}
			if len(resp.Items) < min(req.K, eligibleCount-fp) {
				t.Fatalf("trial %d: %d items, want %d (%d eligible, %d false positives)", trial, len(resp.Items), want, eligibleCount, fp)
			}
		}
		if len(req.Consumed) > 0 {
			f, _ := bloom.Decode(req.Consumed)
			for row := 0; row < n; row++ {
				if id := r.b.Items.IDs.At(int(row)); !consumed[id] {
					fpCandidates++
					if f.MayContain(id) {
						fpDropped++
					}
				}
			}
		}
		resp2, err := r.Recommend(&again)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(resp.Items, resp2.Items) || resp.Arm != resp2.Arm {
			t.Fatalf("trial %d: the same request gave different responses", trial)
		}
	}
	rate := float64(fpDropped) / float64(fpCandidates)
	t.Logf("consumed filter: %d of %d unconsumed items were false positives (%.4f; configured 0.01 at 200 items)", fpDropped, fpCandidates, rate)
	if rate > 0.02 {
		t.Errorf("false-positive rate %.4f, configured 0.01", rate)
	}
}

func TestRecommendExcludesHistoryAndSeed(t *testing.T) {
	r := load(t, 500)
	base, err := r.Recommend(&api.Request{K: 20, Context: api.Context{Age: 30}})
	if err != nil {
		t.Fatal(err)
	}
	if len(base.Items) != 20 {
		t.Fatalf("got %d items, want 20", len(base.Items))
	}
	req := &api.Request{K: 20, Seed: base.Items[5].ID, Context: api.Context{Age: 30}}
	for _, it := range base.Items[:5] {
		req.History = append(req.History, api.Event{Item: it.ID})
	}
	got, err := r.Recommend(req)
	if err != nil {
		t.Fatal(err)
	}
	banned := map[string]bool{req.Seed: true}
	for _, h := range req.History {
		banned[h.Item] = true
	}
	for i, it := range got.Items {
		if banned[it.ID] {
			t.Errorf("item %d (%s) is in the history or the seed", i, it.ID)
		}
		if !slices.Contains(api.SourceNames[:], it.Source) && it.Source != "pinned" {
			t.Errorf("source %q", it.Source)
		}
	}
}

func TestRecommendCountsUnknownAndTruncated(t *testing.T) {
	r := load(t, 100)
	req := &api.Request{K: 5, Debug: true, Seed: "nope"}
	for i := 0; i < api.MaxHistory+3; i++ {
		id := bundletest.ID(i % 100)
		if i%50 == 0 {
			id = "unknown"
		}
		req.History = append(req.History, api.Event{Item: id})
	}
	resp, err := r.Recommend(req)
	if err != nil {
		t.Fatal(err)
	}
	d := resp.Debug
	if d == nil || d.Truncated != 3 || len(d.Stages) != 5 {
		t.Fatalf("debug = %+v", d)
	}
	// History kept its last MaxHistory events: indices 3..514, of which the
	// multiples of 50 are unknown (50, 100, ..., 500: 10), plus the seed.
	if d.UnknownItems != 11 {
		t.Errorf("unknown items = %d, want 11", d.UnknownItems)
	}
}

func TestRecommendRejectsInvalid(t *testing.T) {
	r := load(t, 10)
	for _, tc := range []struct {
		req  *api.Request
		want string
	}{
		{&api.Request{K: -1}, "out of range"},
		{&api.Request{K: 3, Sources: api.Weights{"nosuch": 1}}, "unknown source"},
		{&api.Request{K: 3, Sources: api.Weights{"popular": -2}}, "out of [0, 100]"},
		{&api.Request{K: 3, Consumed: []byte("not a filter")}, "consumed filter"},
	} {
		if _, err := r.Recommend(tc.req); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error mentioning %q", tc.req, err, tc.want)
		}
	}
}

func TestLoadRejectsCorrupt(t *testing.T) {
	data := bundletest.Encoded(50, 16, 2)
	data[len(data)-1] ^= 1
	_, err := Load(data)
	var fe *bundle.FormatError
	if !errors.Is(err, err) || !errors.As(err, &fe) {
		t.Fatalf("Load of a corrupt bundle: %v, want *bundle.FormatError", err)
	}
}

// TestSources checks each source's contribution in isolation.
func TestSources(t *testing.T) {
	b := bundletest.Random(300, 32, 3)
	r := loadBundle(t, b)
	only := func(s api.Source) api.Weights {
		w := api.Weights{}
		for i, name := range api.SourceNames {
			w[name] = 0
			if api.Source(i) == s {
				w[name] = 1
			}
		}
		return w
	}
	adult := api.Context{Age: 40, Region: "eu", Time: bundletest.Created}

	t.Run("covisit says because", func(t *testing.T) {
		hist := bundletest.ID(40)
		resp, err := r.Recommend(&api.Request{K: 3, Context: adult, History: []api.Event{{Item: hist}}, Sources: only(api.SourceCovisit)})
		if err != nil {
			t.Fatal(err)
		}
		cov := b.Pipeline.Covisit.Unpack()
		neigh, _ := cov.Of(40)
		if len(resp.Items) == 0 {
			t.Fatal("no co-visitation candidates")
		}
		for _, it := range resp.Items {
			row, _ := r.Lookup(it.ID)
			if it.Source != "covisit" || it.Because != hist || !slices.Contains(neigh, row) {
				t.Errorf("%+v is not a co-visited neighbour of %s %v", it, hist, neigh)
			}
		}
	})
	t.Run("slim says because and counts its rows", func(t *testing.T) {
		hist := bundletest.ID(41)
		slim := b.Pipeline.Slim.Unpack()
		neigh, _ := slim.Of(41)
		require.NotEmpty(t, neigh)
		resp, err := r.Recommend(&api.Request{K: 3, Debug: true, Context: adult, History: []api.Event{{Item: hist}}, Sources: only(api.SourceSlim)})
		require.NoError(t, err)
		slims := 0
		for _, it := range resp.Items {
			if it.Source != "slim" { // the back-fill of what the filters dropped
				continue
			}
			slims++
			row, _ := r.Lookup(it.ID)
			assert.Equal(t, hist, it.Because)
			assert.Contains(t, neigh, row)
		}
		assert.Positive(t, slims, "no slim item in %+v", resp.Items)
		// Every neighbour the source looked at passed the filter, which
		// counts it against the work budget.
		assert.GreaterOrEqual(t, resp.Debug.Examined, len(neigh))
	})
	t.Run("slim off without its lists", func(t *testing.T) {
		b := bundletest.Random(300, 32, 3)
		b.Pipeline.Slim = bundle.PackedNeighbours{}
		r := loadBundle(t, b)
		resp, err := r.Recommend(&api.Request{K: 3, Context: adult, History: []api.Event{{Item: bundletest.ID(41)}}, Sources: only(api.SourceSlim)})
		require.NoError(t, err)
		for _, it := range resp.Items {
			assert.NotEqual(t, "slim", it.Source)
		}
	})
	t.Run("popular by region", func(t *testing.T) {
		resp, err := r.Recommend(&api.Request{K: 5, Context: adult, Sources: only(api.SourcePopular)})
		if err != nil {
			t.Fatal(err)
		}
		eu := regionList(b.Pipeline.Popular, "eu")
		for _, it := range resp.Items {
			row, _ := r.Lookup(it.ID)
			if !slices.Contains(eu.Items, row) {
				t.Errorf("%s is not in the eu popular list", it.ID)
			}
		}
	})
	t.Run("fresh within the window", func(t *testing.T) {
		resp, err := r.Recommend(&api.Request{K: 10, Context: adult, Sources: only(api.SourceFresh)})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Items) == 0 {
			t.Fatal("no fresh items")
		}
		for _, it := range resp.Items {
			row, _ := r.Lookup(it.ID)
			if age := adult.Time - b.Items.Released[row]; age < 0 || age > 30*86400 || it.Source != "fresh" {
				t.Errorf("%s released %d s before the request, source %s", it.ID, age, it.Source)
			}
		}
	})
	t.Run("explore is seeded per user", func(t *testing.T) {
		req := func(user string) *api.Request {
			return &api.Request{K: 10, UserID: user, Context: adult, Sources: only(api.SourceExplore)}
		}
		a, _ := r.Recommend(req("alice"))
		a2, _ := r.Recommend(req("alice"))
		c, _ := r.Recommend(req("carol"))
		if !slices.Equal(a.Items, a2.Items) || slices.Equal(a.Items, c.Items) || len(a.Items) != 10 {
			t.Errorf("explore: alice %v, again %v, carol %v", a.Items, a2.Items, c.Items)
		}
	})
}

func BenchmarkRecommend(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		r := load(b, n)
		b.Run(fmt.Sprintf("items=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r.Recommend(&api.Request{K: 20, History: []api.Event{{Item: bundletest.ID(1)}, {Item: bundletest.ID(2)}}})
			}
		})
	}
}

// BenchmarkLoad times loading a 100k-item bundle: decompress, decode,
// validate and index. In wazero (see BenchmarkStages) it is what the
// module's load_bundle costs.
func BenchmarkLoad(b *testing.B) {
	data := bundletest.Encoded(100_000, 64, 1)
	b.ResetTimer()
	for b.Loop() {
		if _, err := Load(data); err != nil {
			b.Fatal(err)
		}
	}
}
