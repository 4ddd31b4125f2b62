package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle/bundletest"
	"github.com/edgerec/edgerec/core/pipeline"
)

// BenchmarkCompile measures Compile with a warm on-disk compilation cache
// (TestMain filled it), the cost a process pays at start-up.
func BenchmarkCompile(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		m, err := Compile(ctx, testWasm, Options{CacheDir: testCacheDir})
		if err != nil {
			b.Fatal(err)
		}
		m.Close(ctx)
	}
}

// BenchmarkInstantiate measures Instantiate: instantiation, _initialize,
// the version handshake and export lookups.
func BenchmarkInstantiate(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		in, err := testModule.Instantiate(ctx)
		if err != nil {
			b.Fatal(err)
		}
		in.Close(ctx)
	}
}

// BenchmarkRecommendBytes measures the round trip of a call that the guest
// refuses: alloc, copy in, call (decode, validate), free, copy the error
// out, free. It bounds the fixed cost of crossing the boundary.
//
// "interruptible" runs the same calls with Options.Interruptible, to show
// what the ability to stop a running call costs.
func BenchmarkRecommendBytes(b *testing.B) {
	ctx := context.Background()
	slow, err := interruptibleModule()
	if err != nil {
		b.Fatal(err)
	}
	for _, m := range []struct {
		name string
		m    *Module
	}{{"default", testModule}, {"interruptible", slow}} {
		for _, req := range []struct {
			name string
			b    []byte
		}{{"no-bundle", validRequest(b)}, {"malformed", []byte{0xc1}}} {
			b.Run(m.name+"/"+req.name, func(b *testing.B) {
				in, err := m.m.Instantiate(ctx)
				if err != nil {
					b.Fatal(err)
				}
				defer in.Close(ctx)
				b.ReportAllocs()
				for b.Loop() {
					if _, err := in.RecommendBytes(ctx, req.b); !errors.Is(err, ErrGuest) {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkRecommend compares a full recommend call through the module
// (msgpack in, query tower, exact int8 scan, msgpack out) with the same
// pipeline compiled natively, on random bundles of 64-dim items.
func BenchmarkRecommend(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{1_000, 10_000, 100_000} {
		data := bundletest.Encoded(n, 64, 1)
		req := &api.Request{K: 20, Context: api.Context{Region: "eu", Age: 30},
			History: []api.Event{{Item: bundletest.ID(1)}, {Item: bundletest.ID(2)}, {Item: bundletest.ID(3)}}}
		in := newTestInstance(b)
		if _, err := in.LoadBundle(ctx, bytes.Clone(data)); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("wasm/items=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := in.Recommend(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
		rec, err := pipeline.Load(data)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("native/items=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := rec.Recommend(req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
