package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/bundle/bundletest"
	"github.com/edgerec/edgerec/tools/builder"
)

// TestBuildCompact: `bundle build --compact` writes a compact bundle that
// says so, reports the recall it kept, and answers the same in the module
// and natively.
func TestBuildCompact(t *testing.T) {
	data, modelDir, _ := pipelineOnce(t)
	path := filepath.Join(t.TempDir(), "compact.bundle")
	code, out, errOut := edgerec(t, "bundle", "build", "--model", modelDir, "--data", data, "--out", path, "--compact", "--compact-bytes", "16")
	require.Equal(t, 0, code, "%s%s", out, errOut)
	assert.Contains(t, errOut, "served by compact codes of 16 bytes")
	// 300 items: the codebooks outweigh the codes, and the build says so.
	assert.Regexp(t, `note: this compact bundle \(\d+ bytes\) is larger than a full one would be \(about \d+ bytes\): below about \d+ items`, errOut)
	var in inspection
	require.NoError(t, json.Unmarshal([]byte(mustRun(t, "bundle", "inspect", path, "--json")), &in))
	assert.Equal(t, "ivfpq", in.Quantization)
	require.NotNil(t, in.Index)
	assert.Equal(t, "ivfpq", in.Index.Kind)
	assert.Equal(t, 16, in.Index.CodeBytes)
	var tags []string
	for _, s := range in.Sections {
		tags = append(tags, s.Tag)
	}
	assert.Contains(t, tags, "IVPQ")
	assert.NotContains(t, tags, "EMBD")
	assert.Contains(t, tags, "HIPQ", "the history rows coded by default")
	assert.NotContains(t, tags, "HIST")
	assert.Contains(t, mustRun(t, "bundle", "inspect", path), "compact: 16-byte codes")
	assert.Nil(t, in.Index.Recall, "a compact bundle records no recall")

	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	b, err := bundle.Decode(raw)
	require.NoError(t, err)
	hist := "--history=" + b.Items.IDs.At(0) + "," + b.Items.IDs.At(1)
	wasm := mustRun(t, "recommend", "--bundle", path, hist, "--k", "10", "--json", "--wasm", wasmPath)
	native := mustRun(t, "recommend", "--bundle", path, hist, "--k", "10", "--json", "--native")
	assert.JSONEq(t, native, wasm, "the module and native code disagree on a compact bundle")
	assert.Equal(t, 10, strings.Count(wasm, `"id"`), wasm)

	code, _, errOut = edgerec(t, "bundle", "build", "--model", modelDir, "--data", data, "--out", path, "--compact", "--compact-bytes", "0")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "--compact-bytes")
}

// TestBenchCompact: `bench --compact` measures a compact bundle: codes in
// place of EMBD, the module agreeing with native code, recall near the
// target (with a popularity prior, which the compact index adds as it
// scans), and refuses --exact beside it.
func TestBenchCompact(t *testing.T) {
	out := mustRun(t, "bench", "--items", "4000", "--compact", "--pop-prior", "0.05", "--queries", "30", "--adversarial", "1", "--json", "--wasm", wasmPath)
	var r benchReport
	require.NoError(t, json.Unmarshal([]byte(out), &r), out)
	assert.Equal(t, "ivfpq", r.Index)
	assert.Equal(t, 32, r.CodeBytes)
	assert.Zero(t, r.Mismatches, "responses that differ between the module and native code")
	assert.GreaterOrEqual(t, r.RecallAt100, 0.85)
	var tags []string
	for _, s := range r.SectionBytes {
		tags = append(tags, s.Tag)
	}
	assert.Contains(t, tags, "IVPQ")
	assert.NotContains(t, tags, "EMBD")
	code, _, errOut := edgerec(t, "bench", "--items", "4000", "--compact", "--exact")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "exclude each other")
}

// TestBuildCodeBytesChecked: code widths that do not divide the model's
// widths are usage errors naming the flag and the valid values, given
// before the data set loads and the catalog is embedded.
func TestBuildCodeBytesChecked(t *testing.T) {
	data, modelDir, _ := pipelineOnce(t)
	m := mustModel(t, modelDir)
	dim, hdim := m.Item.Dim(), m.Query.HistoryDim
	out := filepath.Join(t.TempDir(), "x.bundle")
	build := []string{"bundle", "build", "--model", modelDir, "--data", data, "--out", out}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--compact", "--compact-bytes", strconv.Itoa(dim + 1)},
			fmt.Sprintf("--compact-bytes %d: want a divisor of the model's embedding dimension %d: 1, 2", dim+1, dim)},
		{[]string{"--history-bytes", strconv.Itoa(hdim + 1)},
			fmt.Sprintf("--history-bytes %d: want -1 (int8 rows), 0 (the default) or a divisor of the model's history dimension %d: 1, 2", hdim+1, hdim)},
		{[]string{"--compact", "--compact-history-bytes", strconv.Itoa(hdim + 1)}, "--history-bytes"},
		{[]string{"--history-bytes", "-3"}, "--history-bytes -3: want -1 (int8 rows), 0 (the default) or a divisor"},
	} {
		code, _, errOut := edgerec(t, append(build, tc.args...)...)
		assert.Equal(t, 2, code, tc.args)
		assert.Contains(t, errOut, tc.want, tc.args)
		assert.NotContains(t, errOut, "loaded", "%v: the data set loaded before the flag was checked", tc.args)
		assert.NoFileExists(t, out)
	}
}

// TestCompactSizeNote: the note's estimate of the full bundle is the size
// of the full bundle of the same catalog, and it appears only when the
// compact one is larger.
func TestCompactSizeNote(t *testing.T) {
	b := bundletest.Random(300, 16, 1)
	b.Pipeline = nil
	full, err := bundle.Encode(b)
	require.NoError(t, err)
	_, err = builder.Compact(b, builder.CompactOptions{M: 4, Seed: 1})
	require.NoError(t, err)
	require.NotNil(t, b.HistoryCodes)
	data, err := bundle.Encode(b)
	require.NoError(t, err)
	require.Greater(t, len(data), len(full), "the test wants a compact bundle larger than the full one")

	note := compactSizeNote(b, data, true)
	m := regexp.MustCompile(`about (\d+) bytes\): below about (\d+) items`).FindStringSubmatch(note)
	require.NotNil(t, m, note)
	est, _ := strconv.Atoi(m[1])
	assert.InDelta(t, len(full), est, 0.02*float64(len(full)), "the estimated full size (%s)", note)
	pays, _ := strconv.Atoi(m[2])
	assert.Greater(t, pays, 300)
	assert.NotContains(t, note, "\n", "one line")

	// The same bundle, as if the catalog were larger than where compact
	// pays: no note.
	b.Manifest.Items = pays + 1
	assert.Empty(t, compactSizeNote(b, data, true))
}

// TestInspectCompactRecall: inspect reports a compact bundle's recall as
// unknown (the format records none), an IVF bundle's as recorded, and the
// manifest under snake_case keys.
func TestInspectCompactRecall(t *testing.T) {
	const goldens = "../../core/bundle/testdata/"
	js := mustRun(t, "bundle", "inspect", "--json", goldens+"v3.0-compact.bundle")
	var raw map[string]any
	require.NoError(t, json.Unmarshal([]byte(js), &raw))
	index := raw["index"].(map[string]any)
	assert.Equal(t, "ivfpq", index["kind"])
	assert.NotContains(t, index, "recall_at_100", "a compact bundle records no recall: not 0")
	manifest := raw["manifest"].(map[string]any)
	for _, k := range []string{"format", "version", "created", "items", "dim", "history_dim", "quantization", "model", "metric", "builder"} {
		assert.Contains(t, manifest, k)
	}
	assert.Contains(t, manifest["model"], "trained_at")
	assert.NotContains(t, js, "TrainedAt")
	assert.NotContains(t, js, "PopPrior")
	text := mustRun(t, "bundle", "inspect", goldens+"v3.0-compact.bundle")
	assert.Contains(t, text, "recall not recorded in compact bundles: bundle build prints it, and --min-recall checks it, at build time")

	var in inspection
	require.NoError(t, json.Unmarshal([]byte(mustRun(t, "bundle", "inspect", "--json", goldens+"v3.0-ivf.bundle")), &in))
	require.NotNil(t, in.Index)
	require.NotNil(t, in.Index.Recall, "the IVF golden records its recall")
	assert.Greater(t, *in.Index.Recall, float32(0))
	assert.Regexp(t, `IVF, \d+ lists, nprobe \d+ \(recall@100 0\.\d+ against the exact scan\)`, mustRun(t, "bundle", "inspect", goldens+"v3.0-ivf.bundle"))
}
