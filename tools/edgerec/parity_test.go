package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bloom"
)

// TestParityCommand: edgerec parity writes fixtures whose answers are what
// the module and core/bloom give for the recorded inputs, and refuses bad
// usage.
func TestParityCommand(t *testing.T) {
	_, _, bundlePath := pipelineOnce(t)
	out := filepath.Join(t.TempDir(), "fx")
	stdout := mustRun(t, "parity", "--bundle", bundlePath, "--wasm", wasmPath, "--out", out, "--bench", "20")
	if !strings.Contains(stdout, "wazero: 20 recommend calls") || !strings.Contains(stdout, "wrote ") {
		t.Fatalf("output: %s", stdout)
	}
	raw, err := os.ReadFile(filepath.Join(out, "fixtures.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fx parityFixtures
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(out, fx.Bundle)); err != nil || len(b) == 0 {
		t.Fatalf("bundle copy: %v", err)
	}
	in := moduleInstance(t, mustRead(t, bundlePath))
	var errors int
	for _, c := range fx.Recommend {
		got, err := in.RecommendBytes(t.Context(), c.Input)
		if c.Error != "" {
			errors++
			if err == nil || !strings.Contains(err.Error(), c.Error) {
				t.Errorf("%s: err %v, want %q", c.Name, err, c.Error)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		want, _ := api.DecodeResponse(c.Output)
		gotR, _ := api.DecodeResponse(got)
		if len(want.Items) == 0 || len(gotR.Items) != len(want.Items) || gotR.Items[0] != want.Items[0] {
			t.Errorf("%s: replay differs or is empty", c.Name)
		}
	}
	if errors < 3 || len(fx.Recommend)-errors < 10 {
		t.Errorf("%d recommend cases, %d of them errors", len(fx.Recommend), errors)
	}
	for _, c := range fx.Bloom {
		got, err := bloom.ApplyBytes(c.Input)
		if (err != nil) != (c.Error != "") || string(got) != string(c.Output) {
			t.Errorf("bloom %s: got %x, %v; fixture %x, %q", c.Name, got, err, c.Output, c.Error)
		}
	}
	f, err := bloom.Decode(fx.Consumed.Filter)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range fx.Consumed.Items {
		if !f.MayContain(id) {
			t.Errorf("consumed filter lacks %s", id)
		}
	}
	if fx.Wazero == nil || fx.Wazero.Calls != 20 || !(fx.Wazero.P50 > 0) {
		t.Errorf("timing %+v", fx.Wazero)
	}

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"parity", "--out", out}, 2, "--bundle is required"},
		{[]string{"parity", "--bundle", bundlePath}, 2, "--out is required"},
		{[]string{"parity", "--bundle", bundlePath, "--out", out, "--bench", "-1"}, 2, "negative"},
		{[]string{"parity", "--bundle", "/nonexistent", "--out", out}, 1, "no such file"},
	} {
		code, _, stderr := edgerec(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %q; want %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParityReportPrint: the timing line appears only when --bench timed
// calls, and the last line names the file and the counts.
func TestParityReportPrint(t *testing.T) {
	r := &parityReport{Path: "out/fixtures.json", Version: "v7", Recommend: 18, Bloom: 7, Catalog: 4}
	var b strings.Builder
	r.print(&b)
	assert.Equal(t, "wrote out/fixtures.json: 18 recommend, 7 bloom and 4 catalog cases for bundle v7\n", b.String())
	r.Wazero = &parityTimingMs{Calls: 20, P50: 0.25, P99: 0.5, Mean: 0.3}
	b.Reset()
	r.print(&b)
	assert.True(t, strings.HasPrefix(b.String(), "wazero: 20 recommend calls"), b.String())
	assert.Contains(t, b.String(), "p50 0.250 ms, p99 0.500 ms, mean 0.300 ms\nwrote ")
}
