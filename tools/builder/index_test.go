package builder

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/ann"
	"github.com/edgerec/edgerec/core/ann/anntest"
	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/bundle/bundletest"
	"github.com/edgerec/edgerec/core/pipeline"
	"github.com/edgerec/edgerec/core/vec"
)

// clusteredBundle is a random valid bundle whose item embeddings are a
// clustered synthetic catalog, with varied per-item metadata.
func clusteredBundle(n int) *bundle.Bundle {
	b := bundletest.Random(n, 64, 1)
	b.Pipeline = nil
	cat := anntest.Clustered(n, 64, 16, 2)
	for i := 0; i < n; i++ {
		b.Embeddings.Set(i, cat.Row(i))
	}
	return b
}

// TestPermuteCoversItems: permute moves every per-item column of
// bundle.Items; a column added to Items and not to permute fails here.
func TestPermuteCoversItems(t *testing.T) {
	const n = 50
	b := clusteredBundle(n)
	orig := clusteredBundle(n)
	perm := make([]int32, n)
	for r := range perm {
		perm[r] = int32((r*17 + 3) % n)
	}
	if err := permute(b, perm); err != nil {
		t.Fatal(err)
	}
	lists := map[string]string{"CategoryOffsets": "Categories", "RegionOffsets": "Regions"}
	got, want := reflect.ValueOf(b.Items), reflect.ValueOf(orig.Items)
	typ := got.Type()
	for f := 0; f < typ.NumField(); f++ {
		name := typ.Field(f).Name
		g, w := got.Field(f), want.Field(f)
		switch {
		case lists[name] != "":
			vals := lists[name]
			for r, old := range perm {
				gv := got.FieldByName(vals).Slice(int(g.Index(r).Uint()), int(g.Index(r+1).Uint())).Interface()
				wv := want.FieldByName(vals).Slice(int(w.Index(int(old)).Uint()), int(w.Index(int(old)+1).Uint())).Interface()
				if !reflect.DeepEqual(gv, wv) {
					t.Fatalf("%s of row %d: %v, want %v", vals, r, gv, wv)
				}
			}
		case slices.Contains([]string{"Categories", "Regions"}, name):
			// checked with their offsets
		case !typ.Field(f).IsExported():
			// derived by the bundle's writer and reader (the id table)
		case name == "IDs" || name == "Titles":
			gs, ws := g.Interface().(bundle.Strings), w.Interface().(bundle.Strings)
			for r, old := range perm {
				if gs.At(r) != ws.At(int(old)) {
					t.Fatalf("%s[%d] = %q, want old row %d's %q", name, r, gs.At(r), old, ws.At(int(old)))
				}
			}
		case g.Kind() == reflect.Slice && w.Len() == n:
			for r, old := range perm {
				if !reflect.DeepEqual(g.Index(r).Interface(), w.Index(int(old)).Interface()) {
					t.Fatalf("%s[%d] = %v, want old row %d's %v", name, r, g.Index(r), old, w.Index(int(old)))
				}
			}
		default:
			t.Errorf("column %s is not a per-item slice permute knows", name)
		}
	}
	for r, old := range perm {
		if !slices.Equal(b.Embeddings.Row(r), orig.Embeddings.Row(int(old))) || b.Embeddings.Scales[r] != orig.Embeddings.Scales[old] ||
			!slices.Equal(b.History.Row(r), orig.History.Row(int(old))) {
			t.Fatalf("embedding or history row %d is not old row %d", r, old)
		}
	}
}

// TestIndex builds the index of a clustered 30k-item bundle: the bundle
// encodes and loads, every id keeps its embedding, the build does not
// depend on the number of workers, and retrieval through the pipeline
// agrees with an exact scan at the tuned recall.
func TestIndex(t *testing.T) {
	if testing.Short() {
		t.Skip("clusters 30k items")
	}
	const n = 30_000
	orig := clusteredBundle(n)
	b := clusteredBundle(n)
	var stages []string
	if err := Index(b, IndexOptions{Seed: 5, Workers: 2, Progress: func(stage string, done, total int) {
		if len(stages) == 0 || stages[len(stages)-1] != stage {
			stages = append(stages, stage)
		}
	}}); err != nil {
		t.Fatal(err)
	}
	if b.Index == nil {
		t.Fatal("no index for 30k items")
	}
	if want := []string{"kmeans", "assign", "tune"}; !slices.Equal(stages, want) {
		t.Errorf("progress stages %v, want %v", stages, want)
	}
	t.Logf("%d lists, nprobe %d, tuned recall %.3f", b.Index.Lists(), b.Index.NProbe, b.Index.Recall)
	if b.Index.Recall < DefaultIndexTarget {
		t.Errorf("tuned recall %.3f below the target %.2f", b.Index.Recall, DefaultIndexTarget)
	}
	row := map[string]int{}
	for i, id := range orig.Items.IDs.Slice() {
		row[id] = i
	}
	for r, id := range b.Items.IDs.Slice() {
		if !slices.Equal(b.Embeddings.Row(r), orig.Embeddings.Row(row[id])) {
			t.Fatalf("item %s lost its embedding", id)
		}
	}
	data, err := bundle.Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	again := clusteredBundle(n)
	if err := Index(again, IndexOptions{Seed: 5, Workers: 1}); err != nil {
		t.Fatal(err)
	}
	data1, err := bundle.Encode(again)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, data1) {
		t.Error("the indexed bundle depends on the number of workers")
	}
	rec, err := pipeline.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Bundle().Index == nil {
		t.Fatal("index lost in encoding")
	}
	// Queries at items: the pipeline's retrieval (IVF) against an exact scan.
	var hit, total int
	for i := 0; i < 50; i++ {
		q := &pipeline.Query{}
		emb := make([]float32, 64)
		b.Embeddings.Decode(emb, (i*7919)%n)
		var exact []int32
		for _, h := range (ann.Exact{Items: rec.Bundle().Embeddings}).Search(emb, 100, nil) {
			exact = append(exact, h.Item)
		}
		for _, c := range rec.Retrieve(q, emb, 100) {
			if slices.Contains(exact, c.Row) {
				hit++
			}
		}
		total += 100
	}
	if r := float64(hit) / float64(total); r < 0.93 {
		t.Errorf("retrieval recall@100 against exact %.3f < 0.93", r)
	}
}

// TestIndexTunesOnQueries: with IndexOptions.Queries the default nprobe is
// the one ann.TuneNProbe gives for those queries (on the reordered rows);
// too few queries fall back to synthetic ones.
func TestIndexTunesOnQueries(t *testing.T) {
	if testing.Short() {
		t.Skip("clusters 30k items")
	}
	const n = 30_000
	rng := rand.New(rand.NewPCG(4, 4))
	random := func(m int) [][]float32 {
		q := make([][]float32, m)
		for i := range q {
			q[i] = make([]float32, 64)
			for j := range q[i] {
				q[i][j] = float32(rng.NormFloat64())
			}
			vec.L2Normalize(q[i])
		}
		return q
	}
	samples := random(40)
	b := clusteredBundle(n)
	calls := 0
	if err := Index(b, IndexOptions{Seed: 5, Queries: func(got *bundle.Bundle) [][]float32 {
		calls++
		if got != b {
			t.Error("Queries called with another bundle")
		}
		return samples
	}}); err != nil {
		t.Fatal(err)
	}
	want, _ := ann.TuneNProbe(b.Index.IVF(b.Embeddings), ann.TuneOptions{Samples: samples})
	if calls != 1 || b.Index.NProbe != want {
		t.Errorf("%d calls, nprobe %d; tuning on the samples gives %d", calls, b.Index.NProbe, want)
	}
	synth := clusteredBundle(n)
	if err := Index(synth, IndexOptions{Seed: 5}); err != nil {
		t.Fatal(err)
	}
	few := clusteredBundle(n)
	if err := Index(few, IndexOptions{Seed: 5, Queries: func(*bundle.Bundle) [][]float32 { return samples[:MinTuneUsers-1] }}); err != nil {
		t.Fatal(err)
	}
	t.Logf("nprobe %d on random directions, %d on synthetic queries", b.Index.NProbe, synth.Index.NProbe)
	if few.Index.NProbe != synth.Index.NProbe || b.Index.NProbe <= synth.Index.NProbe {
		t.Errorf("nprobe: %d with %d queries, %d synthetic, %d with the samples", few.Index.NProbe, MinTuneUsers-1, synth.Index.NProbe, b.Index.NProbe)
	}
}

func TestIndexSkips(t *testing.T) {
	b := clusteredBundle(500)
	if err := Index(b, IndexOptions{}); err != nil || b.Index != nil {
		t.Errorf("500 items: index %v, error %v; want none", b.Index, err)
	}
	if err := Index(b, IndexOptions{MinItems: -1}); err != nil || b.Index != nil {
		t.Errorf("MinItems -1: index %v, error %v; want none", b.Index, err)
	}
	b.Pipeline = &bundle.Pipeline{}
	if err := Index(b, IndexOptions{MinItems: 100}); err == nil {
		t.Error("indexed a bundle whose sources data refers to rows")
	}
	b.Pipeline = nil
	if err := Index(b, IndexOptions{MinItems: 100, Lists: 10}); err != nil || b.Index == nil || b.Index.Lists() != 10 {
		t.Errorf("MinItems 100, 10 lists: %v, %v", b.Index, err)
	}
}

// TestPermuteLean: permute keeps the lists and titles a decoded bundle
// leaves implied (bundle format 4): one category per item, none of
// regions or titles.
func TestPermuteLean(t *testing.T) {
	const n = 50
	b := clusteredBundle(n)
	bundletest.MakeLean(b)
	data, err := bundle.Encode(b)
	require.NoError(t, err)
	lean, err := bundle.Decode(data)
	require.NoError(t, err)
	require.Nil(t, lean.Items.CategoryOffsets, "the offsets are implied")
	perm := make([]int32, n)
	for r := range perm {
		perm[r] = int32((r*17 + 3) % n)
	}
	require.NoError(t, permute(lean, perm))
	for r, old := range perm {
		assert.Equal(t, b.Items.CategoriesOf(int(old)), lean.Items.CategoriesOf(r), "row %d", r)
		assert.Empty(t, lean.Items.RegionsOf(r))
		assert.Equal(t, "", lean.Items.Title(r))
	}
	_, err = bundle.Encode(lean)
	assert.NoError(t, err)
}
