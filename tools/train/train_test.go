package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/edgerec/edgerec/core/vec"
	"github.com/edgerec/edgerec/tools/dataset"
)

// tinyDataset has 6 users and 8 items in two taste groups.
func tinyDataset() *dataset.Dataset {
	ds := &dataset.Dataset{Name: "tiny"}
	for i := 0; i < 8; i++ {
		cat := []string{"a", "b"}[i%2]
		ds.Items = append(ds.Items, dataset.Item{ID: fmt.Sprintf("i%d", i), Categories: []string{cat, "all"}, Available: true})
	}
	for u := 0; u < 6; u++ {
		ds.Users = append(ds.Users, dataset.User{ID: fmt.Sprintf("u%d", u), Age: 20 + 10*u, Gender: []string{"f", "m"}[u%2],
			Region: []string{"eu", "us", "asia"}[u%3], Device: "mobile"})
		for k := 0; k < 4; k++ {
			ds.Interactions = append(ds.Interactions, dataset.Interaction{
				User: fmt.Sprintf("u%d", u), Item: fmt.Sprintf("i%d", (u%2)+2*((u+k)%4)), Time: int64(100*k + u), Value: 1})
		}
	}
	slices.SortFunc(ds.Interactions, func(a, b dataset.Interaction) int { return int(a.Time - b.Time) })
	return ds
}

func tinyConfig() Config {
	return Config{IDDim: 4, CategoryDim: 3, FieldDim: 2, Hidden: []int{5}, Dim: 3, Temperature: 0.5,
		Batch: 6, Epochs: 1, LR: 0.01, MaxHistory: 3, Seed: 7, Workers: 2}
}

// TestGradients compares the analytic gradients of the in-batch softmax loss
// with central finite differences, for weights of every kind.
func TestGradients(t *testing.T) {
	ds := tinyDataset()
	cfg := tinyConfig()
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	c, err := newCorpus(ds)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	m := initModel(c, &cfg, rng)
	tr := newTrainer(m, c, &cfg)
	batch := c.examples[4:10]
	tr.gradients(batch)
	g := tr.wg[0]

	type probe struct {
		name string
		w    []float32 // the parameter tensor
		i    int       // index into w
		grad float32   // analytic gradient
	}
	var probes []probe
	for l := range m.Query.MLP.Layers {
		for _, i := range []int{0, 3, len(g.q.W[l]) - 1} {
			probes = append(probes, probe{fmt.Sprintf("query W%d[%d]", l, i), m.Query.MLP.Layers[l].W, i, g.q.W[l][i]})
		}
		probes = append(probes, probe{fmt.Sprintf("query b%d[1]", l), m.Query.MLP.Layers[l].B, 1, g.q.B[l][1]})
	}
	for l := range m.Item.MLP.Layers {
		for _, i := range []int{1, len(g.i.W[l]) / 2} {
			probes = append(probes, probe{fmt.Sprintf("item W%d[%d]", l, i), m.Item.MLP.Layers[l].W, i, g.i.W[l][i]})
		}
	}
	sparse := func(name string, s *sparseGrad, w []float32) {
		for k, r := range s.rows[:min(3, len(s.rows))] {
			i := int(r)*s.dim + k%s.dim
			probes = append(probes, probe{fmt.Sprintf("%s row %d", name, r), w, i, s.data[k*s.dim+k%s.dim]})
		}
	}
	sparse("ids", g.ids, m.Item.IDs.Data)
	sparse("categories", g.cats, m.Item.Categories.Data)
	sparse("region", g.fields[0], m.Query.Fields[0].Data)
	sparse("age", g.fields[3], m.Query.Fields[3].Data)
	if len(probes) < 15 {
		t.Fatalf("only %d probes", len(probes))
	}

	const h = 1e-2
	for _, p := range probes {
		old := p.w[p.i]
		p.w[p.i] = old + h
		up := tr.gradients(batch)
		p.w[p.i] = old - h
		down := tr.gradients(batch)
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
	if m.Manifest.FinalLoss != losses[len(losses)-1] || m.Manifest.Items != 8 {
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
	if !slices.Equal(a.Item.IDs.Data, b.Item.IDs.Data) || !slices.Equal(a.Query.MLP.Layers[0].W, b.Query.MLP.Layers[0].W) {
		t.Error("two runs with the same seed and workers differ")
	}
}

// TestTrainerForwardIsTowerEmbed holds the trainer to core/tower: the unit
// embeddings it trains on equal Query.Embed and Item.Embed.
func TestTrainerForwardIsTowerEmbed(t *testing.T) {
	cfg := tinyConfig()
	cfg.Epochs = 2
	m, err := Train(tinyDataset(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := newCorpus(tinyDataset())
	tr := newTrainer(m, c, &cfg)
	batch := c.examples[:6]
	tr.gradients(batch)
	for i, e := range batch {
		s := &tr.slots[i]
		got := make([]float32, cfg.Dim)
		m.Query.Embed(got, &m.Item.IDs, s.qin, make([]float32, m.Query.InputDim()), m.Query.MLP.NewActs())
		if !slices.Equal(got, s.u) {
			t.Errorf("example %d: tower query embedding %v, trainer %v", i, got, s.u)
		}
		m.Item.Embed(got, s.iin, make([]float32, m.Item.InputDim()), m.Item.MLP.NewActs())
		if !slices.Equal(got, s.v) {
			t.Errorf("example %d: tower item embedding %v, trainer %v", i, got, s.v)
		}
		if n := vec.Norm(got); math.Abs(float64(n)-1) > 1e-5 {
			t.Errorf("item embedding norm %v", n)
		}
		_ = e
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
