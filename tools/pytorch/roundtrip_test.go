package pytorch

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/feature"
	"github.com/edgerec/edgerec/core/vec"
	"github.com/edgerec/edgerec/core/wire"
	"github.com/edgerec/edgerec/host"
	"github.com/edgerec/edgerec/tools/builder"
	"github.com/edgerec/edgerec/tools/dataset"
	"github.com/edgerec/edgerec/tools/importer"
	"github.com/edgerec/edgerec/tools/model"
	"github.com/edgerec/edgerec/tools/synth"
	"github.com/edgerec/edgerec/wasm/wasmtest"
)

// python is Debian's interpreter, where apt installs python3-torch (the
// python3 on PATH may be another one without torch).
const python = "/usr/bin/python3"

// tol is the agreement required between PyTorch's and edgerec's float
// embeddings, per dimension.
const tol = 1e-4

// reference is what twotower.py writes to reference.json.
type reference struct {
	Created        int64       `json:"created"`
	Items          []string    `json:"items"`
	ItemEmbeddings [][]float32 `json:"item_embeddings"`
	Queries        []struct {
		User      string    `json:"user"`
		History   []string  `json:"history"`
		Region    string    `json:"region"`
		Device    string    `json:"device"`
		Gender    string    `json:"gender"`
		Age       int       `json:"age"`
		Embedding []float32 `json:"embedding"`
		Top10     []string  `json:"top10"`
		Scores    []float32 `json:"top10_scores"`
		Ranked    []string  `json:"ranked"`
	} `json:"queries"`
}

func requireTorch(t *testing.T) {
	out, err := exec.Command(python, "-c", "import torch, numpy").CombinedOutput()
	if err == nil {
		return
	}
	msg := "\n*****************************************************************\n" +
		"* SKIPPING the PyTorch round trip: " + python + " cannot import torch\n" +
		"* and numpy (apt-get install python3-torch python3-numpy).\n" +
		"*****************************************************************\n" + string(out)
	if os.Getenv("EDGEREC_REQUIRE_TORCH") != "" {
		t.Fatal(msg + "EDGEREC_REQUIRE_TORCH is set: failing instead.")
	}
	t.Skip(msg)
}

// TestPyTorchRoundTrip trains tools/pytorch/twotower.py on synthetic data,
// imports its safetensors and .npz exports, builds a bundle and checks:
//
//   - to_safetensors.py turns the checkpoint into the same safetensors;
//   - both weight files import to the same model;
//   - every item embedding of the imported item tower (core/tower, float,
//     as the builder runs it) is within tol of PyTorch's, and the bundle's
//     int8 rows within their quantization step (scale/2) plus tol;
//   - every reference user's query embedding from recommender.wasm
//     (edgerec_embed, through host) is within tol of PyTorch's;
//   - the float towers' exact top-10 equals PyTorch's exact top-10 list for
//     every user (same items, same order), over the items the serving
//     filter admits;
//   - the module's top-10, scored with int8 codes (FORMAT.md §5.5), equals
//     PyTorch's except for reorderings that the int8 error permits: the
//     item the module puts at rank j scores, in PyTorch, within 2B of
//     PyTorch's rank-j score, where B bounds |int8 score − float score|
//     for that query (‖q‖₁·scaleᵢ/2 + ‖x̂ᵢ‖₁·scale_q/2, maximized over
//     items, plus the tol of the query). Lists that differ are logged.
func TestPyTorchRoundTrip(t *testing.T) {
	requireTorch(t)
	if testing.Short() {
		t.Skip("trains a PyTorch model (about 15 s)")
	}
	dir := t.TempDir()
	cfg := synth.DefaultConfig()
	cfg.Users, cfg.Items = 1000, 500
	ds, err := synth.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	if err := dataset.WriteDir(data, ds); err != nil {
		t.Fatal(err)
	}
	ds.Name = "data"
	out := filepath.Join(dir, "out")
	cmd := exec.Command(python, "twotower.py", "--data", data, "--out", out, "--epochs", "3")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("twotower.py: %v\n%s", err, b)
	} else {
		t.Logf("twotower.py:\n%s", b)
	}

	// The checkpoint converts to the same safetensors bytes.
	conv := filepath.Join(dir, "from-checkpoint.safetensors")
	if b, err := exec.Command(python, "to_safetensors.py", filepath.Join(out, "model.pt"), conv).CombinedOutput(); err != nil {
		t.Fatalf("to_safetensors.py: %v\n%s", err, b)
	}
	a, _ := os.ReadFile(conv)
	if b, _ := os.ReadFile(filepath.Join(out, "model.safetensors")); len(a) == 0 || !bytes.Equal(a, b) {
		t.Error("to_safetensors.py of the checkpoint differs from twotower.py's safetensors")
	}

	spec, err := importer.LoadSpec(filepath.Join(out, "spec.json"))
	if err != nil {
		t.Fatal(err)
	}
	var models [2]*model.Model
	for i, f := range []string{"model.safetensors", "model.npz"} {
		ts, err := importer.ReadWeights(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		if models[i], err = importer.Import(spec, ts, importer.Options{}); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	for _, pair := range [][2]any{{&models[0].Query, &models[1].Query}, {&models[0].Item, &models[1].Item}} {
		a, _ := wire.Marshal(pair[0])
		b, _ := wire.Marshal(pair[1])
		if !bytes.Equal(a, b) {
			t.Fatal("safetensors and .npz import to different towers")
		}
	}
	m := models[0]

	var ref reference
	raw, err := os.ReadFile(filepath.Join(out, "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	if ref.Created != m.Manifest.TrainedAt {
		t.Fatalf("reference time %d, spec trained_at %d", ref.Created, m.Manifest.TrainedAt)
	}

	// Item tower, float, prepared as tools/builder prepares catalog items.
	byID := map[string]int{}
	for i, it := range ds.Items {
		byID[it.ID] = i
	}
	floatItems := map[string][]float32{}
	s := m.Item.NewScratch()
	var worstItem float64
	for r, id := range ref.Items {
		it := ds.Items[byID[id]]
		var cats []int32
		for _, c := range it.Categories {
			if ci := m.Vocab.Categories.Index(c); ci != feature.Unknown {
				cats = append(cats, ci)
			}
		}
		rawf := feature.Item{Price: it.Price, Released: it.Released, Time: ref.Created}
		e := slices.Clone(m.Item.Embed(s, m.Item.Prepare(m.Vocab.Items.Index(id), cats, m.Item.Tokenize(it.Title), &rawf)))
		floatItems[id] = e
		worstItem = max(worstItem, maxDiff(e, ref.ItemEmbeddings[r]))
	}
	t.Logf("item embeddings: max |edgerec − PyTorch| = %.2g over %d items", worstItem, len(ref.Items))
	if worstItem > tol {
		t.Errorf("item embeddings differ from PyTorch's by up to %g, want ≤ %g", worstItem, tol)
	}

	// The bundle: retrieval alone (no other sources, no ranker, no MMR), so
	// that its lists are the two-tower's.
	b, err := builder.Build(m, ds, builder.Options{NoSources: true, Builder: "test"})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := bundle.Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	rowOf := map[string]int{}
	for i, id := range b.Items.IDs.Slice() {
		rowOf[id] = i
	}
	dec := make([]float32, b.Embeddings.Dim)
	var worstInt8 float64
	for r, id := range ref.Items {
		b.Embeddings.Decode(dec, rowOf[id])
		step := float64(b.Embeddings.Scales[rowOf[id]]) / 2
		worstInt8 = max(worstInt8, maxDiff(dec, ref.ItemEmbeddings[r])-step)
	}
	if worstInt8 > tol {
		t.Errorf("the bundle's int8 item rows exceed their quantization step by %g, want ≤ %g", worstInt8, tol)
	}

	ctx := context.Background()
	mod := compileModule(t, dir)
	in, err := mod.Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close(ctx)
	if _, err := in.LoadBundle(ctx, enc); err != nil {
		t.Fatal(err)
	}

	var worstQuery float64
	identical := 0
	for _, q := range ref.Queries {
		req := &api.Request{K: 10, Context: api.Context{Region: q.Region, Device: q.Device, Gender: q.Gender, Age: q.Age}}
		for _, h := range q.History {
			req.History = append(req.History, api.Event{Item: h})
		}
		e, err := in.Embed(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if e.UnknownItems != 0 {
			t.Fatalf("user %s: %d history items unknown to the bundle", q.User, e.UnknownItems)
		}
		worstQuery = max(worstQuery, maxDiff(e.Vector, q.Embedding))

		// Float exact top-10 over PyTorch's servable items.
		fs := map[string]float32{}
		for _, id := range q.Ranked {
			fs[id] = vec.Dot(e.Vector, floatItems[id])
		}
		exact := slices.Clone(q.Ranked)
		sort.SliceStable(exact, func(i, j int) bool { return fs[exact[i]] > fs[exact[j]] })
		if !slices.Equal(exact[:min(10, len(exact))], q.Top10) {
			t.Errorf("user %s: float top-10 %v, PyTorch %v", q.User, exact[:10], q.Top10)
		}

		resp, err := in.Recommend(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]string, len(resp.Items))
		for i, it := range resp.Items {
			got[i] = it.ID
		}
		if slices.Equal(got, q.Top10) {
			identical++
			continue
		}
		if len(got) != len(q.Top10) {
			t.Errorf("user %s: module returned %d items, PyTorch %d", q.User, len(got), len(q.Top10))
			continue
		}
		bound := int8Bound(b, q.Embedding, q.Ranked, rowOf)
		pt := map[string]float32{}
		for _, id := range q.Ranked {
			pt[id] = vec.Dot(q.Embedding, ref.ItemEmbeddings[slices.Index(ref.Items, id)])
		}
		for j := range got {
			if d := math.Abs(float64(pt[got[j]] - q.Scores[j])); d > 2*bound {
				t.Errorf("user %s rank %d: module %s (PyTorch score %.5f), PyTorch %s (%.5f): gap %.2g beyond the int8 bound 2×%.2g",
					q.User, j+1, got[j], pt[got[j]], q.Top10[j], q.Scores[j], d, bound)
			}
		}
		t.Logf("user %s: module %v, PyTorch %v (within the int8 bound %.2g)", q.User, got, q.Top10, bound)
	}
	t.Logf("query embeddings (module): max |edgerec − PyTorch| = %.2g over %d users; top-10 identical for %d of %d users",
		worstQuery, len(ref.Queries), identical, len(ref.Queries))
	if worstQuery > tol {
		t.Errorf("query embeddings differ from PyTorch's by up to %g, want ≤ %g", worstQuery, tol)
	}
}

// int8Bound bounds |int8 score − float score| of query q over the items:
// the module quantizes q like the items (scale max|q|/127, error ≤ scale/2
// per dimension), so |q·x − q̂·x̂| ≤ ‖q‖₁·sₓ/2 + ‖x̂‖₁·s_q/2; tol·‖x̂‖₁ covers
// the difference between PyTorch's q and the module's.
func int8Bound(b *bundle.Bundle, q []float32, ids []string, rowOf map[string]int) float64 {
	var q1, qmax float64
	for _, v := range q {
		q1 += math.Abs(float64(v))
		qmax = max(qmax, math.Abs(float64(v)))
	}
	qs := qmax / 127
	dec := make([]float32, b.Embeddings.Dim)
	var worst float64
	for _, id := range ids {
		r := rowOf[id]
		b.Embeddings.Decode(dec, r)
		var x1 float64
		for _, v := range dec {
			x1 += math.Abs(float64(v))
		}
		worst = max(worst, q1*float64(b.Embeddings.Scales[r])/2+x1*qs/2+tol*x1)
	}
	return worst
}

func maxDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var d float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// compileModule builds recommender.wasm from the working tree and compiles
// it.
func compileModule(t *testing.T, dir string) *host.Module {
	t.Helper()
	wasm, err := wasmtest.Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	code, err := host.LoadModuleFile(wasm)
	if err != nil {
		t.Fatal(err)
	}
	m, err := host.Compile(context.Background(), code, host.Options{CacheDir: filepath.Join(os.TempDir(), "edgerec-pytorch-test-wazero-cache")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(context.Background()) })
	return m
}
