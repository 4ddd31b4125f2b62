package train

import (
	"math"
	"math/rand/v2"
	"sort"

	"github.com/edgerec/edgerec/core/feature"
	"github.com/edgerec/edgerec/core/nn"
	"github.com/edgerec/edgerec/core/tower"
	"github.com/edgerec/edgerec/tools/model"
)

// quantileBins is the number of quantile intervals fitted per numeric
// feature.
const quantileBins = 32

// initModel creates the towers for corpus c: field vocabularies and numeric
// quantiles from the examples ex, Glorot-uniform dense and cross layers
// (Glorot & Bengio, AISTATS 2010) and N(0, 0.1²) embeddings with the
// unknown rows at zero.
func initModel(c *corpus, cfg *Config, ex []example, rng *rand.Rand) *model.Model {
	table := func(rows, dim int) nn.Table {
		t := nn.NewTable(rows, dim)
		for i := dim; i < len(t.Data); i++ {
			t.Data[i] = float32(rng.NormFloat64() * 0.1)
		}
		return t
	}
	uniform := func(n, fanIn, fanOut int) []float32 {
		w := make([]float32, n)
		lim := math.Sqrt(6 / float64(fanIn+fanOut))
		for i := range w {
			w[i] = float32((rng.Float64()*2 - 1) * lim)
		}
		return w
	}
	mlp := func(in int) nn.MLP {
		var m nn.MLP
		widths := append(append([]int{in}, cfg.Hidden...), cfg.Dim)
		for l := 0; l+1 < len(widths); l++ {
			d := nn.Dense{In: widths[l], Out: widths[l+1], W: uniform(widths[l]*widths[l+1], widths[l], widths[l+1]),
				B: make([]float32, widths[l+1]), Act: nn.ReLU}
			if l+2 == len(widths) {
				d.Act = nn.Linear
			}
			m.Layers = append(m.Layers, d)
		}
		return m
	}
	cross := func(n, dim int) nn.Stack {
		s := make(nn.Stack, n)
		for l := range s {
			// Small weights: each layer starts close to the identity x0 ⊙ b + x.
			w := uniform(dim*dim, dim, dim)
			for i := range w {
				w[i] *= 0.1
			}
			s[l] = nn.Cross{Dim: dim, W: w, B: make([]float32, dim)}
		}
		return s
	}

	m := &model.Model{Vocab: c.vocab}

	// Query tower: a field per configured categorical feature with values.
	q := tower.Query{HistoryDim: cfg.IDDim, MaxHistory: cfg.MaxHistory, Decays: append([]float32(nil), cfg.Decays...), Seed: cfg.SeedItem}
	var names []string
	for _, f := range cfg.UserFields {
		if f == AttrsField {
			names = append(names, c.attrs...)
		} else {
			names = append(names, f)
		}
	}
	for _, name := range names {
		values := map[string]bool{}
		for _, e := range ex {
			ctx := c.context(e)
			if v := feature.Categorical(&ctx, name); v != "" {
				values[v] = true
			}
		}
		if len(values) == 0 {
			continue // the data has nothing for this field
		}
		sorted := make([]string, 0, len(values))
		for v := range values {
			sorted = append(sorted, v)
		}
		sort.Strings(sorted)
		v := feature.NewVocab(sorted)
		q.Fields = append(q.Fields, tower.Field{Name: name, Vocab: *v, Table: table(v.Size(), cfg.FieldDim)})
	}
	for _, name := range cfg.UserNumerics {
		vals := make([]float64, 0, len(ex))
		for _, e := range ex {
			ctx := c.context(e)
			vals = append(vals, float64(feature.Numeric(&ctx, name, len(c.history(e, cfg.MaxHistory)))))
		}
		if qs := feature.FitQuantiles(vals, quantileBins); len(qs.Bounds) >= 2 {
			q.Numerics = append(q.Numerics, tower.Numeric{Name: name, Quantiles: qs})
		}
	}
	q.Cross = cross(cfg.QueryCross, q.InputDim())
	q.MLP = mlp(q.InputDim())
	m.Query = q

	// Item tower.
	it := tower.Item{IDs: table(c.vocab.Items.Size(), cfg.IDDim), Categories: table(c.vocab.Categories.Size(), cfg.CategoryDim)}
	if cfg.TokenBuckets > 0 {
		it.Buckets = cfg.TokenBuckets
		it.Tokens = table(cfg.TokenBuckets+1, cfg.TokenDim)
	}
	for _, name := range cfg.ItemNumerics {
		vals := make([]float64, 0, len(ex))
		for _, e := range ex {
			raw := c.itemFeatures(c.target(e), c.time(e))
			vals = append(vals, float64(raw.Numeric(name)))
		}
		if qs := feature.FitQuantiles(vals, quantileBins); len(qs.Bounds) >= 2 {
			it.Numerics = append(it.Numerics, tower.Numeric{Name: name, Quantiles: qs})
		}
	}
	it.Cross = cross(cfg.ItemCross, it.InputDim())
	it.MLP = mlp(it.InputDim())
	m.Item = it
	for r := range c.items {
		c.items[r].tokens = it.Tokenize(c.items[r].title)
	}
	return m
}

// itemFeatures returns item row r's raw numeric features at time t.
func (c *corpus) itemFeatures(r int32, t int64) feature.Item {
	return feature.Item{Price: c.items[r].price, Released: c.items[r].released, Time: t}
}

// itemInput prepares item row r at time t; dropID hides its id.
func (c *corpus) itemInput(it *tower.Item, r int32, t int64, dropID bool) tower.ItemInput {
	raw := c.itemFeatures(r, t)
	id := r
	if dropID {
		id = 0
	}
	return it.Prepare(id, c.items[r].cats, c.items[r].tokens, &raw)
}
