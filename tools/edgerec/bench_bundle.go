package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/feature"
	"github.com/edgerec/edgerec/core/nn"
	"github.com/edgerec/edgerec/core/quant"
	"github.com/edgerec/edgerec/core/tower"
	"github.com/edgerec/edgerec/tools/benchdata"
	"github.com/edgerec/edgerec/tools/benchdata/sources"
	"github.com/edgerec/edgerec/tools/builder"
	"github.com/edgerec/edgerec/tools/train"
)

// encodeBenchBundle builds the bench bundle of cat (with its IVF index
// unless o.exact, and every candidate source), writes it to o.keep when
// set, and records its sizes and the index in rep. It returns the encoded
// bundle and the catalog index of each bundle row (the index reorders
// rows).
func encodeBenchBundle(o benchOptions, cat *benchdata.Catalog, rep *benchReport, progress func(string, ...any)) ([]byte, []int32, error) {
	b := benchBundle(cat, o.seed)
	b.Manifest.Model.PopPrior = float32(o.popPrior)
	if o.noTitles {
		b.Items.Titles = bundle.NewStrings(make([]string, b.Items.Len()))
	}
	if o.compact {
		start := time.Now()
		crep, err := builder.Compact(b, builder.CompactOptions{M: o.compactBytes, HistoryBytes: o.historyBytes, Lists: o.lists, Target: o.target, Seed: o.seed,
			Progress: func(stage string, done, total int) { progress("compact codes: %s %d/%d", stage, done, total) },
			Queries:  func(b *bundle.Bundle) ([][]float32, [][]int32) { return tuningQueries(b, cat, o.seed) }})
		if err != nil {
			return nil, nil, err
		}
		rep.BuildIndexMS = ms(time.Since(start))
		rep.Index, rep.Lists, rep.NProbe, rep.CodeBytes = "ivfpq", crep.Lists, crep.NProbe, crep.M
	} else if !o.exact {
		start := time.Now()
		err := builder.Index(b, builder.IndexOptions{MinItems: 1, Lists: o.lists, Target: o.target, Seed: o.seed,
			Progress: func(stage string, done, total int) { progress("index: %s %d/%d", stage, done, total) }})
		if err != nil {
			return nil, nil, err
		}
		rep.BuildIndexMS = ms(time.Since(start))
		rep.Index, rep.Lists, rep.NProbe = "ivf", b.Index.Lists(), b.Index.NProbe
	}
	// History rows coded as bundle build codes them (after the rows'
	// order is final).
	if !o.compact && o.historyBytes > 0 {
		progress("history codes")
		if _, err := builder.CodeHistory(b, o.historyBytes, o.seed+1, 0); err != nil {
			return nil, nil, err
		}
	}
	// The other candidate sources, so that recommend times the whole
	// pipeline (they refer to rows, so they come after the index).
	if !o.noSources {
		b.Pipeline = sources.Random(o.items, o.seed)
	}
	progress("encoding the bundle")
	data, err := bundle.Encode(b)
	if err != nil {
		return nil, nil, err
	}
	if o.keep != "" {
		if err := writeFileAtomic(o.keep, data); err != nil {
			return nil, nil, err
		}
	}
	if err := rep.recordSizes(data); err != nil {
		return nil, nil, err
	}
	catRow := make([]int32, b.Items.Len())
	for r, id := range b.Items.IDs.Slice() {
		i, err := strconv.Atoi(id[1:])
		if err != nil {
			return nil, nil, err
		}
		catRow[r] = int32(i)
	}
	return data, catRow, nil
}

// tuningQueries are the queries of 200 sample users other than the timed
// ones (benchUsers), as the bench bundle's query tower computes them, and
// their histories as rows of b.
func tuningQueries(b *bundle.Bundle, cat *benchdata.Catalog, seed uint64) ([][]float32, [][]int32) {
	row := make(map[string]int32, b.Items.Len())
	for r, id := range b.Items.IDs.Slice() {
		row[id] = int32(r)
	}
	rng := rand.New(rand.NewPCG(seed, 98))
	out, hist := make([][]float32, 200), make([][]int32, 200)
	for i := range out {
		h := cat.User(rng, 10)
		out[i] = cat.Query(h)
		for _, c := range h {
			hist[i] = append(hist[i], row[benchID(int(c))])
		}
	}
	return out, hist
}

// recordSizes sets the bundle's size, per item and per section.
func (r *benchReport) recordSizes(data []byte) error {
	r.BundleBytes = len(data)
	r.BytesPerItem = float64(len(data)) / float64(r.Items)
	h, err := bundle.ReadHeader(data)
	if err != nil {
		return err
	}
	for _, e := range h.Entries {
		r.SectionBytes = append(r.SectionBytes, kv{Tag: e.Tag, Bytes: e.Stored, Zstd: e.Compressed()})
	}
	return nil
}

// benchID is the id of catalog item i.
func benchID(i int) string { return fmt.Sprintf("i%07d", i) }

// benchBundle packs a synthetic catalog as a bundle whose query tower turns
// a history into the catalog's query for it (benchdata.Catalog.Query), with
// the shape and cost of a trained tower: two history pools and a seed row
// of HistoryDim, region and device fields, age, a cross layer and a
// two-layer MLP. Only the plain mean pool reaches the output: layer 1 holds
// ±Pᵀ (P the catalog's projection) with ReLU and layer 2 adds the halves, so
// the output is Pᵀ·mean(history rows) exactly; the cross layer's weights
// are zero, which leaves its input unchanged.
func benchBundle(cat *benchdata.Catalog, seed uint64) *bundle.Bundle {
	n, d, h := cat.N, cat.Dim, cat.History
	rng := rand.New(rand.NewPCG(seed, 7))
	b := &bundle.Bundle{
		Vocab:      bundle.Vocab{Categories: *feature.NewVocab(genres()), Licensing: *feature.NewVocab(nil)},
		Embeddings: quant.NewInt8(n, d),
		History:    quant.NewInt8(n, h),
	}
	benchItems(b, cat, rng)
	b.Query = benchQuery(cat, rng)
	// A ranker of the trainer's default shape, untrained: what a trained
	// bundle's rank stage costs.
	b.Ranker = train.NewRanker(train.DefaultRankerConfig(), rng)
	b.Manifest = bundle.Manifest{Format: bundle.FormatName, Version: fmt.Sprintf("bench-%d-%d-%d", n, d, seed),
		Created: 1_767_225_600, Items: n, Dim: d, HistoryDim: h, Quantization: "int8", Metric: "dot",
		Builder: "edgerec bench", Model: bundle.Model{Name: "synthetic", Data: "benchdata.Clustered"}}
	return b
}

// benchItems fills b's item columns, embeddings and history rows from cat.
func benchItems(b *bundle.Bundle, cat *benchdata.Catalog, rng *rand.Rand) {
	n := cat.N
	it := &b.Items
	it.CategoryOffsets = make([]uint32, 0, n+1)
	it.CategoryOffsets = append(it.CategoryOffsets, 0)
	it.RegionOffsets = make([]uint32, n+1)
	p := make([]float32, cat.History)
	ids, titles := make([]string, n), make([]string, n)
	for i := 0; i < n; i++ {
		ids[i], titles[i] = benchID(i), fmt.Sprintf("Item %d", i)
		it.Categories = append(it.Categories, 1+cat.Cluster[i]%benchdata.Genres)
		it.CategoryOffsets = append(it.CategoryOffsets, uint32(len(it.Categories)))
		it.Released = append(it.Released, 1_700_000_000+int64(rng.IntN(365*86400)))
		it.Available = append(it.Available, true)
		it.AgeRating = append(it.AgeRating, 0)
		pop := float32(math.Log1p(float64(rng.IntN(1000))))
		it.Popularity = append(it.Popularity, pop)
		it.Recent = append(it.Recent, pop/2)
		it.Known = append(it.Known, true)
		b.Embeddings.Set(i, cat.Row(i))
		cat.Project(p, cat.Row(i))
		b.History.Set(i, p)
	}
	it.IDs, it.Titles = bundle.NewStrings(ids), bundle.NewStrings(titles)
}

// benchQuery is the bench bundle's query tower (see benchBundle).
func benchQuery(cat *benchdata.Catalog, rng *rand.Rand) tower.Query {
	d, h := cat.Dim, cat.History
	field := func(name string, values []string) tower.Field {
		v := feature.NewVocab(values)
		t := nn.NewTable(v.Size(), 4)
		for j := range t.Data {
			t.Data[j] = float32(rng.NormFloat64()) * 0.1
		}
		return tower.Field{Name: name, Vocab: *v, Table: t}
	}
	q := tower.Query{HistoryDim: h, MaxHistory: 50, Decays: []float32{1, 0.8}, Seed: true,
		Fields:   []tower.Field{field(feature.Region, benchdata.Regions), field(feature.Device, benchdata.Devices)},
		Numerics: []tower.Numeric{{Name: feature.Age, Quantiles: feature.Quantiles{Bounds: []float32{18, 25, 35, 50, 65}}}}}
	in := q.InputDim()
	q.Cross = nn.Stack{{Dim: in, W: make([]float32, in*in), B: make([]float32, in)}}
	w1 := make([]float32, 2*d*in)
	for o := 0; o < d; o++ {
		for k := 0; k < h; k++ {
			w1[o*in+k] = cat.Proj[k*d+o]      // the first pool: mean of the rows
			w1[(d+o)*in+k] = -cat.Proj[k*d+o] // and its negation
		}
	}
	w2 := make([]float32, d*2*d)
	for o := 0; o < d; o++ {
		w2[o*2*d+o], w2[o*2*d+d+o] = 1, -1
	}
	q.MLP = nn.MLP{Layers: []nn.Dense{
		{In: in, Out: 2 * d, W: w1, B: make([]float32, 2*d), Act: nn.ReLU},
		{In: 2 * d, Out: d, W: w2, B: make([]float32, d), Act: nn.Linear},
	}}
	return q
}

func genres() []string {
	g := make([]string, benchdata.Genres)
	for i := range g {
		g[i] = fmt.Sprintf("genre%02d", i)
	}
	return g
}
