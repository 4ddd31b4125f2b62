package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/bundle"
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
