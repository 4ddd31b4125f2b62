package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/host"
)

// parityFixtures is the file `edgerec parity` writes: inputs for every
// export and what the wazero host (recommend, catalog) or Go's core/bloom
// (bloom) answered. Byte strings are base64 in JSON.
type parityFixtures struct {
	Bundle    string          `json:"bundle"`  // file name of the bundle, beside the fixtures
	Summary   []byte          `json:"summary"` // msgpack api.Summary from load_bundle
	Recommend []parityCase    `json:"recommend"`
	Bloom     []parityCase    `json:"bloom"`
	Catalog   []parityCase    `json:"catalog"`
	Bench     []byte          `json:"bench"` // the request the latency figures time
	Consumed  parityConsumed  `json:"consumed"`
	Wazero    *parityTimingMs `json:"wazero,omitempty"`
}

// parityCase is one call: its msgpack input and either the msgpack output
// or the error message.
type parityCase struct {
	Name   string `json:"name"`
	Input  []byte `json:"input"`
	Output []byte `json:"output,omitempty"`
	Error  string `json:"error,omitempty"`
}

// parityConsumed is a consumed-items filter made natively by core/bloom, so
// a client's helpers can be held to the same bytes.
type parityConsumed struct {
	Expected int      `json:"expected"`
	FPRate   float64  `json:"fp_rate"`
	Items    []string `json:"items"`
	Filter   []byte   `json:"filter"`
}

// parityTimingMs holds the wazero host's latency for the bench request.
type parityTimingMs struct {
	Calls int     `json:"calls"`
	P50   float64 `json:"p50_ms"`
	P99   float64 `json:"p99_ms"`
	Mean  float64 `json:"mean_ms"`
}

// parityOptions are the flags of `edgerec parity`, checked.
type parityOptions struct {
	bundlePath string // --bundle
	out        string // directory to write
	wasmPath   string // --wasm ("" finds the module)
	bench      int    // recommend calls to time (0: none)
}

// parityReport is what `edgerec parity` wrote and measured.
type parityReport struct {
	Path                      string // fixtures.json
	Version                   string // the bundle's
	Recommend, Bloom, Catalog int    // cases of each kind
	Wazero                    *parityTimingMs
}

const parityAbout = `
Write cross-host parity fixtures for the JavaScript loader (web-demo/): a set
of recommend requests built from the bundle's catalog (history, seed,
context, consumed filter, impressions, source weights, filters, debug, bad
input), Bloom-filter operations and catalog pages, each with the answer of
recommender.wasm run by wazero (Bloom results from Go's core/bloom
natively). DIR gets fixtures.json and a copy of the bundle; the Node tests
replay them and must get the same bytes.

--bench N also times N recommend calls of a typical request through wazero
(request encoding, the call and response decoding) and prints the median
and 99th percentile, to compare with the loader's figures in Node and
Chromium (web-demo/bench).`

func runParity(args []string, stdout, stderr io.Writer) error {
	o, err := parseParity(args)
	if err != nil {
		return err
	}
	rep, err := parity(o)
	if err != nil {
		return err
	}
	rep.print(stdout)
	return nil
}

// parseParity parses and checks the flags of `edgerec parity`.
func parseParity(args []string) (parityOptions, error) {
	fs := newFlags("parity", "parity --bundle FILE --out DIR [--wasm FILE] [--bench N]", parityAbout)
	var o parityOptions
	fs.StringVar(&o.bundlePath, "bundle", "", "bundle file")
	fs.StringVar(&o.out, "out", "", "directory to write (created if missing)")
	fs.StringVar(&o.wasmPath, "wasm", "", "recommender.wasm (default: next to the edgerec binary, then bin/recommender.wasm)")
	fs.IntVar(&o.bench, "bench", 0, "time this many recommend calls of the bench request through wazero (0: none)")
	if err := parse(fs, args); err != nil {
		return o, err
	}
	if err := required(fs, "bundle", "out"); err != nil {
		return o, err
	}
	if o.bench < 0 {
		return o, usagef("--bench %d is negative", o.bench)
	}
	return o, nil
}

// parity loads the bundle into the module, records the fixtures (and, with
// o.bench, times the bench request) and writes them with a copy of the
// bundle to o.out: the work of `edgerec parity`.
func parity(o parityOptions) (*parityReport, error) {
	data, err := readBundleFile(o.bundlePath)
	if err != nil {
		return nil, err
	}
	_, wasm, err := readModule(o.wasmPath)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	in, closeAll, err := openInstance(ctx, wasm)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	fx, benchReq, summary, err := recordParity(ctx, in, data)
	if err != nil {
		return nil, err
	}
	if o.bench > 0 {
		if fx.Wazero, err = timeRecommend(ctx, in, benchReq, o.bench); err != nil {
			return nil, err
		}
	}
	path, err := writeParity(o.out, fx, data)
	if err != nil {
		return nil, err
	}
	return &parityReport{Path: path, Version: summary.Version, Recommend: len(fx.Recommend), Bloom: len(fx.Bloom),
		Catalog: len(fx.Catalog), Wazero: fx.Wazero}, nil
}

// writeParity writes fx as DIR/fixtures.json and the bundle beside it,
// and returns the fixtures' path.
func writeParity(dir string, fx *parityFixtures, data []byte) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, fx.Bundle), data, 0o644); err != nil {
		return "", err
	}
	js, err := json.MarshalIndent(fx, "", " ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "fixtures.json")
	return path, os.WriteFile(path, js, 0o644)
}

// print writes the report as `edgerec parity` prints it.
func (r *parityReport) print(w io.Writer) {
	if t := r.Wazero; t != nil {
		fmt.Fprintf(w, "wazero: %d recommend calls (k = 10, 10 history items, consumed filter; encode + call + decode): p50 %.3f ms, p99 %.3f ms, mean %.3f ms\n",
			t.Calls, t.P50, t.P99, t.Mean)
	}
	fmt.Fprintf(w, "wrote %s: %d recommend, %d bloom and %d catalog cases for bundle %s\n", r.Path, r.Recommend, r.Bloom, r.Catalog, r.Version)
}

// timeRecommend times n calls of req through in, after 20 unmeasured ones.
func timeRecommend(ctx context.Context, in *host.Instance, req *api.Request, n int) (*parityTimingMs, error) {
	for range 20 {
		if _, err := in.Recommend(ctx, req); err != nil {
			return nil, err
		}
	}
	d := make([]float64, n)
	var sum float64
	for i := range d {
		t0 := time.Now()
		if _, err := in.Recommend(ctx, req); err != nil {
			return nil, err
		}
		d[i] = float64(time.Since(t0).Nanoseconds()) / 1e6
		sum += d[i]
	}
	slices.Sort(d)
	return &parityTimingMs{Calls: n, P50: d[n/2], P99: d[min(n-1, n*99/100)], Mean: sum / float64(n)}, nil
}
