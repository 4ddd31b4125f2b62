package train

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/vec"
	"github.com/edgerec/edgerec/tools/dataset"
)

// tinyDataset has 6 users and 8 items in two taste groups.
func tinyDataset() *dataset.Dataset {
	ds := &dataset.Dataset{Name: "tiny"}
	for i := 0; i < 8; i++ {
		cat := []string{"a", "b"}[i%2]
		ds.Items = append(ds.Items, dataset.Item{ID: fmt.Sprintf("i%d", i), Categories: []string{cat, "all"}, Available: true,
			Title: fmt.Sprintf("word%d %s story", i%3, cat), Price: float64(1 + i), Released: int64(50 * i)})
	}
	for u := 0; u < 6; u++ {
		ds.Users = append(ds.Users, dataset.User{ID: fmt.Sprintf("u%d", u), Context: api.Context{Age: 20 + 10*u, Gender: []string{"f", "m"}[u%2], Region: []string{"eu", "us", "asia"}[u%3], Device: "mobile", Attrs: map[string]string{"job": []string{"a", "b"}[u%2]}}})
		for k := 0; k < 4; k++ {
			ds.Interactions = append(ds.Interactions, dataset.Interaction{
				User: fmt.Sprintf("u%d", u), Item: fmt.Sprintf("i%d", (u%2)+2*((u+k)%4)), Time: int64(100*k + u), Value: 1})
		}
	}
	slices.SortFunc(ds.Interactions, func(a, b dataset.Interaction) int { return int(a.Time - b.Time) })
	return ds
}

func tinyConfig() Config {
	cfg := DefaultConfig()
	cfg.IDDim, cfg.CategoryDim, cfg.TokenBuckets, cfg.TokenDim, cfg.FieldDim = 4, 3, 16, 2, 2
	cfg.Decays, cfg.QueryCross, cfg.ItemCross, cfg.Hidden, cfg.Dim = []float32{1, 0.5}, 1, 1, []int{5}, 3
	cfg.Temperature, cfg.Batch, cfg.Negatives, cfg.IDDropout = 0.5, 6, 3, 0.3
	cfg.Epochs, cfg.LR, cfg.MaxHistory, cfg.Validation, cfg.Seed, cfg.Workers = 1, 0.01, 3, 0, 7, 2
	return cfg
}

// TestGradients compares the analytic gradients of the in-batch softmax loss
// with central finite differences, for weights of every kind.
func TestGradients(t *testing.T) {
	cfg := tinyConfig()
	c, tr, rng := tinyTrainer(t, cfg, 1, 2)
	m := tr.m
	if len(m.Query.Fields) != 5 || len(m.Query.Numerics) != 2 || len(m.Item.Numerics) != 2 {
		t.Fatalf("query fields %d, numerics %d, item numerics %d", len(m.Query.Fields), len(m.Query.Numerics), len(m.Item.Numerics))
	}
	batch := c.train[4:10]
	tr.prepare(batch, rng)
	tr.gradients(len(batch))
	g := tr.wg[0]

	type probe struct {
		name string
		w    []float32 // the parameter tensor
		i    int       // index into w
		grad float32   // analytic gradient
	}
	var probes []probe
	for l := range m.Query.MLP.Layers {
		for _, i := range []int{0, 3, len(g.q.mlp.W[l]) - 1} {
			probes = append(probes, probe{fmt.Sprintf("query W%d[%d]", l, i), m.Query.MLP.Layers[l].W, i, g.q.mlp.W[l][i]})
		}
		probes = append(probes, probe{fmt.Sprintf("query b%d[1]", l), m.Query.MLP.Layers[l].B, 1, g.q.mlp.B[l][1]})
	}
	for l := range m.Item.MLP.Layers {
		for _, i := range []int{1, len(g.i.mlp.W[l]) / 2} {
			probes = append(probes, probe{fmt.Sprintf("item W%d[%d]", l, i), m.Item.MLP.Layers[l].W, i, g.i.mlp.W[l][i]})
		}
	}
	for _, i := range []int{0, 7, len(g.q.cross.W[0]) - 2} {
		probes = append(probes, probe{fmt.Sprintf("query cross W[%d]", i), m.Query.Cross[0].W, i, g.q.cross.W[0][i]})
	}
	for _, i := range []int{0, 7, len(g.i.cross.W[0]) - 2} {
		probes = append(probes, probe{fmt.Sprintf("item cross W[%d]", i), m.Item.Cross[0].W, i, g.i.cross.W[0][i]})
	}
	probes = append(probes, probe{"query cross b[2]", m.Query.Cross[0].B, 2, g.q.cross.B[0][2]})
	sparse := func(name string, s *sparseGrad, w []float32) {
		for k, r := range s.rows[:min(3, len(s.rows))] {
			i := int(r)*s.dim + k%s.dim
			probes = append(probes, probe{fmt.Sprintf("%s row %d", name, r), w, i, s.data[k*s.dim+k%s.dim]})
		}
	}
	sparse("ids", g.ids, m.Item.IDs.Data)
	sparse("categories", g.cats, m.Item.Categories.Data)
	sparse("tokens", g.tokens, m.Item.Tokens.Data)
	for f := range m.Query.Fields {
		sparse(m.Query.Fields[f].Name, g.fields[f], m.Query.Fields[f].Table.Data)
	}
	if len(probes) < 15 {
		t.Fatalf("only %d probes", len(probes))
	}

	const h = 1e-2
	for _, p := range probes {
		old := p.w[p.i]
		p.w[p.i] = old + h
		up := tr.gradients(len(batch))
		p.w[p.i] = old - h
		down := tr.gradients(len(batch))
		p.w[p.i] = old
		num := (up - down) / (2 * h)
		if diff := math.Abs(num - float64(p.grad)); diff > 2e-3+0.05*math.Abs(num) {
			t.Errorf("%s: analytic %.6f, numeric %.6f", p.name, p.grad, num)
		}
	}
}

func TestTrainLowersLoss(t *testing.T) {
	ds := tinyDataset()
	cfg := tinyConfig()
	cfg.Epochs = 60
	cfg.LR = 0.02
	var losses []float64
	m, err := Train(ds, cfg, func(p Progress) {
		if p.EpochDone {
			losses = append(losses, p.Loss)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(losses) != cfg.Epochs {
		t.Fatalf("got %d epoch reports, want %d", len(losses), cfg.Epochs)
	}
	if first, last := losses[0], losses[len(losses)-1]; !(last < 0.7*first) {
		t.Errorf("loss went from %.3f to %.3f, want a clear decrease", first, last)
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	if m.Manifest.FinalLoss != losses[len(losses)-1] || m.Manifest.Items != 8 || m.Manifest.Epochs != cfg.Epochs {
		t.Errorf("manifest = %+v", m.Manifest)
	}
}

func TestTrainDeterministic(t *testing.T) {
	cfg := tinyConfig()
	cfg.Epochs = 3
	a, err := Train(tinyDataset(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Train(tinyDataset(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Item.IDs.Data, b.Item.IDs.Data) || !slices.Equal(a.Query.MLP.Layers[0].W, b.Query.MLP.Layers[0].W) ||
		!slices.Equal(a.Item.Tokens.Data, b.Item.Tokens.Data) {
		t.Error("two runs with the same seed and workers differ")
	}
}

// TestTrainerForwardIsTowerEmbed holds the trainer to core/tower: the unit
// embeddings it trains on are Query.Embed's and Item.Embed's, up to the
// order in which the batched products add float32s.
func TestTrainerForwardIsTowerEmbed(t *testing.T) {
	cfg := tinyConfig()
	cfg.Epochs = 2
	m, err := Train(tinyDataset(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := newCorpus(tinyDataset(), 0)
	for r := range c.items {
		c.items[r].tokens = m.Item.Tokenize(c.items[r].title)
	}
	tr := newTrainer(m, c, &cfg, c.train)
	batch := c.train[:6]
	tr.prepare(batch, rand.New(rand.NewPCG(3, 3)))
	tr.gradients(len(batch))
	near := func(what string, want, got []float32) {
		t.Helper()
		for k := range want {
			if math.Abs(float64(want[k]-got[k])) > 1e-5 {
				t.Errorf("%s: tower %v, trainer %v", what, want, got)
				return
			}
		}
	}
	for i, e := range batch {
		// Rebuild the inputs from the raw example, as serving would.
		ctx := c.context(e)
		qin := m.Query.Prepare(&ctx, c.history(e, cfg.MaxHistory), -1)
		got := m.Query.Embed(m.Query.NewScratch(), &m.Item.IDs, qin)
		near(fmt.Sprintf("example %d query", i), got, row(tr.qb.unit, i, cfg.Dim))
		got = m.Item.Embed(m.Item.NewScratch(), tr.iin[i])
		near(fmt.Sprintf("example %d item", i), got, row(tr.ib.unit, i, cfg.Dim))
		if n := vec.Norm(got); math.Abs(float64(n)-1) > 1e-5 {
			t.Errorf("item embedding norm %v", n)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
	}{
		{"zero batch", func(c *Config) { c.Batch = 0 }},
		{"negative temperature", func(c *Config) { c.Temperature = -1 }},
		{"NaN lr", func(c *Config) { c.LR = float32(math.NaN()) }},
		{"zero dim", func(c *Config) { c.Dim = 0 }},
		{"bad hidden", func(c *Config) { c.Hidden = []int{0} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.mod(&cfg)
			if _, err := Train(tinyDataset(), cfg, nil); err == nil {
				t.Error("Train accepted an invalid config")
			}
		})
	}
	if _, err := Train(&dataset.Dataset{Name: "empty"}, DefaultConfig(), nil); err == nil {
		t.Error("Train accepted a dataset without interactions")
	}
}

// TestConfigDocumented keeps CONFIG.md complete: every key of the default
// configuration has a row.
func TestConfigDocumented(t *testing.T) {
	doc, err := os.ReadFile("CONFIG.md")
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]any
	if err := json.Unmarshal([]byte(DefaultConfig().JSON()), &keys); err != nil {
		t.Fatal(err)
	}
	for k := range keys {
		if !strings.Contains(string(doc), "| `"+k+"` |") {
			t.Errorf("CONFIG.md has no row for %q", k)
		}
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	os.WriteFile(good, []byte(`{"epochs": 3, "negatives": 0}`), 0o644)
	cfg, err := LoadConfig(good)
	if err != nil || cfg.Epochs != 3 || cfg.Negatives != 0 || cfg.Dim != DefaultConfig().Dim {
		t.Errorf("LoadConfig = %+v, %v", cfg, err)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"epochz": 3}`), 0o644)
	if _, err := LoadConfig(bad); err == nil || !strings.Contains(err.Error(), "epochz") {
		t.Errorf("unknown field: %v", err)
	}
	invalid := filepath.Join(dir, "invalid.json")
	os.WriteFile(invalid, []byte(`{"batch": 1}`), 0o644)
	if _, err := LoadConfig(invalid); err == nil {
		t.Error("batch 1 accepted")
	}
}
