package pipeline

import (
	"errors"
	"strings"
	"testing"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/bundle/bundletest"
)

func load(t testing.TB, n int) *Recommender {
	t.Helper()
	r, err := Load(bundletest.Encoded(n, 32, 1))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRecommendExcludesHistoryAndSeed(t *testing.T) {
	r := load(t, 500)
	base, err := r.Recommend(&api.Request{K: 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(base.Items) != 20 {
		t.Fatalf("got %d items, want 20", len(base.Items))
	}
	// Put the top 5 of the empty-history list into the history and the 6th
	// as seed: none of them may come back.
	req := &api.Request{K: 20, Seed: base.Items[5].ID}
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
		if i > 0 && it.Score > got.Items[i-1].Score {
			t.Errorf("scores not descending at %d", i)
		}
		if it.Source != SourceTwoTower {
			t.Errorf("source %q", it.Source)
		}
	}
	if got.BundleVersion != r.Summary().Version {
		t.Errorf("bundle version %q, want %q", got.BundleVersion, r.Summary().Version)
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
	if d == nil || d.Truncated != 3 || len(d.Stages) == 0 {
		t.Fatalf("debug = %+v", d)
	}
	// History kept its last MaxHistory events: indices 3..514, of which the
	// multiples of 50 are unknown (50, 100, ..., 500: 10), plus the seed.
	if d.UnknownItems != 11 {
		t.Errorf("unknown items = %d, want 11", d.UnknownItems)
	}
}

func TestRecommendKLargerThanCatalog(t *testing.T) {
	r := load(t, 30)
	req := &api.Request{K: 100}
	for i := 0; i < 10; i++ {
		req.History = append(req.History, api.Event{Item: bundletest.ID(i)})
	}
	resp, err := r.Recommend(req)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Items) != 20 {
		t.Errorf("got %d items, want the 20 not in the history", len(resp.Items))
	}
}

func TestRecommendRejectsInvalid(t *testing.T) {
	r := load(t, 10)
	if _, err := r.Recommend(&api.Request{K: -1}); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("negative k: %v", err)
	}
}

func TestLoadRejectsCorrupt(t *testing.T) {
	data := bundletest.Encoded(50, 16, 2)
	data[len(data)-1] ^= 1
	_, err := Load(data)
	var fe *bundle.FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("Load of a corrupt bundle: %v, want *bundle.FormatError", err)
	}
}

func TestDeterministic(t *testing.T) {
	r := load(t, 300)
	req := func() *api.Request {
		return &api.Request{K: 10, Context: api.Context{Region: "eu", Age: 30}, History: []api.Event{{Item: bundletest.ID(3)}}}
	}
	a, _ := r.Recommend(req())
	b, _ := r.Recommend(req())
	for i := range a.Items {
		if a.Items[i] != b.Items[i] {
			t.Fatalf("two identical requests differ at %d", i)
		}
	}
}

func BenchmarkRecommend(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		r := load(b, n)
		b.Run("items="+itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r.Recommend(&api.Request{K: 20, History: []api.Event{{Item: bundletest.ID(1)}, {Item: bundletest.ID(2)}}})
			}
		})
	}
}

func itoa(n int) string {
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}
