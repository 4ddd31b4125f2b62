package synth

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgerec/edgerec/tools/dataset"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// defaultGen generates the default configuration once per test binary.
var defaultGen = func() func(t testing.TB) *gen {
	var g *gen
	var err error
	return func(t testing.TB) *gen {
		t.Helper()
		if g == nil && err == nil {
			g, err = generate(DefaultConfig())
		}
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
}()

func TestGenerateDeterministic(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Users, cfg.Items = 300, 500
	write := func(cfg Config) map[string][]byte {
		d, err := Generate(cfg)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := dataset.WriteDir(dir, d); err != nil {
			t.Fatal(err)
		}
		files := map[string][]byte{}
		for _, name := range []string{dataset.ItemsFile, dataset.UsersFile, dataset.InteractionsFile} {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			files[name] = b
		}
		return files
	}
	a, b := write(cfg), write(cfg)
	t.Run("loads back", func(t *testing.T) {
		d, err := Generate(cfg)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "synth")
		if err := dataset.WriteDir(dir, d); err != nil {
			t.Fatal(err)
		}
		got, err := dataset.Load(dir, dataset.FormatEdgerec)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, d) {
			t.Errorf("Load(WriteDir(Generate(cfg))) differs from Generate(cfg)")
		}
	})
	for name := range a {
		if !bytes.Equal(a[name], b[name]) {
			t.Errorf("%s differs between two runs with the same config", name)
		}
	}
	cfg.Seed++
	c := write(cfg)
	if bytes.Equal(a[dataset.InteractionsFile], c[dataset.InteractionsFile]) {
		t.Errorf("seeds %d and %d gave the same interactions", cfg.Seed-1, cfg.Seed)
	}
	// The catalog depends only on the item settings.
	cfg.Seed--
	cfg.Users = 100
	if d := write(cfg); !bytes.Equal(a[dataset.ItemsFile], d[dataset.ItemsFile]) {
		t.Errorf("changing Users changed items.csv")
	}
}

func TestValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"zero users", func(c *Config) { c.Users = 0 }, "Users = 0, want 1 to 10000000 (default 2000)"},
		{"negative items", func(c *Config) { c.Items = -5 }, "Items = -5"},
		{"too many items", func(c *Config) { c.Items = MaxItems + 1 }, "Items = 5000001, want 1 to 5000000"},
		{"zero days", func(c *Config) { c.Days = 0 }, "Days = 0"},
		{"zero events", func(c *Config) { c.EventsPerUser = 0 }, "EventsPerUser = 0"},
		{"NaN events", func(c *Config) { c.EventsPerUser = math.NaN() }, "EventsPerUser = NaN"},
		{"too many topics", func(c *Config) { c.Topics = 13 }, "Topics = 13, want 1 to 12"},
		{"negative beta", func(c *Config) { c.Beta = -1 }, "Beta = -1"},
		{"huge alpha", func(c *Config) { c.Alpha = 10 }, "Alpha = 10"},
		{"fraction above 1", func(c *Config) { c.NewItemFraction = 1.5 }, "NewItemFraction = 1.5"},
		{"recency longer than log", func(c *Config) { c.RecencyDays = 181 }, "RecencyDays = 181, want 0 to 180"},
		{"negative boost", func(c *Config) { c.RecencyBoost = -1 }, "RecencyBoost = -1"},
		{"drift above 1", func(c *Config) { c.Drift = 2 }, "Drift = 2"},
		{"sigma", func(c *Config) { c.ActivitySigma = 4 }, "ActivitySigma = 4"},
		{"unset start", func(c *Config) { c.Start = time.Time{} }, "Start is unset"},
		{"too many events", func(c *Config) { c.Users, c.EventsPerUser = MaxUsers, 100 }, "Users × EventsPerUser"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.edit(&cfg)
			_, err := Generate(cfg)
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("Generate error = %v, want one wrapping ErrConfig", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

// TestEdgeConfigs runs extreme but valid settings that must not fail or
// panic.
func TestEdgeConfigs(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
	}{
		{"one of everything", func(c *Config) { c.Users, c.Items, c.Days, c.Topics, c.EventsPerUser, c.RecencyDays = 1, 1, 1, 1, 1, 1 }},
		{"all items new", func(c *Config) { c.Users, c.Items, c.NewItemFraction = 50, 50, 1 }},
		{"no boost, no drift, flat", func(c *Config) {
			c.Users, c.Items, c.RecencyBoost, c.RecencyDays, c.Drift, c.Beta, c.Alpha, c.ActivitySigma = 50, 80, 0, 0, 0, 0, 0, 0
		}},
		{"more events than items", func(c *Config) { c.Users, c.Items, c.EventsPerUser = 20, 30, 500 }},
		{"sharp", func(c *Config) { c.Users, c.Items, c.Beta, c.Alpha, c.RecencyBoost = 50, 200, 50, 4, 1000 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.edit(&cfg)
			g, err := generate(cfg)
			if err != nil {
				t.Fatal(err)
			}
			checkDataset(t, g)
		})
	}
}

func TestStructure(t *testing.T) {
	g := defaultGen(t)
	d, cfg := g.ds, g.cfg
	checkDataset(t, g)

	if n, u := len(d.Interactions), len(d.Users); n < 50*u || n > 70*u {
		t.Errorf("%d events for %d users, want about %v per user", n, u, cfg.EventsPerUser)
	}

	// Popularity skew: the top 10% of items get more than 30% of events.
	count := make([]int, len(d.Items))
	idx := d.ItemIndex()
	for _, in := range d.Interactions {
		count[idx[in.Item]]++
	}
	sorted := slices.Clone(count)
	slices.Sort(sorted)
	slices.Reverse(sorted)
	top := 0
	for _, c := range sorted[:len(sorted)/10] {
		top += c
	}
	if share := float64(top) / float64(len(d.Interactions)); share <= 0.30 {
		t.Errorf("top 10%% of items get %.3f of events, want > 0.30", share)
	} else {
		t.Logf("top 10%% of items get %.3f of events", share)
	}

	// Long-tailed activity: the busiest 10% of users have well over 10% of
	// events.
	perUser := d.ByUser()
	var act []int
	for _, u := range d.Users {
		act = append(act, len(perUser[u.ID]))
	}
	slices.Sort(act)
	slices.Reverse(act)
	busy := 0
	for _, a := range act[:len(act)/10] {
		busy += a
	}
	if share := float64(busy) / float64(len(d.Interactions)); share < 0.2 {
		t.Errorf("busiest 10%% of users have %.3f of events, want ≥ 0.2 (long tail)", share)
	}

	// New items appear over time and get events.
	start := cfg.Start.Unix()
	newItems, newWithEvents, before := 0, 0, 0
	for i, it := range d.Items {
		if it.Released >= start {
			newItems++
			if count[i] > 0 {
				newWithEvents++
			}
		} else {
			before++
		}
	}
	if f := float64(before) / float64(len(d.Items)); f < 0.55 || f > 0.65 {
		t.Errorf("%.2f of items released before Start, want about 0.6", f)
	}
	if newWithEvents < newItems/2 {
		t.Errorf("only %d of %d items released after Start have events", newWithEvents, newItems)
	}

	// Catalog attributes.
	avail, everywhere := 0, 0
	ratings := map[int]int{}
	for _, it := range d.Items {
		if it.Available {
			avail++
		}
		if len(it.Regions) == 0 {
			everywhere++
		}
		ratings[it.AgeRating]++
		if n := len(it.Categories); n < 1 || n > 3 {
			t.Fatalf("item %s has %d categories, want 1–3", it.ID, n)
		}
		if n := len(strings.Fields(it.Title)); n < 2 || n > 6 {
			t.Fatalf("item %s title %q has %d words, want 2–6", it.ID, it.Title, n)
		}
		if len(it.Tags) > 4 {
			t.Fatalf("item %s has %d tags, want ≤ 4", it.ID, len(it.Tags))
		}
		if it.Price < 0 || it.Price > 1000 {
			t.Fatalf("item %s price %v", it.ID, it.Price)
		}
		if n := len(it.Regions); n != 0 && (n < 2 || n > 4) {
			t.Fatalf("item %s licensed in %d regions, want 0 (everywhere) or 2–4", it.ID, n)
		}
	}
	n := float64(len(d.Items))
	if f := float64(avail) / n; f < 0.92 || f > 0.98 {
		t.Errorf("%.2f of items available, want about 0.95", f)
	}
	if f := float64(everywhere) / n; f < 0.75 || f > 0.85 {
		t.Errorf("%.2f of items licensed everywhere, want about 0.8", f)
	}
	if ratings[0]+ratings[13] < len(d.Items)/2 {
		t.Errorf("age ratings %v: want most 0 or 13", ratings)
	}
	for _, u := range d.Users {
		if u.Age < 13 || u.Age > 80 || !slices.Contains(genders, u.Gender) || !slices.Contains(regions, u.Region) || !slices.Contains(devices, u.Device) {
			t.Fatalf("user %+v out of range", u)
		}
	}
}

// checkDataset verifies the invariants every generated dataset has.
func checkDataset(t *testing.T, g *gen) {
	t.Helper()
	d, cfg := g.ds, g.cfg
	items, users := d.ItemIndex(), d.UserIndex()
	if len(items) != cfg.Items || len(users) != cfg.Users || len(d.Items) != cfg.Items || len(d.Users) != cfg.Users {
		t.Fatalf("got %d items (%d IDs), %d users (%d IDs); want %d, %d", len(d.Items), len(items), len(d.Users), len(users), cfg.Items, cfg.Users)
	}
	start, end := cfg.Start.Unix(), cfg.Start.Unix()+int64(cfg.Days)*day
	type pair struct{ u, i int }
	seen := make(map[pair]bool, len(d.Interactions))
	last := make(map[string]int64)
	for k, in := range d.Interactions {
		i, ok := items[in.Item]
		if !ok {
			t.Fatalf("interaction %d: unknown item %q", k, in.Item)
		}
		u, ok := users[in.User]
		if !ok {
			t.Fatalf("interaction %d: unknown user %q", k, in.User)
		}
		it, us := d.Items[i], d.Users[u]
		if in.Time < it.Released {
			t.Fatalf("interaction %d at %d precedes release of %s at %d", k, in.Time, it.ID, it.Released)
		}
		if in.Time < start || in.Time >= end {
			t.Fatalf("interaction %d at %d outside [%d, %d)", k, in.Time, start, end)
		}
		if seen[pair{u, i}] {
			t.Fatalf("user %s picked %s twice", in.User, in.Item)
		}
		seen[pair{u, i}] = true
		if it.AgeRating > us.Age {
			t.Fatalf("user %s aged %d picked %s rated %d", us.ID, us.Age, it.ID, it.AgeRating)
		}
		if len(it.Regions) > 0 && !slices.Contains(it.Regions, us.Region) {
			t.Fatalf("user %s in %s picked %s licensed in %v", us.ID, us.Region, it.ID, it.Regions)
		}
		if t0, ok := last[in.User]; ok && in.Time <= t0 {
			t.Fatalf("user %s times not increasing: %d after %d", in.User, in.Time, t0)
		}
		last[in.User] = in.Time
		if in.Value != 1 {
			t.Fatalf("interaction %d value %v, want 1", k, in.Value)
		}
		if k > 0 {
			p := d.Interactions[k-1]
			if p.Time > in.Time || p.Time == in.Time && (p.User > in.User || p.User == in.User && p.Item > in.Item) {
				t.Fatalf("interactions %d and %d out of order", k-1, k)
			}
		}
	}
}

// TestPreferredCategories checks that users' events concentrate on the
// categories of the topics they prefer, far more than chance.
func TestPreferredCategories(t *testing.T) {
	g := defaultGen(t)
	d, k := g.ds, g.k
	idx, byUser := d.ItemIndex(), d.ByUser()
	var got, chance float64
	for u, us := range d.Users {
		var prim []string // primary categories of the user's preferred topics
		for topic, p := range g.p1[u*k : (u+1)*k] {
			if p > 0.2 {
				prim = append(prim, themes[topic].cats[0])
			}
		}
		has := func(it dataset.Item) bool {
			for _, c := range it.Categories {
				if slices.Contains(prim, c) {
					return true
				}
			}
			return false
		}
		base := 0
		for _, it := range d.Items {
			if has(it) {
				base++
			}
		}
		evs := byUser[us.ID]
		for _, in := range evs {
			if has(d.Items[idx[in.Item]]) {
				got++
			}
		}
		chance += float64(len(evs)) * float64(base) / float64(len(d.Items))
	}
	ratio := got / chance
	t.Logf("events on preferred topics' primary categories: %.0f, %.1f× chance", got, ratio)
	if ratio < 2.5 {
		t.Errorf("events on preferred categories are %.2f× chance, want ≥ 2.5", ratio)
	}
}

// TestTitlesCarryTopic checks that every title has a word of the item's
// main topic, and that titles are unique and read as titles: no word twice,
// no title ending on an article or a preposition ("Nova The").
func TestTitlesCarryTopic(t *testing.T) {
	g := defaultGen(t)
	seen := map[string]string{}
	for i, it := range g.ds.Items {
		words := strings.Fields(it.Title)
		main := g.words[g.classMain[g.itemClass[i]]]
		assert.True(t, slices.ContainsFunc(words, func(w string) bool { return slices.Contains(main, w) }),
			"item %s title %q has no word of its main topic %v", it.ID, it.Title, main)
		if prev, ok := seen[it.Title]; ok {
			t.Errorf("items %s and %s are both titled %q", prev, it.ID, it.Title)
		}
		seen[it.Title] = it.ID
		last := words[len(words)-1]
		assert.NotContains(t, []string{"The", "the", "of", "and"}, last, "title %q", it.Title)
		for j := 1; j < len(words); j++ {
			assert.NotEqual(t, words[j-1], words[j], "title %q repeats a word", it.Title)
		}
	}
}

// TestTitlesUniqueWhenCrowded checks that titles stay unique when the
// catalog is larger than the patterns' combinations for a topic.
func TestTitlesUniqueWhenCrowded(t *testing.T) {
	tt := newTitler(rand.New(rand.NewPCG(1, 2)))
	words := []string{"Heist", "Alibi"}
	seen := map[string]bool{}
	for range 2000 {
		title := tt.make(words, words)
		require.False(t, seen[title], "title %q given twice", title)
		seen[title] = true
	}
}

// TestDemographicPrior checks the mild link between region or age and
// preferred topics.
func TestDemographicPrior(t *testing.T) {
	g := defaultGen(t)
	k := g.k
	var favored, other, nf, no float64
	for u := range g.ds.Users {
		fav := regionTopics[g.userRegion[u]]
		for topic, p := range g.p1[u*k : (u+1)*k] {
			if slices.Contains(fav, topic) {
				favored += p
				nf++
			} else {
				other += p
				no++
			}
		}
	}
	if r := (favored / nf) / (other / no); r < 1.3 {
		t.Errorf("preference for region-favoured topics is %.2f× that for others, want ≥ 1.3", r)
	}
}

// TestPersonalizationBeatsPopularity holds out the last 18 days and compares
// Recall@20 of most-popular against item-to-item co-occurrence (a
// personalized method with nothing learned): personalization must win
// clearly, and popularity must still be far above random.
//
// Recall@20 for a user = |top-20 ∩ held-out items| / min(20, |held-out|),
// averaged over users with events on both sides of the split; items the user
// had before the split are not recommended.
func TestPersonalizationBeatsPopularity(t *testing.T) {
	g := defaultGen(t)
	d := g.ds
	split := g.cfg.Start.Unix() + int64(g.cfg.Days-18)*day
	nItems := len(d.Items)
	items, users := d.ItemIndex(), d.UserIndex()
	train := make([][]int, len(d.Users))
	test := make([][]int, len(d.Users))
	count := make([]float64, nItems)
	for _, in := range d.Interactions {
		u, i := users[in.User], items[in.Item]
		if in.Time < split {
			train[u] = append(train[u], i)
			count[i]++
		} else {
			test[u] = append(test[u], i)
		}
	}
	co := make([]float32, nItems*nItems)
	for _, h := range train {
		for _, a := range h {
			for _, b := range h {
				if a != b {
					co[a*nItems+b]++
				}
			}
		}
	}
	seen := make([]int, nItems)
	score := make([]float64, nItems)
	var pop, cf, random float64
	n := 0
	for u := range d.Users {
		if len(train[u]) == 0 || len(test[u]) == 0 {
			continue
		}
		n++
		for _, i := range train[u] {
			seen[i] = u + 1
		}
		recall := func(score []float64) float64 {
			top := topN(score, seen, u+1, 20)
			hits := 0
			for _, i := range top {
				if slices.Contains(test[u], i) {
					hits++
				}
			}
			return float64(hits) / float64(min(20, len(test[u])))
		}
		pop += recall(count)
		for i := range score {
			s := 0.0
			for _, j := range train[u] {
				s += float64(co[j*nItems+i])
			}
			score[i] = s / math.Sqrt(count[i]+1)
		}
		cf += recall(score)
		random += float64(min(20, nItems-len(train[u]))) / float64(nItems-len(train[u]))
	}
	pop, cf, random = pop/float64(n), cf/float64(n), random/float64(n)
	t.Logf("Recall@20 over %d users: popularity %.3f, item co-occurrence %.3f, random ≈ %.3f", n, pop, cf, random)
	if cf < 1.5*pop {
		t.Errorf("co-occurrence Recall@20 %.3f is not clearly above popularity %.3f (want ≥ 1.5×)", cf, pop)
	}
	if pop < 3*random {
		t.Errorf("popularity Recall@20 %.3f is not well above random %.3f", pop, random)
	}
}

// topN returns the n highest-scoring indices whose seen mark is not mark.
func topN(score []float64, seen []int, mark, n int) []int {
	var top []int
	for i, s := range score {
		if seen[i] == mark {
			continue
		}
		if len(top) < n {
			top = append(top, i)
		} else if s > score[top[n-1]] {
			top[n-1] = i
		} else {
			continue
		}
		for j := len(top) - 1; j > 0 && score[top[j]] > score[top[j-1]]; j-- {
			top[j], top[j-1] = top[j-1], top[j]
		}
	}
	return top
}

func BenchmarkGenerate(b *testing.B) {
	for _, bc := range []struct {
		name         string
		users, items int
	}{
		{"default", 2000, 1000},
		{"items=1M/users=10k", 10_000, 1_000_000},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Users, cfg.Items = bc.users, bc.items
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Generate(cfg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
