package main

import (
	"encoding/json"
	"io"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/pipeline"
)

// TestBench runs `edgerec bench` on a small catalog through the module and
// checks every figure it reports: present, in range, and the module
// agreeing with native code.
func TestBench(t *testing.T) {
	for _, exact := range []bool{false, true} {
		args := []string{"bench", "--items", "4000", "--dim", "64", "--queries", "30", "--adversarial", "3", "--json", "--wasm", wasmPath}
		if exact {
			args = append(args, "--exact", "--soak", "600")
		} else {
			// The IVF run with a popularity prior: the module and native
			// code must rank by score + bias alike.
			args = append(args, "--pop-prior", "0.05")
		}
		out := mustRun(t, args...)
		var r benchReport
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		for name, v := range map[string]float64{
			"bytes_per_item": r.BytesPerItem, "load_ms": r.LoadMS, "wasm.retrieve_p50_ms": r.Wasm.RetrieveP50,
			"wasm.retrieve_p99_ms": r.Wasm.RetrieveP99, "wasm.recommend_p50_ms": r.Wasm.RecommendP50,
			"wasm.recommend_p99_ms": r.Wasm.RecommendP99, "native.retrieve_p50_ms": r.Native.RetrieveP50,
			"native.recommend_p99_ms": r.Native.RecommendP99,
		} {
			if !(v > 0) || math.IsInf(v, 0) {
				t.Errorf("exact=%v: %s = %v", exact, name, v)
			}
		}
		if r.Items != 4000 || r.Dim != 64 || r.BundleBytes < 4000*68 || r.ModuleBytes == 0 || r.ModuleBytesZstd >= r.ModuleBytes ||
			r.InstanceBytes == 0 || r.Wasm.RetrieveP99 < r.Wasm.RetrieveP50 || r.Wasm.RecommendP50 < r.Wasm.RetrieveP50 {
			t.Errorf("exact=%v: implausible report %+v", exact, r)
		}
		if r.Mismatches != 0 {
			t.Errorf("exact=%v: %d responses differ between the module and native code", exact, r.Mismatches)
		}
		// The int8 scan is about the ceiling of an index over int8 codes
		// (an index may luckily keep an item int8 misranks).
		if r.RecallExactInt8 < 0.95 || r.RecallAt100 > r.RecallExactInt8+0.01 {
			t.Errorf("exact=%v: recall %.4f, exact int8 %.4f", exact, r.RecallAt100, r.RecallExactInt8)
		}
		// The adversarial row: each request answered within the work
		// budget, the saturated filters flagged.
		if len(r.Adversarial) != len(adversarialRequests(4000, 1)) || !(r.AdversarialRatio > 0) {
			t.Errorf("exact=%v: adversarial row %+v, worst ratio %v", exact, r.Adversarial, r.AdversarialRatio)
		}
		for _, a := range r.Adversarial {
			if a.Examined <= 0 || a.Examined > pipeline.MaxExamined || !(a.P50 > 0) || a.P99 < a.P50 || a.Bytes == 0 {
				t.Errorf("exact=%v: adversarial %+v", exact, a)
			}
			if strings.HasPrefix(a.Name, "all-ones") && !slices.Contains(a.Warnings, api.WarnConsumedSaturated) {
				t.Errorf("exact=%v: %s: warnings %v", exact, a.Name, a.Warnings)
			}
		}
		// Memory that does not grow: 600 more requests, twenty times the
		// run, leave the instance within a few MiB of where the run did
		// (a leak of 10 KB a request would add 6 MiB).
		if exact && (r.Soak != 600 || r.InstanceBytesSoak < r.InstanceBytes || r.InstanceBytesSoak > r.InstanceBytesAfter+4<<20) {
			t.Errorf("--soak 600: %d requests, memory %d after load, %d after the run, %d after the soak", r.Soak, r.InstanceBytes, r.InstanceBytesAfter, r.InstanceBytesSoak)
		}
		if !exact && (r.Soak != 0 || r.InstanceBytesSoak != 0) {
			t.Errorf("no --soak: soak %d, memory %d", r.Soak, r.InstanceBytesSoak)
		}
		if exact && (r.Index != "exact" || r.RecallAt100 != r.RecallExactInt8) {
			t.Errorf("--exact: index %q, recall %.4f vs exact int8 %.4f", r.Index, r.RecallAt100, r.RecallExactInt8)
		}
		if !exact && (r.Index != "ivf" || r.Lists == 0 || r.NProbe == 0 || r.RecallAt100 < 0.9) {
			t.Errorf("ivf: index %q, %d lists, nprobe %d, recall %.4f", r.Index, r.Lists, r.NProbe, r.RecallAt100)
		}
	}
	// The text form names every figure.
	out := mustRun(t, "bench", "--items", "500", "--queries", "5", "--adversarial", "1", "--wasm", wasmPath)
	for _, want := range []string{"bundle_bytes", "module_bytes", "load_ms", "recall_at_100", "wasm", "native", "retrieve p50", "adversarial", "everything at once"} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
}

func TestBenchUsage(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "--items", "10"},
		{"bench", "--dim", "0"},
		{"bench", "--history-dim", "65", "--dim", "64"},
		{"bench", "--queries", "0"},
		{"bench", "--adversarial", "-1"},
		{"bench", "extra"},
	} {
		if code, _, _ := edgerec(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if code, _, errOut := edgerec(t, "bench", "--items", "500", "--wasm", "/nonexistent/recommender.wasm"); code != 1 || !strings.Contains(errOut, "make build") {
		t.Errorf("missing module: exit %d, %q", code, errOut)
	}
}

// TestBenchChecksBeforeWork: every flag is checked before the module is
// read: a bad --k with a missing module is bad usage (exit 2), not the
// missing module.
func TestBenchChecksBeforeWork(t *testing.T) {
	_, err := parseBench([]string{"--k", "0", "--wasm", "/nonexistent/recommender.wasm"}, io.Discard)
	var ue *usageError
	require.ErrorAs(t, err, &ue)
	assert.Contains(t, err.Error(), "--k 0")
	o, err := parseBench([]string{"--items", "500", "--exact", "--adversarial", "0"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, 500, o.items)
	assert.True(t, o.exact)
	assert.Equal(t, 0, o.advReps)
}

// TestBenchReportPrint: the text form shows the report's figures where
// the reader looks for them.
func TestBenchReportPrint(t *testing.T) {
	r := &benchReport{Items: 1000, Dim: 64, HistoryDim: 32, Queries: 50, K: 20, Index: "ivf", Lists: 63, NProbe: 7, BuildIndexMS: 1500,
		BundleBytes: 90_000, BytesPerItem: 90, SectionBytes: []kv{{Tag: "EMBD", Bytes: 64_000, Zstd: false}, {Tag: "PIPE", Bytes: 5_000, Zstd: true}},
		ModuleBytes: 4 << 20, ModuleBytesZstd: 1 << 20, ZstdTool: "zstd -19", RecallAt100: 0.9512, RecallExactInt8: 0.9876,
		Wasm: timings{1, 2, 3, 4}, Native: timings{0.5, 1, 1.5, 2}, RetrieveRatio: 2, Mismatches: 1,
		Stages: []stageTimes{{Name: "retrieve", WasmP50: 1, NativeP50: 0.5, WasmP99: 2, NativeP99: 1}},
		Adversarial: []adversarialTimes{{Name: "everything at once", Bytes: 9000, P50: 5, P99: 8, Examined: 4096, Items: 500,
			Warnings: []string{"a", "b"}, MaxBudget: pipeline.MaxExamined}}, AdversarialRatio: 2}
	var b strings.Builder
	r.print(&b)
	out := b.String()
	for _, want := range []string{
		"index              IVF, 63 lists, nprobe 7 (built in 1.5 s)",
		"bundle_bytes       90000 (90.0 bytes per item: EMBD 64.0, PIPE 5.0 zstd)",
		"module_bytes       4194304 (zstd -19: 1048576)",
		"recall_at_100      0.9512 against exact float32 (the exact int8 scan: 0.9876)",
		"wasm/native        retrieve p50 2.00×; responses that differ: 1",
		"  retrieve           1.000   2.000        0.500   1.000",
		"a,b",
		"adversarial worst  2.00× the normal recommend p99",
	} {
		assert.Contains(t, out, want)
	}
	r.Adversarial, r.Index = nil, "exact"
	b.Reset()
	r.print(&b)
	assert.Contains(t, b.String(), "index              exact scan")
	assert.NotContains(t, b.String(), "adversarial", "no adversarial rows without adversarial requests")
}

// TestBenchUsageValues: option values the work would refuse, or silently
// replace, are usage errors naming the flag and its valid values, before
// the catalog is built.
func TestBenchUsageValues(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--pop-prior", "1.5"}, "--pop-prior 1.5 out of range [0, 1]"},
		{[]string{"--pop-prior", "-0.1"}, "--pop-prior -0.1 out of range [0, 1]"},
		{[]string{"--pop-prior", "NaN"}, "--pop-prior NaN out of range [0, 1]"},
		{[]string{"--history-bytes", "5"}, "--history-bytes 5: want -1 (int8 rows), 0 (the default) or a divisor of --history-dim 32: 1, 2, 4, 8, 16, 32"},
		{[]string{"--history-bytes", "-2"}, "--history-bytes -2: want -1"},
		{[]string{"--compact", "--history-bytes", "64"}, "a divisor of --history-dim 32"},
		{[]string{"--lists", "-1"}, "--lists -1 out of range [0, 100000]"},
		{[]string{"--lists", "100001"}, "--lists 100001 out of range [0, 100000]"},
		{[]string{"--compact", "--compact-bytes", "5"}, "--compact-bytes 5: want a divisor of --dim 64: 1, 2, 4, 8, 16, 32, 64"},
		{[]string{"--soak", "-1"}, "--soak -1 out of range [0, 10000000]"},
		{[]string{"--keep", "/nonexistent/dir/k.bundle"}, "--keep /nonexistent/dir/k.bundle: directory /nonexistent/dir does not exist"},
	} {
		// A module that does not exist: the check must come before it is read.
		args := append([]string{"bench", "--wasm", "/nonexistent.wasm"}, tc.args...)
		code, out, errOut := edgerec(t, args...)
		assert.Equal(t, 2, code, tc.args)
		assert.Empty(t, out, tc.args)
		assert.Contains(t, errOut, tc.want, tc.args)
	}
	for _, ok := range [][]string{{"--history-bytes", "-1"}, {"--history-bytes", "16"}, {"--lists", "100000"}, {"--pop-prior", "1"}} {
		o, err := parseBench(ok, io.Discard)
		assert.NoError(t, err, ok)
		assert.NoError(t, o.check(), ok)
	}
}
