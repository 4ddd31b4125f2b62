package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/edgerec/edgerec/core/ann"
	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bloom"
	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/feature"
	"github.com/edgerec/edgerec/core/pipeline"
	"github.com/edgerec/edgerec/core/vec"
	"github.com/edgerec/edgerec/host"
	"github.com/edgerec/edgerec/tools/builder"
	"github.com/edgerec/edgerec/tools/dataset"
	"github.com/edgerec/edgerec/tools/eval"
	"github.com/edgerec/edgerec/tools/model"
	"github.com/edgerec/edgerec/wasm/wasmtest"
)

// wasmPath is recommender.wasm built by TestMain; work is the directory
// where TestMain ran the pipeline once for all tests.
var wasmPath, work string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "edgerec-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	work = dir
	if wasmPath, err = wasmtest.Build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// edgerec runs the command line in process and returns its exit status and
// output.
func edgerec(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := edgerec(t, args...)
	if code != 0 {
		t.Fatalf("edgerec %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// mustDataset loads the data set in the edgerec format at dir.
func mustDataset(t *testing.T, dir string) *dataset.Dataset {
	t.Helper()
	ds, err := dataset.Load(dir, "edgerec")
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// mustModel loads the model directory dir.
func mustModel(t *testing.T, dir string) *model.Model {
	t.Helper()
	m, err := model.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// pipelineOnce runs synth → train → bundle build once and returns the paths.
func pipelineOnce(t *testing.T) (data, modelDir, bundlePath string) {
	t.Helper()
	data, modelDir, bundlePath = filepath.Join(work, "data"), filepath.Join(work, "model"), filepath.Join(work, "demo.bundle")
	if _, err := os.Stat(bundlePath); err == nil {
		return
	}
	mustRun(t, "synth", "--out", data, "--users", "400", "--items", "300", "--seed", "3")
	mustRun(t, "train", "--data", data, "--out", modelDir, "--epochs", "2")
	mustRun(t, "bundle", "build", "--model", modelDir, "--data", data, "--out", bundlePath)
	return
}

func TestEndToEnd(t *testing.T) {
	data, _, bundlePath := pipelineOnce(t)

	var in inspection
	if err := json.Unmarshal([]byte(mustRun(t, "bundle", "inspect", bundlePath, "--json")), &in); err != nil {
		t.Fatal(err)
	}
	wantSections := 13 // ten required, and PIPE with its lists COVI and SLIM
	if in.Ranker != nil {
		wantSections++ // the optional RANK
	}
	// The minor is the newest feature the bundle uses (a popularity
	// prior, lean columns): what Encode of the same content writes.
	raw, err := os.ReadFile(bundlePath)
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := bundle.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	again, err := bundle.Encode(decoded)
	if err != nil {
		t.Fatal(err)
	}
	h, err := bundle.ReadHeader(again)
	if err != nil {
		t.Fatal(err)
	}
	if in.Manifest.Items != 300 || len(in.Sections) != wantSections || in.Format != fmt.Sprintf("%d.%d", h.Major, h.Minor) {
		t.Errorf("inspect: %d items, %d sections (ranker %v), format %s (popularity prior %v)", in.Manifest.Items, len(in.Sections), in.Ranker != nil, in.Format, in.Manifest.Model.PopPrior)
	}

	ds := mustDataset(t, data)
	user := ds.Users[6].ID
	args := []string{"recommend", "--bundle", bundlePath, "--data", data, "--user", user, "--k", "15", "--json"}
	var fromWasm, native api.Response
	if err := json.Unmarshal([]byte(mustRun(t, append(args, "--wasm", wasmPath)...)), &fromWasm); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(mustRun(t, append(args, "--native")...)), &native); err != nil {
		t.Fatal(err)
	}
	if len(fromWasm.Items) != 15 {
		t.Fatalf("module returned %d items, want 15", len(fromWasm.Items))
	}
	for i := range fromWasm.Items {
		w, n := fromWasm.Items[i], native.Items[i]
		if w.ID != n.ID || math.Abs(float64(w.Score-n.Score)) > 1e-6 {
			t.Errorf("item %d: module %s %.7f, native %s %.7f", i, w.ID, w.Score, n.ID, n.Score)
		}
	}
	// History items are never recommended.
	seen := map[string]bool{}
	for _, x := range ds.Interactions {
		if x.User == user {
			seen[x.Item] = true
		}
	}
	for _, it := range fromWasm.Items {
		if seen[it.ID] {
			t.Errorf("recommended %s from the user's own history", it.ID)
		}
	}
	// The human-readable form prints titles.
	if out := mustRun(t, "recommend", "--bundle", bundlePath, "--wasm", wasmPath, "--history", ds.Items[0].ID+","+ds.Items[1].ID, "--k", "3"); !strings.Contains(out, "rank") || len(regexp.MustCompile(`(?m)^ +[1-3]  `).FindAllString(out, -1)) != 3 {
		t.Errorf("table output:\n%s", out)
	}
}

func TestCommandErrors(t *testing.T) {
	_, _, bundlePath := pipelineOnce(t)
	good, err := os.ReadFile(bundlePath)
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(t.TempDir(), "truncated.bundle")
	os.WriteFile(truncated, good[:len(good)/2], 0o644)
	flipped := filepath.Join(t.TempDir(), "flipped.bundle")
	bad := bytes.Clone(good)
	bad[len(bad)-10] ^= 0xff
	os.WriteFile(flipped, bad, 0o644)

	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no command", nil, 2, "Usage"},
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
		{"unknown flag", []string{"train", "--bogus"}, 2, "unknown flag --bogus"},
		{"missing required", []string{"train", "--data", "x"}, 2, "--out is required"},
		{"help", []string{"train", "--help"}, 0, "-epochs"},
		{"missing data dir", []string{"train", "--data", "/nonexistent", "--out", "x"}, 1, "no such file"},
		{"missing bundle", []string{"bundle", "inspect", "/nonexistent.bundle"}, 1, "no such file"},
		{"truncated bundle inspect", []string{"bundle", "inspect", truncated}, 1, "truncated"},
		{"corrupt bundle inspect", []string{"bundle", "inspect", flipped}, 1, "checksum mismatch"},
		{"corrupt bundle in module", []string{"recommend", "--bundle", flipped, "--wasm", wasmPath, "--history", "i001"}, 1, "checksum mismatch"},
		{"missing module", []string{"recommend", "--bundle", bundlePath, "--wasm", "/nonexistent.wasm", "--history", "i001"}, 1, "make build"},
		{"k out of range", []string{"recommend", "--bundle", bundlePath, "--history", "i001", "--k", "501"}, 2, "out of range"},
		{"both inputs", []string{"recommend", "--bundle", bundlePath, "--history", "i001", "--user", "u1"}, 2, "either"},
		{"bad synth size", []string{"synth", "--out", t.TempDir(), "--users", "0"}, 2, "Users"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := edgerec(t, tc.args...)
			if code != tc.code || !strings.Contains(out+errOut, tc.want) {
				t.Errorf("exit %d (want %d), output does not contain %q:\n%s%s", code, tc.code, tc.want, out, errOut)
			}
		})
	}
}

// TestParity sends the same requests to the module in wazero and to the
// native pipeline, and compares both with the trainer's float model: the
// module must equal native exactly, and track the unquantized model.
func TestParity(t *testing.T) {
	data, modelDir, bundlePath := pipelineOnce(t)
	b, err := os.ReadFile(bundlePath)
	if err != nil {
		t.Fatal(err)
	}
	native, err := pipeline.Load(b)
	if err != nil {
		t.Fatal(err)
	}
	m := mustModel(t, modelDir)
	ds := mustDataset(t, data)
	ctx := context.Background()
	wasm, err := host.LoadModuleFile(wasmPath)
	if err != nil {
		t.Fatal(err)
	}
	mod, err := host.Compile(ctx, wasm, host.Options{CacheDir: filepath.Join(os.TempDir(), "edgerec-e2e-wazero-cache")})
	if err != nil {
		t.Fatal(err)
	}
	defer mod.Close(ctx)
	inst, err := mod.Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close(ctx)
	if _, err := inst.LoadBundle(ctx, bytes.Clone(b)); err != nil {
		t.Fatal(err)
	}

	items := map[string]dataset.Item{}
	for _, it := range ds.Items {
		items[it.ID] = it
	}
	floatItems := floatItemEmbeddings(m, native, items, native.Bundle().Manifest.Created)
	rng := rand.New(rand.NewPCG(1, 1))
	regions := []string{"", "nowhere"}
	for _, f := range m.Query.Fields {
		if f.Name == feature.Region {
			regions = append(regions, f.Vocab.Values...)
		}
	}
	var worstScore float64
	var overlap, total int
	for r := 0; r < 60; r++ {
		req := &api.Request{K: 1 + rng.IntN(40), Context: api.Context{
			Region: regions[rng.IntN(len(regions))], Age: rng.IntN(90), Gender: []string{"", "f", "m", "x"}[rng.IntN(4)],
		}}
		for h := rng.IntN(30); h > 0; h-- {
			id := ds.Items[rng.IntN(len(ds.Items))].ID
			if rng.IntN(10) == 0 {
				id = "unknown-" + id
			}
			req.History = append(req.History, api.Event{Item: id})
		}
		got, err := inst.Recommend(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		want, err := native.Recommend(req)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Items) != len(want.Items) {
			t.Fatalf("request %d: module %d items, native %d", r, len(got.Items), len(want.Items))
		}
		for i := range got.Items {
			if got.Items[i] != want.Items[i] {
				t.Fatalf("request %d item %d: module %+v, native %+v", r, i, got.Items[i], want.Items[i])
			}
		}

		// The trainer's float towers on the same input, against the
		// module's retrieval stage (int8 rows and embeddings).
		q := native.Resolve(req)
		fin := q.Input
		toModel := func(row int32) int32 { return m.Vocab.Items.Index(native.Bundle().Items.IDs.At(int(row))) }
		fin.History = nil
		for _, row := range q.Input.History {
			fin.History = append(fin.History, toModel(row))
		}
		if fin.Seed >= 0 {
			fin.Seed = toModel(fin.Seed)
		}
		u := m.Query.Embed(m.Query.NewScratch(), &m.Item.IDs, fin)
		qm := native.Embed(q)
		if cos := vec.Dot(u, qm); cos < 0.995 {
			t.Errorf("request %d: module query embedding has cosine %.4f with the trainer's", r, cos)
		}
		retrieved := native.Retrieve(q, qm, req.K)
		for _, c := range retrieved {
			worstScore = max(worstScore, math.Abs(float64(vec.Dot(u, floatItems[c.Row])-c.Score)))
		}
		overlap += topOverlap(u, floatItems, q.Exclude, retrieved)
		total += len(retrieved)
	}
	t.Logf("max |module score − float score| = %.4f; top-K overlap with float ranking %d/%d", worstScore, overlap, total)
	if worstScore > 0.03 {
		t.Errorf("module scores differ from the float model by up to %.4f, want ≤ 0.03", worstScore)
	}
	if float64(overlap) < 0.9*float64(total) {
		t.Errorf("module top-K overlaps the float model's in %d of %d places, want ≥ 90%%", overlap, total)
	}
}

// floatItemEmbeddings embeds every bundle item with the trainer's float
// item tower, as the bundle builder does before quantizing.
func floatItemEmbeddings(m *model.Model, rec *pipeline.Recommender, items map[string]dataset.Item, created int64) [][]float32 {
	b := rec.Bundle()
	out := make([][]float32, b.Items.Len())
	s := m.Item.NewScratch()
	for row, id := range b.Items.IDs.Slice() {
		it := items[id]
		raw := feature.Item{Price: it.Price, Released: it.Released, Time: created}
		in := m.Item.Prepare(m.Vocab.Items.Index(id), b.Items.CategoriesOf(row), m.Item.Tokenize(it.Title), &raw)
		out[row] = append([]float32(nil), m.Item.Embed(s, in)...)
	}
	return out
}

// topOverlap counts how many of got are in the float model's top len(got)
// over the catalog, excluded rows left out.
func topOverlap(u []float32, items [][]float32, exclude []int32, got []pipeline.Candidate) int {
	skip := map[int32]bool{}
	for _, h := range exclude {
		skip[h] = true
	}
	top := ann.NewTopK(len(got))
	for row, v := range items {
		if !skip[int32(row)] {
			top.Push(int32(row), vec.Dot(u, v))
		}
	}
	want := map[int32]bool{}
	for _, h := range top.Sorted() {
		want[h.Item] = true
	}
	n := 0
	for _, c := range got {
		if want[c.Row] {
			n++
		}
	}
	return n
}

// moduleInstance compiles the test module and loads a bundle into a fresh
// instance.
func moduleInstance(t *testing.T, bundleData []byte) *host.Instance {
	t.Helper()
	ctx := context.Background()
	wasm, err := host.LoadModuleFile(wasmPath)
	if err != nil {
		t.Fatal(err)
	}
	mod, err := host.Compile(ctx, wasm, host.Options{CacheDir: filepath.Join(os.TempDir(), "edgerec-e2e-wazero-cache")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mod.Close(ctx) })
	inst, err := mod.Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inst.LoadBundle(ctx, bytes.Clone(bundleData)); err != nil {
		t.Fatal(err)
	}
	return inst
}

// TestPipelineThroughModule checks the four stages end to end through
// recommender.wasm: consumption, impressions, region licensing and fresh
// releases.
func TestPipelineThroughModule(t *testing.T) {
	data, modelDir, _ := pipelineOnce(t)
	ds := mustDataset(t, data)
	m := mustModel(t, modelDir)
	// A new item released after the training data, in the catalog of a
	// bundle built two days after training.
	trained := m.Manifest.TrainedAt
	fresh := dataset.Item{ID: "fresh-1", Title: ds.Items[0].Title, Categories: ds.Items[0].Categories,
		Released: trained + 86400, Available: true}
	catalog := *ds
	catalog.Items = append(append([]dataset.Item(nil), ds.Items...), fresh)
	b, err := builder.Build(m, &catalog, builder.Options{Created: trained + 2*86400})
	if err != nil {
		t.Fatal(err)
	}
	bundleData, err := bundle.Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	inst := moduleInstance(t, bundleData)
	ctx := context.Background()
	now := trained + 2*86400
	user := ds.Users[3]
	base := func() *api.Request {
		r := eval.Request(nil, user, 10)
		r.Context.Time = now
		for _, in := range ds.Interactions {
			if in.User == user.ID {
				r.History = append(r.History, api.Event{Item: in.Item})
			}
		}
		return r
	}
	first, err := inst.Recommend(ctx, base())
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Items) != 10 {
		t.Fatalf("%d items, want 10", len(first.Items))
	}

	t.Run("consumed items leave", func(t *testing.T) {
		f, err := bloom.New(100, 0.01)
		if err != nil {
			t.Fatal(err)
		}
		gone := first.Items[0].ID
		f.Add(gone)
		req := base()
		req.Consumed, _ = f.MarshalBinary()
		resp, err := inst.Recommend(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range resp.Items {
			if it.ID == gone {
				t.Errorf("the consumed item %s came back", gone)
			}
		}
		if len(resp.Items) != 10 {
			t.Errorf("%d items after consumption, want 10 (back-fill)", len(resp.Items))
		}
	})
	t.Run("impressions without a take sink", func(t *testing.T) {
		// Demotion lowers relevance by Demote·ln(1+count) standard
		// deviations: an item in the middle of the list, among close
		// neighbours, moves down; a leader by more than that (a fresh item
		// far above the rest) may keep its place, so the test takes the
		// fourth.
		const at = 3
		shown := first.Items[at].ID
		req := base()
		req.Impressions = []api.Impression{{Item: shown, Count: 2, Last: now}}
		resp, err := inst.Recommend(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		for i, it := range resp.Items {
			if it.ID == shown && i <= at {
				t.Errorf("the shown-but-not-taken %s is at %d, was at %d", shown, i, at)
			}
		}
	})
	t.Run("licensing holds", func(t *testing.T) {
		regionsOf := map[string][]string{}
		for _, it := range catalog.Items {
			if len(it.Regions) > 0 {
				regionsOf[it.ID] = it.Regions
			}
		}
		if len(regionsOf) == 0 {
			t.Fatal("the synthetic catalog has no region-licensed item")
		}
		rng := rand.New(rand.NewPCG(4, 4))
		for trial := 0; trial < 40; trial++ {
			u := ds.Users[rng.IntN(len(ds.Users))]
			req := eval.Request(nil, u, 50)
			req.Context.Region = []string{u.Region, "", "nowhere"}[trial%3]
			req.Context.Time = now
			resp, err := inst.Recommend(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range resp.Items {
				if regs, ok := regionsOf[it.ID]; ok && !slices.Contains(regs, req.Context.Region) {
					t.Fatalf("item %s licensed in %v reached a user in %q", it.ID, regs, req.Context.Region)
				}
			}
		}
	})
	t.Run("fresh releases surface", func(t *testing.T) {
		req := base()
		req.K = 50
		// Every source but fresh off, named from the list of sources: the
		// test once named them, and the slim source, added later, competed.
		req.Sources = api.Weights{}
		for _, s := range api.SourceNames {
			if s != "fresh" {
				req.Sources[s] = 0
			}
		}
		resp, err := inst.Recommend(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(resp.Items, func(it api.Item) bool { return it.ID == fresh.ID })
		if i < 0 || resp.Items[i].Source != "fresh" {
			t.Errorf("the new release %s is not among the %d items through the fresh source: %+v", fresh.ID, len(resp.Items), resp.Items)
		}
	})
}
