package main

import (
	"fmt"
	"io"
	"strings"
)

// benchReport is what `edgerec bench` prints (--json: these keys).
type benchReport struct {
	Items           int     `json:"items"`
	Dim             int     `json:"dim"`
	HistoryDim      int     `json:"history_dim"`
	Queries         int     `json:"queries"`
	K               int     `json:"k"`     // items per timed recommend request
	Index           string  `json:"index"` // "ivf", "ivfpq" (compact) or "exact"
	CodeBytes       int     `json:"code_bytes,omitempty"`
	Lists           int     `json:"lists,omitempty"`
	NProbe          int     `json:"nprobe,omitempty"`
	BuildIndexMS    float64 `json:"build_index_ms,omitempty"`
	BundleBytes     int     `json:"bundle_bytes"`
	BytesPerItem    float64 `json:"bytes_per_item"`
	SectionBytes    []kv    `json:"section_bytes"`
	ModuleBytes     int     `json:"module_bytes"`
	ModuleBytesZstd int     `json:"module_bytes_zstd"`
	ZstdTool        string  `json:"module_zstd_tool"`
	LoadMS          float64 `json:"load_ms"`
	LoadNativeMS    float64 `json:"load_native_ms"`
	// The edge node's path: the bundle checked once natively (host.Verify),
	// then loaded into an instance that checks only bounds
	// (Instance.LoadVerified); ColdStartMS is from a fresh compilation
	// (cache warm) through that load to the first answer.
	VerifyMS           float64 `json:"verify_native_ms"`
	LoadVerifiedMS     float64 `json:"load_verified_ms"`
	ColdStartMS        float64 `json:"cold_start_ms"`
	InstanceBytes      uint64  `json:"instance_memory_bytes"`
	InstanceBytesAfter uint64  `json:"instance_memory_after_run_bytes"`
	Soak               int     `json:"soak_requests,omitempty"`
	InstanceBytesSoak  uint64  `json:"instance_memory_after_soak_bytes,omitempty"`
	RecallAt100        float64 `json:"recall_at_100"`
	RecallExactInt8    float64 `json:"recall_at_100_exact_int8,omitempty"` // none in a compact bundle
	Mismatches         int     `json:"wasm_native_mismatches"`
	Wasm               timings `json:"wasm"`
	Native             timings `json:"native"`
	RetrieveRatio      float64 `json:"retrieve_p50_ratio"`
	// Stages are the p50 of every debug stage of the timed requests.
	Stages []stageTimes `json:"stages"`
	// Adversarial times the costliest requests the module accepts, in the
	// module; AdversarialRatio is the slowest one's p99 over the normal
	// recommend p99 (Wasm.RecommendP99).
	Adversarial      []adversarialTimes `json:"adversarial,omitempty"`
	AdversarialRatio float64            `json:"adversarial_worst_ratio,omitempty"`
}

// adversarialTimes is one adversarial request's cost in the module.
type adversarialTimes struct {
	Name      string   `json:"name"`
	Bytes     int      `json:"request_bytes"` // the msgpack request
	P50       float64  `json:"p50_ms"`
	P99       float64  `json:"p99_ms"`
	Examined  int      `json:"examined"` // rows examined (debug), against pipeline.MaxExamined
	Items     int      `json:"items"`
	Warnings  []string `json:"warnings,omitempty"`
	MaxBudget int      `json:"max_examined"`
}

// stageTimes is one pipeline stage's median and 99th percentile time in
// the module and natively.
type stageTimes struct {
	Name      string  `json:"name"`
	WasmP50   float64 `json:"wasm_p50_ms"`
	NativeP50 float64 `json:"native_p50_ms"`
	WasmP99   float64 `json:"wasm_p99_ms"`
	NativeP99 float64 `json:"native_p99_ms"`
}

// kv is one section's stored size.
type kv struct {
	Tag   string `json:"tag"`
	Bytes uint64 `json:"bytes"`
	Zstd  bool   `json:"zstd"`
}

// timings are percentiles over the queries, in milliseconds.
type timings struct {
	RetrieveP50  float64 `json:"retrieve_p50_ms"`
	RetrieveP99  float64 `json:"retrieve_p99_ms"`
	RecommendP50 float64 `json:"recommend_p50_ms"`
	RecommendP99 float64 `json:"recommend_p99_ms"`
}

// print writes the report as `edgerec bench` prints it.
func (r *benchReport) print(w io.Writer) {
	idx := "exact scan"
	switch r.Index {
	case "ivf":
		idx = fmt.Sprintf("IVF, %d lists, nprobe %d (built in %.1f s)", r.Lists, r.NProbe, r.BuildIndexMS/1000)
	case "ivfpq":
		idx = fmt.Sprintf("compact: %d-byte codes in %d lists, nprobe %d (built in %.1f s)", r.CodeBytes, r.Lists, r.NProbe, r.BuildIndexMS/1000)
	}
	var secs []string
	for _, s := range r.SectionBytes {
		z := ""
		if s.Zstd {
			z = " zstd"
		}
		secs = append(secs, fmt.Sprintf("%s %.1f%s", s.Tag, float64(s.Bytes)/float64(r.Items), z))
	}
	fmt.Fprintf(w, "items              %d × dim %d (history rows %d), %d queries of k = %d\n", r.Items, r.Dim, r.HistoryDim, r.Queries, r.K)
	fmt.Fprintf(w, "index              %s\n", idx)
	fmt.Fprintf(w, "bundle_bytes       %d (%.1f bytes per item: %s)\n", r.BundleBytes, r.BytesPerItem, strings.Join(secs, ", "))
	fmt.Fprintf(w, "module_bytes       %d (%s: %d)\n", r.ModuleBytes, r.ZstdTool, r.ModuleBytesZstd)
	fmt.Fprintf(w, "load_ms            %.1f in the module (%.1f natively); checked once natively %.1f, then %.1f in the module\n", r.LoadMS, r.LoadNativeMS, r.VerifyMS, r.LoadVerifiedMS)
	fmt.Fprintf(w, "cold_start_ms      %.1f (verify, compile from the cache, instantiate, load, first answer)\n", r.ColdStartMS)
	soak := ""
	if r.Soak > 0 {
		soak = fmt.Sprintf(", %.1f MiB after %d more requests", float64(r.InstanceBytesSoak)/(1<<20), r.Soak)
	}
	fmt.Fprintf(w, "instance_memory    %.1f MiB after load, %.1f MiB after the run%s\n", float64(r.InstanceBytes)/(1<<20), float64(r.InstanceBytesAfter)/(1<<20), soak)
	if r.Index == "ivfpq" {
		fmt.Fprintf(w, "recall_at_100      %.4f against exact float32\n", r.RecallAt100)
	} else {
		fmt.Fprintf(w, "recall_at_100      %.4f against exact float32 (the exact int8 scan: %.4f)\n", r.RecallAt100, r.RecallExactInt8)
	}
	fmt.Fprintf(w, "                   retrieve p50   p99      recommend p50   p99   (ms)\n")
	fmt.Fprintf(w, "wasm               %8.3f %8.3f      %8.3f %8.3f\n", r.Wasm.RetrieveP50, r.Wasm.RetrieveP99, r.Wasm.RecommendP50, r.Wasm.RecommendP99)
	fmt.Fprintf(w, "native             %8.3f %8.3f      %8.3f %8.3f\n", r.Native.RetrieveP50, r.Native.RetrieveP99, r.Native.RecommendP50, r.Native.RecommendP99)
	fmt.Fprintf(w, "wasm/native        retrieve p50 %.2f×; responses that differ: %d\n", r.RetrieveRatio, r.Mismatches)
	fmt.Fprintf(w, "stage (ms)         wasm p50   p99    native p50   p99\n")
	for _, st := range r.Stages {
		fmt.Fprintf(w, "  %-16s %7.3f %7.3f      %7.3f %7.3f\n", st.Name, st.WasmP50, st.WasmP99, st.NativeP50, st.NativeP99)
	}
	if len(r.Adversarial) == 0 {
		return
	}
	fmt.Fprintf(w, "adversarial (wasm)  recommend p50   p99 (ms)  examined  items  request bytes  warnings\n")
	for _, a := range r.Adversarial {
		fmt.Fprintf(w, "  %-32s %8.3f %8.3f  %8d  %5d  %13d  %s\n", a.Name, a.P50, a.P99, a.Examined, a.Items, a.Bytes, strings.Join(a.Warnings, ","))
	}
	fmt.Fprintf(w, "adversarial worst  %.2f× the normal recommend p99 (budget %d rows examined per request)\n", r.AdversarialRatio, r.Adversarial[0].MaxBudget)
}
