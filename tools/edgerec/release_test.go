package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/tools/builder"
)

// TestReproducibleBuild builds the same bundle twice, once with one worker
// and once with GOMAXPROCS, and wants the same bytes; SOURCE_DATE_EPOCH
// changes the creation time and --created wins over it.
func TestReproducibleBuild(t *testing.T) {
	data, modelDir, _ := pipelineOnce(t)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.bundle"), filepath.Join(dir, "b.bundle")
	mustRun(t, "bundle", "build", "--model", modelDir, "--data", data, "--out", a, "--version", "r1")
	mustRun(t, "bundle", "build", "--model", modelDir, "--data", data, "--out", b, "--version", "r1")
	ab, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if !bytes.Equal(ab, bb) {
		t.Fatal("two builds with the same inputs and flags differ")
	}

	// The builder with one worker and with many, and an index forced on
	// this small catalog (its k-means runs in parallel too).
	m := mustModel(t, modelDir)
	ds := mustDataset(t, data)
	var enc [2][]byte
	for i, w := range []int{1, 4} {
		bn, err := builder.Build(m, ds, builder.Options{Version: "r1", Workers: w,
			Index: builder.IndexOptions{MinItems: 100, Lists: 8, Workers: w}})
		if err != nil {
			t.Fatal(err)
		}
		if bn.Index == nil {
			t.Fatal("no index built")
		}
		if enc[i], err = bundle.Encode(bn); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(enc[0], enc[1]) {
		t.Fatal("the bundle depends on the number of workers")
	}

	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	mustRun(t, "bundle", "build", "--model", modelDir, "--data", data, "--out", b, "--version", "r1")
	var in inspection
	if err := json.Unmarshal([]byte(mustRun(t, "bundle", "inspect", b, "--json")), &in); err != nil {
		t.Fatal(err)
	}
	if in.Manifest.Created != 1700000000 {
		t.Errorf("created = %d with SOURCE_DATE_EPOCH=1700000000", in.Manifest.Created)
	}
	mustRun(t, "bundle", "build", "--model", modelDir, "--data", data, "--out", b, "--version", "r1", "--created", "1600000000")
	if err := json.Unmarshal([]byte(mustRun(t, "bundle", "inspect", b, "--json")), &in); err != nil {
		t.Fatal(err)
	}
	if in.Manifest.Created != 1600000000 {
		t.Errorf("created = %d with --created 1600000000 over SOURCE_DATE_EPOCH", in.Manifest.Created)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "yesterday")
	if code, _, errOut := edgerec(t, "bundle", "build", "--model", modelDir, "--data", data, "--out", b); code != 2 || !strings.Contains(errOut, "SOURCE_DATE_EPOCH") {
		t.Errorf("bad SOURCE_DATE_EPOCH: exit %d, %s", code, errOut)
	}
}

// TestBudgets: a build over --max-bytes or under --min-recall fails with
// exit 1, says why, and writes nothing; within budget it writes.
func TestBudgets(t *testing.T) {
	data, modelDir, bundlePath := pipelineOnce(t)
	st, err := os.Stat(bundlePath)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "x.bundle")
	build := func(extra ...string) (int, string) {
		code, _, errOut := edgerec(t, append([]string{"bundle", "build", "--model", modelDir, "--data", data, "--out", out}, extra...)...)
		return code, errOut
	}
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--max-bytes", "1000"}, "over --max-bytes 1000"},
		{[]string{"--min-recall", "1.01"}, "--min-recall in [0, 1]"},
		{[]string{"--min-recall", "1", "--recall-k", "50"}, "below --min-recall 1"},
	} {
		code, errOut := build(tc.flags...)
		if code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want failure mentioning %q", tc.flags, code, errOut, tc.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("%v: the bundle was written despite the budget", tc.flags)
		}
	}
	// The recall measured must be a real fraction, printed, and within budget
	// at a bar it meets.
	code, errOut := build("--max-bytes", ""+itoa(st.Size()), "--min-recall", "0.5", "--recall-k", "20")
	if code != 0 || !strings.Contains(errOut, "recall@20 0.") {
		t.Fatalf("within budget: exit %d\n%s", code, errOut)
	}
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestRegionalAndDiff builds a regional bundle and diffs it against the
// full one: the removed items are exactly those not licensed in the
// region, embeddings of shared items do not drift, and the inspect JSON
// has the release fields.
func TestRegionalAndDiff(t *testing.T) {
	data, modelDir, bundlePath := pipelineOnce(t)
	ds := mustDataset(t, data)
	region := ""
	for _, it := range ds.Items {
		if len(it.Regions) > 0 {
			region = it.Regions[0]
			break
		}
	}
	if region == "" {
		t.Fatal("no regional licensing in the synthetic data")
	}
	notThere := 0
	for _, it := range ds.Items {
		ok := len(it.Regions) == 0
		for _, r := range it.Regions {
			ok = ok || r == region
		}
		if !ok {
			notThere++
		}
	}
	reg := filepath.Join(t.TempDir(), "r.bundle")
	mustRun(t, "bundle", "build", "--model", modelDir, "--data", data, "--out", reg, "--region", region)
	if code, _, errOut := edgerec(t, "bundle", "build", "--model", modelDir, "--data", data, "--out", reg+"x", "--region", "atlantis"); code != 1 || !strings.Contains(errOut, "atlantis") {
		t.Errorf("unknown region: exit %d %s", code, errOut)
	}

	var d diffReport
	if err := json.Unmarshal([]byte(mustRun(t, "bundle", "diff", bundlePath, reg, "--json", "--queries", "50")), &d); err != nil {
		t.Fatal(err)
	}
	if d.Items.Removed != notThere || d.Items.Added != 0 || d.Items.Shared != len(ds.Items)-notThere {
		t.Errorf("diff items %+v, want %d removed (not licensed in %s), 0 added", d.Items, notThere, region)
	}
	if d.Drift == nil || d.Drift.MeanCosine < 0.9999 {
		t.Errorf("drift %+v: the same model should not move shared items", d.Drift)
	}
	changed := map[string]bool{}
	for _, c := range d.Metadata {
		changed[c.Field] = true
	}
	if !changed["items"] || !changed["version"] || changed["model.name"] {
		t.Errorf("metadata changes %+v", d.Metadata)
	}
	if d.Overlap == nil || d.Overlap.Queries != 50 || d.Overlap.Mean <= 0 || d.Overlap.Mean > 1 {
		t.Errorf("overlap %+v", d.Overlap)
	}
	// A bundle against itself: identical, full overlap.
	if err := json.Unmarshal([]byte(mustRun(t, "bundle", "diff", bundlePath, bundlePath, "--json", "--queries", "20")), &d); err != nil {
		t.Fatal(err)
	}
	if !d.Identical || d.Overlap.Mean != 1 || d.Overlap.Identical != 20 || len(d.Metadata) != 0 {
		t.Errorf("self diff %+v", d)
	}
	if out := mustRun(t, "bundle", "diff", bundlePath, reg); !strings.Contains(out, "removed") || !strings.Contains(out, "mean cosine") {
		t.Errorf("text diff:\n%s", out)
	}
	for _, args := range [][]string{{"bundle", "diff", bundlePath}, {"bundle", "diff", bundlePath, reg, "--k", "0"}} {
		if code, _, _ := edgerec(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if code, _, _ := edgerec(t, "bundle", "diff", bundlePath, filepath.Join(t.TempDir(), "missing")); code != 1 {
		t.Errorf("missing file: exit %d, want 1", code)
	}

	var in inspection
	if err := json.Unmarshal([]byte(mustRun(t, "bundle", "inspect", reg, "--json")), &in); err != nil {
		t.Fatal(err)
	}
	if in.Items != len(ds.Items)-notThere || in.Dims.Embedding == 0 || in.Quantization != "int8" || in.Model.QueryTowerID == "" ||
		in.Signature.Present || in.Signature.Status != "unsigned" {
		t.Errorf("inspect: %+v", in)
	}
}

// TestBuildCreatedRange: --created and SOURCE_DATE_EPOCH are Unix seconds
// from 1 to year 9999; a negative time or one in milliseconds is a usage
// error that says so, before the model loads.
func TestBuildCreatedRange(t *testing.T) {
	build := []string{"bundle", "build", "--model", filepath.Join(t.TempDir(), "none"), "--data", t.TempDir(), "--out", filepath.Join(t.TempDir(), "x.bundle")}
	for _, v := range []string{"-5", "1782776404000", "253402300800"} {
		code, _, errOut := edgerec(t, append(build, "--created", v)...)
		assert.Equal(t, 2, code, v)
		assert.Contains(t, errOut, "--created "+v+" is out of range: want a time in Unix seconds", v)
	}
	_, _, errOut := edgerec(t, append(build, "--created", "1782776404000")...)
	assert.Contains(t, errOut, "in milliseconds it would be 2026-06-29T23:40:04Z, which is --created 1782776404")
	for _, v := range []string{"1", "1782776404", "253402300799"} {
		code, _, errOut := edgerec(t, append(build, "--created", v)...)
		assert.Equal(t, 1, code, v) // past the check: no model there
		assert.Contains(t, errOut, "not a model directory", v)
	}
	for _, v := range []string{"-5", "0", "1782776404000"} {
		t.Setenv("SOURCE_DATE_EPOCH", v)
		code, _, errOut := edgerec(t, build...)
		assert.Equal(t, 2, code, v)
		assert.Contains(t, errOut, "SOURCE_DATE_EPOCH="+v, v)
		assert.Contains(t, errOut, "Unix seconds", v)
	}
}

// TestBuildOutChecked: an --out that cannot be written is a usage error
// before the model loads, not a failure after the catalog is embedded.
func TestBuildOutChecked(t *testing.T) {
	dir := t.TempDir()
	build := []string{"bundle", "build", "--model", filepath.Join(dir, "none"), "--data", dir, "--out"}
	code, _, errOut := edgerec(t, append(build, filepath.Join(dir, "nodir", "x.bundle"))...)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "directory "+filepath.Join(dir, "nodir")+" does not exist")
	code, _, errOut = edgerec(t, append(build, dir)...)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "--out "+dir+" is a directory")
}

// TestBuildWarnings: what the builder notices and does not refuse is
// printed as warning lines on stderr.
func TestBuildWarnings(t *testing.T) {
	data, modelDir, _ := pipelineOnce(t)
	out := filepath.Join(t.TempDir(), "early.bundle")
	// A creation time before the data set's interactions: the lists
	// count none of them.
	code, _, errOut := edgerec(t, "bundle", "build", "--model", modelDir, "--data", data, "--out", out, "--created", "1000000000", "--no-sources")
	require.Equal(t, 0, code, errOut)
	assert.Regexp(t, `(?m)^warning: \d+ of the data set's \d+ interactions are after the creation time 2001-09-09T01:46:40Z`, errOut)
}
