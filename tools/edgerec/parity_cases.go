package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bloom"
	"github.com/edgerec/edgerec/core/wire"
	"github.com/edgerec/edgerec/host"
)

// recordParity loads the bundle data into in and records every fixture
// case with the module's answer. It returns the fixtures, the request
// their latency figures time (fixtures' Bench), and the load summary.
func recordParity(ctx context.Context, in *host.Instance, data []byte) (*parityFixtures, *api.Request, api.Summary, error) {
	summary, err := in.LoadBundle(ctx, data)
	if err != nil {
		return nil, nil, summary, err
	}
	fx := &parityFixtures{Bundle: "bundle.bin"}
	if fx.Summary, err = wire.Marshal(summary); err != nil {
		return nil, nil, summary, err
	}
	c, err := readParityCatalog(ctx, in, summary.Created)
	if err != nil {
		return nil, nil, summary, err
	}
	if fx.Consumed, err = consumedFixture(c.ids[3:13]); err != nil {
		return nil, nil, summary, err
	}
	if fx.Recommend, err = recommendCases(ctx, in, c, fx.Consumed.Filter); err != nil {
		return nil, nil, summary, err
	}
	bad, err := badRequestCases(ctx, in)
	if err != nil {
		return nil, nil, summary, err
	}
	fx.Recommend = append(fx.Recommend, bad...)
	if fx.Bloom, err = bloomCases(c, fx.Consumed.Filter); err != nil {
		return nil, nil, summary, err
	}
	if fx.Catalog, err = catalogCases(ctx, in); err != nil {
		return nil, nil, summary, err
	}
	benchReq := c.benchRequest(fx.Consumed.Filter)
	if fx.Bench, err = api.EncodeRequest(benchReq); err != nil {
		return nil, nil, summary, err
	}
	return fx, benchReq, summary, nil
}

// parityCatalog is what the cases are made of: the ids and field values of
// the bundle's first catalog page, and its creation time.
type parityCatalog struct {
	ids     []string
	fields  map[string][]string
	created int64
}

// readParityCatalog reads the first catalog page from in; the cases need
// at least 40 items.
func readParityCatalog(ctx context.Context, in *host.Instance, created int64) (*parityCatalog, error) {
	page, err := in.Catalog(ctx, api.CatalogRequest{Limit: api.MaxCatalogPage})
	if err != nil {
		return nil, err
	}
	if len(page.Items) < 40 {
		return nil, fmt.Errorf("the bundle has %d items; parity fixtures need at least 40", len(page.Items))
	}
	c := &parityCatalog{ids: make([]string, len(page.Items)), fields: page.Fields, created: created}
	for i, it := range page.Items {
		c.ids[i] = it.ID
	}
	return c, nil
}

// first and last return a field's first and last value ("" when it has none).
func (c *parityCatalog) first(field string) string {
	if v := c.fields[field]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (c *parityCatalog) last(field string) string {
	if v := c.fields[field]; len(v) > 0 {
		return v[len(v)-1]
	}
	return ""
}

// events is a history of items, an hour apart, the last an hour before
// the bundle's creation.
func (c *parityCatalog) events(items ...string) []api.Event {
	ev := make([]api.Event, len(items))
	for i, id := range items {
		ev[i] = api.Event{Item: id, Time: c.created - int64(len(items)-i)*3600}
	}
	return ev
}

// benchRequest is the request whose latency parity --bench times, and the
// loader's benchmarks in Node and Chromium too (fixtures' Bench).
func (c *parityCatalog) benchRequest(consumed []byte) *api.Request {
	return &api.Request{K: 10, History: c.events(c.ids[1], c.ids[5], c.ids[9], c.ids[20], c.ids[33], c.ids[2], c.ids[11], c.ids[14], c.ids[25], c.ids[38]),
		Context: api.Context{Region: c.first("region"), Device: c.first("device"), Age: 30}, Consumed: consumed}
}

// consumedFixture is the consumed filter of items, made natively.
func consumedFixture(items []string) (parityConsumed, error) {
	fc := parityConsumed{Expected: 500, FPRate: 0.01, Items: items}
	f, err := bloom.New(fc.Expected, fc.FPRate)
	if err != nil {
		return fc, err
	}
	for _, id := range fc.Items {
		f.Add(id)
	}
	fc.Filter, err = f.MarshalBinary()
	return fc, err
}

// recommendCases are the valid requests and the module's answers.
func recommendCases(ctx context.Context, in *host.Instance, c *parityCatalog, consumed []byte) ([]parityCase, error) {
	hist := c.events(c.ids[1], c.ids[5], c.ids[9], c.ids[20], c.ids[33])
	requests := []struct {
		name string
		req  *api.Request
	}{
		{"cold start", &api.Request{}},
		{"history", &api.Request{K: 10, History: hist}},
		{"history and context", &api.Request{K: 20, History: hist, Context: api.Context{
			Region: c.first("region"), Device: c.last("device"), Age: 34, Time: c.created + 86400}}},
		{"seed item", &api.Request{K: 8, Seed: c.ids[17], History: hist[:2]}},
		{"consumed filter", &api.Request{K: 15, History: hist, Consumed: consumed}},
		{"impressions", &api.Request{K: 12, History: hist, Impressions: []api.Impression{
			{Item: c.ids[2], Count: 3, Last: c.created - 60}, {Item: c.ids[7], Count: 1}}}},
		{"source weights", &api.Request{K: 12, History: hist, Sources: api.Weights{
			"twotower": 1, "covisit": 0.5, "popular": 0, "trending": 2.25, "fresh": 1.5, "explore": 0.125, "slim": 0.75}}},
		{"filters", &api.Request{K: 10, History: hist, Filters: &api.Filters{
			Exclude: c.ids[30:40], IgnoreAvailability: true}}},
		{"allow list", &api.Request{K: 5, History: hist, Filters: &api.Filters{Allow: c.ids[:25]}}},
		{"debug", &api.Request{K: 10, History: hist, Debug: true, UserID: "u-parity"}},
		{"experiment key and unknown items", &api.Request{K: 30, UserID: "someone",
			ExperimentKey: "key-7", History: append(c.events("no-such-item"), hist...), Debug: true}},
		{"young user", &api.Request{K: 25, History: hist, Context: api.Context{Age: 12, Region: c.last("region")}}},
		{"large k", &api.Request{K: 200, History: hist}},
		{"order overrides", &api.Request{K: 16, History: hist, Order: &api.Order{
			MMRLambda: ptr(0.3), ExploreEvery: ptr(4), CategoryCap: ptr(3)}}},
	}
	var out []parityCase
	for _, r := range requests {
		pc := parityCase{Name: r.name}
		var err error
		if pc.Input, err = api.EncodeRequest(r.req); err != nil {
			return nil, err
		}
		if pc.Output, err = in.RecommendBytes(ctx, pc.Input); err != nil {
			return nil, fmt.Errorf("request %q: %w", r.name, err)
		}
		out = append(out, pc)
	}
	return out, nil
}

// badRequestCases are requests the module must refuse, and its messages.
func badRequestCases(ctx context.Context, in *host.Instance) ([]parityCase, error) {
	var out []parityCase
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
			return nil, fmt.Errorf("bad request %q: got %v, want an error from the module", bad.name, err)
		}
		out = append(out, parityCase{Name: bad.name, Input: bad.in, Error: ge.Message})
	}
	return out, nil
}

// bloomCases are Bloom-filter operations and core/bloom's answers.
func bloomCases(c *parityCatalog, consumed []byte) ([]parityCase, error) {
	var out []parityCase
	for _, op := range []struct {
		name string
		op   *api.BloomOp
	}{
		{"new", &api.BloomOp{Op: api.BloomNew, Expected: 1000, FPRate: 0.01}},
		{"add to new", &api.BloomOp{Op: api.BloomAdd, Expected: 2000, FPRate: 0.001, Items: c.ids[:50]}},
		{"add to existing", &api.BloomOp{Op: api.BloomAdd, Filter: consumed, Items: []string{"café", "日本語", c.ids[99]}}},
		{"check", &api.BloomOp{Op: api.BloomCheck, Filter: consumed, Items: c.ids[:40]}},
		{"unknown op", &api.BloomOp{Op: "remove", Items: []string{"x"}}},
		{"bad rate", &api.BloomOp{Op: api.BloomNew, Expected: 10, FPRate: 2}},
		{"check without filter", &api.BloomOp{Op: api.BloomCheck, Items: []string{"x"}}},
	} {
		pc := parityCase{Name: op.name}
		var err error
		if pc.Input, err = api.EncodeBloomOp(op.op); err != nil {
			return nil, err
		}
		if pc.Output, err = bloom.ApplyBytes(pc.Input); err != nil {
			pc.Output, pc.Error = nil, err.Error()
		}
		out = append(out, pc)
	}
	return out, nil
}

// catalogCases are catalog pages, and a request the module must refuse.
func catalogCases(ctx context.Context, in *host.Instance) ([]parityCase, error) {
	var out []parityCase
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
		pc := parityCase{Name: cr.name, Input: cr.raw}
		var err error
		if cr.req != nil {
			if pc.Input, err = wire.Marshal(cr.req); err != nil {
				return nil, err
			}
			p, err := in.Catalog(ctx, *cr.req)
			if err != nil {
				return nil, fmt.Errorf("catalog %q: %w", cr.name, err)
			}
			if pc.Output, err = api.EncodeCatalogPage(p); err != nil {
				return nil, err
			}
		} else {
			pc.Error = fmt.Sprintf("catalog limit = %d is out of range [0, %d]", api.MaxCatalogPage+1, api.MaxCatalogPage)
		}
		out = append(out, pc)
	}
	return out, nil
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
