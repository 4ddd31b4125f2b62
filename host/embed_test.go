package host

import (
	"bytes"
	"context"
	"testing"

	"github.com/edgerec/edgerec/core/abi"
	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle/bundletest"
	"github.com/edgerec/edgerec/core/pipeline"
)

// TestEmbedMatchesNative holds the module's edgerec_embed to the native
// query tower bit for bit (both run core/tower on the same bundle), and
// checks its errors.
func TestEmbedMatchesNative(t *testing.T) {
	ctx := context.Background()
	in := newTestInstance(t)
	_, err := in.Embed(ctx, &api.Request{})
	wantGuestError(t, err, abi.ExportEmbed, "no bundle loaded")

	good := bundletest.Encoded(300, 32, 4)
	if _, err := in.LoadBundle(ctx, bytes.Clone(good)); err != nil {
		t.Fatal(err)
	}
	native, err := pipeline.Load(bytes.Clone(good))
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range []*api.Request{
		{},
		{History: []api.Event{{Item: bundletest.ID(5)}, {Item: bundletest.ID(17)}, {Item: "nope"}}},
		{Seed: bundletest.ID(3), Context: api.Context{Region: "eu", Device: "mobile", Age: 33, Time: bundletest.Created}},
	} {
		got, err := in.Embed(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		want := native.Embed(native.Resolve(req))
		if len(got.Vector) != len(want) {
			t.Fatalf("embedding has %d dims, want %d", len(got.Vector), len(want))
		}
		for i := range want {
			if got.Vector[i] != want[i] {
				t.Fatalf("request %+v: dim %d: module %v, native %v", req, i, got.Vector[i], want[i])
			}
		}
		if n := len(req.History); n > 0 && got.UnknownItems != 1 {
			t.Errorf("unknown items = %d, want 1", got.UnknownItems)
		}
	}
	_, err = in.Embed(ctx, &api.Request{Context: api.Context{Age: 200}})
	wantGuestError(t, err, abi.ExportEmbed, "out of range")
	if in.Broken() || in.outstanding != 0 {
		t.Fatalf("after a refused request: broken %v, %d guest buffers held", in.Broken(), in.outstanding)
	}
	if _, err := in.Embed(ctx, &api.Request{}); err != nil {
		t.Fatalf("after a refused request: %v", err)
	}
}
