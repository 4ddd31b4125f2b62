// Package bundletest makes random but valid bundles for tests and
// benchmarks of the code that serves them.
package bundletest

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/feature"
	"github.com/edgerec/edgerec/core/nn"
	"github.com/edgerec/edgerec/core/quant"
	"github.com/edgerec/edgerec/core/rank"
	"github.com/edgerec/edgerec/core/tower"
	"github.com/edgerec/edgerec/core/vec"
	"github.com/edgerec/edgerec/tools/benchdata"
	"github.com/edgerec/edgerec/tools/benchdata/sources"
)

// Regions, Devices and Genders are the vocabularies of a Random bundle.
var (
	Regions    = benchdata.Regions
	Devices    = benchdata.Devices
	Genders    = []string{"f", "m"}
	Categories = []string{"drama", "comedy", "news", "sports"}
)

// Created is the creation time of a Random bundle; item i is released
// (n−1−i)·ReleaseStep seconds before it, so the last items are fresh.
const (
	Created     = 1_767_225_600
	ReleaseStep = 6 * 3600
)

// ID returns the id of item i in a Random bundle.
func ID(i int) string { return fmt.Sprintf("item%06d", i) }

// Random returns a valid bundle of n items with dim-wide embeddings and a
// one-hidden-layer query tower, all weights drawn from seed. Item i has id
// ID(i), category i%4, and is licensed everywhere except every 10th item,
// which is licensed in "eu" only; every 13th item is unavailable and
// items with i%4 == 3 are rated 18. The query tower has two history pools,
// a seed input, four fields, one numeric feature and a cross layer; the
// ranker re-scores the candidates. The pipeline section has 5 random
// co-visited neighbours per item, popular and trending lists for all
// regions and for "eu", and DefaultParams.
func Random(n, dim int, seed uint64) *bundle.Bundle {
	rng := rand.New(rand.NewPCG(seed, 1))
	const histDim = 16
	b := &bundle.Bundle{
		Vocab: bundle.Vocab{
			Categories: *feature.NewVocab(Categories),
			Licensing:  *feature.NewVocab([]string{"eu"}),
		},
		Embeddings: quant.NewInt8(n, dim),
		History:    quant.NewInt8(n, histDim),
	}
	it := &b.Items
	it.CategoryOffsets = []uint32{0}
	it.RegionOffsets = []uint32{0}
	v := make([]float32, dim)
	h := make([]float32, histDim)
	var ids, titles []string
	for i := 0; i < n; i++ {
		ids = append(ids, ID(i))
		titles = append(titles, fmt.Sprintf("Title %d", i))
		it.Categories = append(it.Categories, int32(1+i%4))
		it.CategoryOffsets = append(it.CategoryOffsets, uint32(len(it.Categories)))
		it.Released = append(it.Released, Created-int64(n-1-i)*ReleaseStep)
		it.Available = append(it.Available, i%13 != 0)
		it.AgeRating = append(it.AgeRating, uint8([]int{0, 0, 13, 18}[i%4]))
		if i%10 == 0 {
			it.Regions = append(it.Regions, 1)
		}
		it.RegionOffsets = append(it.RegionOffsets, uint32(len(it.Regions)))
		it.Popularity = append(it.Popularity, float32(math.Log1p(float64(n-i))))
		it.Recent = append(it.Recent, float32(math.Log1p(float64(i%50))))
		it.Known = append(it.Known, i%17 != 0)
		gauss(rng, v)
		vec.L2Normalize(v)
		b.Embeddings.Set(i, v)
		gauss(rng, h)
		b.History.Set(i, h)
	}
	it.IDs, it.Titles = bundle.NewStrings(ids), bundle.NewStrings(titles)
	table := func(rows, d int) nn.Table {
		t := nn.NewTable(rows, d)
		gauss(rng, t.Data)
		return t
	}
	field := func(name string, values []string) tower.Field {
		v := feature.NewVocab(values)
		return tower.Field{Name: name, Vocab: *v, Table: table(v.Size(), 4)}
	}
	b.Query = tower.Query{HistoryDim: histDim, MaxHistory: 50, Decays: []float32{1, 0.8}, Seed: true, Fields: []tower.Field{
		field(feature.Region, Regions), field(feature.Device, Devices), field(feature.Gender, Genders),
		field(feature.AgeGroup, []string{"1", "2", "3", "4", "5", "6", "7"}),
	}, Numerics: []tower.Numeric{{Name: feature.Age, Quantiles: feature.Quantiles{Bounds: []float32{10, 20, 30, 50, 80}}}}}
	in := b.Query.InputDim()
	b.Query.Cross = nn.Stack{{Dim: in, W: table(in, in).Data, B: make([]float32, in)}}
	b.Query.MLP = nn.MLP{Layers: []nn.Dense{
		{In: in, Out: 32, W: table(32, in).Data, B: make([]float32, 32), Act: nn.ReLU},
		{In: 32, Out: dim, W: table(dim, 32).Data, B: make([]float32, dim), Act: nn.Linear},
	}}
	nf := len(rank.Features)
	b.Ranker = &rank.Model{Depth: 50, Features: rank.Features, Mean: make([]float32, nf), Std: make([]float32, nf),
		MLP: nn.MLP{Layers: []nn.Dense{
			{In: nf, Out: 8, W: table(8, nf).Data, B: make([]float32, 8), Act: nn.ReLU},
			{In: 8, Out: 1, W: table(1, 8).Data, B: make([]float32, 1)},
		}}}
	for i := range b.Ranker.Std {
		b.Ranker.Std[i] = 1
	}
	b.Pipeline = RandomPipeline(n, seed)
	b.Manifest = bundle.Manifest{Format: bundle.FormatName, Version: fmt.Sprintf("random-%d-%d-%d", n, dim, seed),
		Created: Created, Items: n, Dim: dim, HistoryDim: histDim, Quantization: "int8", Metric: "dot",
		Builder: "bundletest", Model: bundle.Model{Name: "random"}}
	return b
}

// MakeLean gives b's items what format 4 leaves implied: one category
// each (item i the (1 + i mod (categories−1)))-th of the vocabulary, never
// its unknown entry), no region licensing and no titles.
func MakeLean(b *bundle.Bundle) {
	it := &b.Items
	n := it.Len()
	it.Categories, it.CategoryOffsets = make([]int32, 0, n), []uint32{0}
	for i := range n {
		it.Categories = append(it.Categories, int32(1+i%(b.Vocab.Categories.Size()-1)))
		it.CategoryOffsets = append(it.CategoryOffsets, uint32(i+1))
	}
	it.Regions, it.RegionOffsets = nil, make([]uint32, n+1)
	it.Titles = bundle.NewStrings(make([]string, n))
}

// Encoded returns Random(n, dim, seed) encoded; it panics on error, which
// would be a bug in Random or in bundle.Encode.
func Encoded(n, dim int, seed uint64) []byte {
	data, err := bundle.Encode(Random(n, dim, seed))
	if err != nil {
		panic(err)
	}
	return data
}

func gauss(rng *rand.Rand, x []float32) {
	for i := range x {
		x[i] = float32(rng.NormFloat64()) * 0.3
	}
}

// RandomPipeline returns a valid PIPE section for n items
// (sources.Random, which `edgerec bench` uses too): 5 random co-visited
// and 3 random slim neighbours per item, popular and trending lists for
// all regions and for "eu" (100 items each), 30 fresh days and
// DefaultParams.
func RandomPipeline(n int, seed uint64) *bundle.Pipeline { return sources.Random(n, seed) }
