package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bloom"
	"github.com/edgerec/edgerec/core/wire"
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

func runParity(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("parity", "parity --bundle FILE --out DIR [--wasm FILE] [--bench N]", `
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
Chromium (web-demo/bench).`, stderr)
	bundlePath := fs.String("bundle", "", "bundle file")
	out := fs.String("out", "", "directory to write (created if missing)")
	wasmPath := fs.String("wasm", "", "recommender.wasm (default: next to the edgerec binary, then bin/recommender.wasm)")
	bench := fs.Int("bench", 0, "time this many recommend calls of the bench request through wazero (0: none)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "bundle", "out"); err != nil {
		return err
	}
	if *bench < 0 {
		return usagef("--bench %d is negative", *bench)
	}
	data, err := readBundleFile(*bundlePath)
	if err != nil {
		return err
	}
	_, wasm, err := readModule(*wasmPath)
	if err != nil {
		return err
	}
	ctx := context.Background()
	in, closeAll, err := openInstance(ctx, wasm)
	if err != nil {
		return err
	}
	defer closeAll()
	summary, err := in.LoadBundle(ctx, data)
	if err != nil {
		return err
	}
	fx := &parityFixtures{Bundle: "bundle.bin"}
	if fx.Summary, err = wire.Marshal(summary); err != nil {
		return err
	}
	page, err := in.Catalog(ctx, api.CatalogRequest{Limit: api.MaxCatalogPage})
	if err != nil {
		return err
	}
	if len(page.Items) < 40 {
		return fmt.Errorf("the bundle has %d items; parity fixtures need at least 40", len(page.Items))
	}
	ids := make([]string, len(page.Items))
	for i, it := range page.Items {
		ids[i] = it.ID
	}
	first := func(field string) string {
		if v := page.Fields[field]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	last := func(field string) string {
		if v := page.Fields[field]; len(v) > 0 {
			return v[len(v)-1]
		}
		return ""
	}
	events := func(items ...string) []api.Event {
		ev := make([]api.Event, len(items))
		for i, id := range items {
			ev[i] = api.Event{Item: id, Time: summary.Created - int64(len(items)-i)*3600}
		}
		return ev
	}

	// The consumed filter, natively.
	fx.Consumed = parityConsumed{Expected: 500, FPRate: 0.01, Items: ids[3:13]}
	f, err := bloom.New(fx.Consumed.Expected, fx.Consumed.FPRate)
	if err != nil {
		return err
	}
	for _, id := range fx.Consumed.Items {
		f.Add(id)
	}
	if fx.Consumed.Filter, err = f.MarshalBinary(); err != nil {
		return err
	}

	hist := events(ids[1], ids[5], ids[9], ids[20], ids[33])
	requests := []struct {
		name string
		req  *api.Request
	}{
		{"cold start", &api.Request{}},
		{"history", &api.Request{K: 10, History: hist}},
		{"history and context", &api.Request{K: 20, History: hist, Context: api.Context{
			Region: first("region"), Device: last("device"), Age: 34, Time: summary.Created + 86400}}},
		{"seed item", &api.Request{K: 8, Seed: ids[17], History: hist[:2]}},
		{"consumed filter", &api.Request{K: 15, History: hist, Consumed: fx.Consumed.Filter}},
		{"impressions", &api.Request{K: 12, History: hist, Impressions: []api.Impression{
			{Item: ids[2], Count: 3, Last: summary.Created - 60}, {Item: ids[7], Count: 1}}}},
		{"source weights", &api.Request{K: 12, History: hist, Sources: api.Weights{
			"twotower": 1, "covisit": 0.5, "popular": 0, "trending": 2.25, "fresh": 1.5, "explore": 0.125, "slim": 0.75}}},
		{"filters", &api.Request{K: 10, History: hist, Filters: &api.Filters{
			Exclude: ids[30:40], IgnoreAvailability: true}}},
		{"allow list", &api.Request{K: 5, History: hist, Filters: &api.Filters{Allow: ids[:25]}}},
		{"debug", &api.Request{K: 10, History: hist, Debug: true, UserID: "u-parity"}},
		{"experiment key and unknown items", &api.Request{K: 30, UserID: "someone",
			ExperimentKey: "key-7", History: append(events("no-such-item"), hist...), Debug: true}},
		{"young user", &api.Request{K: 25, History: hist, Context: api.Context{Age: 12, Region: last("region")}}},
		{"large k", &api.Request{K: 200, History: hist}},
		{"order overrides", &api.Request{K: 16, History: hist, Order: &api.Order{
			MMRLambda: ptr(0.3), ExploreEvery: ptr(4), CategoryCap: ptr(3)}}},
	}
	for _, r := range requests {
		c := parityCase{Name: r.name}
		if c.Input, err = api.EncodeRequest(r.req); err != nil {
			return err
		}
		if c.Output, err = in.RecommendBytes(ctx, c.Input); err != nil {
			return fmt.Errorf("request %q: %w", r.name, err)
		}
		fx.Recommend = append(fx.Recommend, c)
	}
	for _, bad := range []struct {
		name string
		in   []byte
	}{
		{"k out of range", mustMarshal(map[string]any{"k": -1})},
		{"age out of range", mustMarshal(map[string]any{"context": map[string]any{"age": 200}})},
		{"not msgpack", []byte{0xc1}},
		{"damaged filter", mustMarshal(map[string]any{"consumed": []byte("ERBF\x01")})},
	} {
		_, err := in.RecommendBytes(ctx, bad.in)
		var ge *host.GuestError
		if !asGuestError(err, &ge) {
			return fmt.Errorf("bad request %q: got %v, want an error from the module", bad.name, err)
		}
		fx.Recommend = append(fx.Recommend, parityCase{Name: bad.name, Input: bad.in, Error: ge.Message})
	}

	for _, op := range []struct {
		name string
		op   *bloom.Op
	}{
		{"new", &bloom.Op{Op: bloom.OpNew, Expected: 1000, FPRate: 0.01}},
		{"add to new", &bloom.Op{Op: bloom.OpAdd, Expected: 2000, FPRate: 0.001, Items: ids[:50]}},
		{"add to existing", &bloom.Op{Op: bloom.OpAdd, Filter: fx.Consumed.Filter, Items: []string{"café", "日本語", ids[99]}}},
		{"check", &bloom.Op{Op: bloom.OpCheck, Filter: fx.Consumed.Filter, Items: ids[:40]}},
		{"unknown op", &bloom.Op{Op: "remove", Items: []string{"x"}}},
		{"bad rate", &bloom.Op{Op: bloom.OpNew, Expected: 10, FPRate: 2}},
		{"check without filter", &bloom.Op{Op: bloom.OpCheck, Items: []string{"x"}}},
	} {
		c := parityCase{Name: op.name}
		if c.Input, err = bloom.EncodeOp(op.op); err != nil {
			return err
		}
		if c.Output, err = bloom.ApplyBytes(c.Input); err != nil {
			c.Output, c.Error = nil, err.Error()
		}
		fx.Bloom = append(fx.Bloom, c)
	}

	for _, cr := range []struct {
		name string
		req  *api.CatalogRequest
		raw  []byte
	}{
		{"first page", &api.CatalogRequest{}, nil},
		{"a middle page", &api.CatalogRequest{Offset: 17, Limit: 23}, nil},
		{"past the end", &api.CatalogRequest{Offset: 1 << 20, Limit: 5}, nil},
		{"limit too large", nil, mustMarshal(map[string]any{"limit": api.MaxCatalogPage + 1})},
	} {
		c := parityCase{Name: cr.name, Input: cr.raw}
		if cr.req != nil {
			if c.Input, err = wire.Marshal(cr.req); err != nil {
				return err
			}
			p, err := in.Catalog(ctx, *cr.req)
			if err != nil {
				return fmt.Errorf("catalog %q: %w", cr.name, err)
			}
			if c.Output, err = api.EncodeCatalogPage(p); err != nil {
				return err
			}
		} else {
			c.Error = fmt.Sprintf("catalog limit = %d is out of range [0, %d]", api.MaxCatalogPage+1, api.MaxCatalogPage)
		}
		fx.Catalog = append(fx.Catalog, c)
	}

	benchReq := &api.Request{K: 10, History: events(ids[1], ids[5], ids[9], ids[20], ids[33], ids[2], ids[11], ids[14], ids[25], ids[38]),
		Context: api.Context{Region: first("region"), Device: first("device"), Age: 30}, Consumed: fx.Consumed.Filter}
	if fx.Bench, err = api.EncodeRequest(benchReq); err != nil {
		return err
	}
	if *bench > 0 {
		t, err := timeRecommend(ctx, in, benchReq, *bench)
		if err != nil {
			return err
		}
		fx.Wazero = t
		fmt.Fprintf(stdout, "wazero: %d recommend calls (k = 10, 10 history items, consumed filter; encode + call + decode): p50 %.3f ms, p99 %.3f ms, mean %.3f ms\n",
			t.Calls, t.P50, t.P99, t.Mean)
	}

	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*out, fx.Bundle), data, 0o644); err != nil {
		return err
	}
	js, err := json.MarshalIndent(fx, "", " ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*out, "fixtures.json"), js, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d recommend, %d bloom and %d catalog cases for bundle %s\n",
		filepath.Join(*out, "fixtures.json"), len(fx.Recommend), len(fx.Bloom), len(fx.Catalog), summary.Version)
	return nil
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

func ptr[T any](v T) *T { return &v }

func mustMarshal(v any) []byte {
	b, err := wire.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func asGuestError(err error, ge **host.GuestError) bool { return errors.As(err, ge) }
