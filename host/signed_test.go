package host

import (
	"context"
	"crypto/ed25519"
	"os"
	"testing"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle/bundletest"
	"github.com/edgerec/edgerec/host/sign"
)

// TestSignedBundleLoads: the module (a 1.0 reader) skips the SIGN section
// of a 1.1 bundle and serves it as the unsigned one.
func TestSignedBundleLoads(t *testing.T) {
	ctx := context.Background()
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	unsigned := bundletest.Encoded(200, 16, 9)
	signed, err := sign.Sign(unsigned, priv)
	if err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile("../core/bundle/testdata/v1.1-signed.bundle")
	if err != nil {
		t.Fatal(err)
	}
	req := &api.Request{K: 5, History: []api.Event{{Item: bundletest.ID(1)}}}
	var want *api.Response
	for _, c := range []struct {
		name string
		b    []byte
	}{{"unsigned", unsigned}, {"signed", signed}, {"golden 1.1", golden}} {
		in := newTestInstance(t)
		s, err := in.LoadBundle(ctx, c.b)
		if err != nil {
			t.Fatalf("%s: LoadBundle: %v", c.name, err)
		}
		if c.name == "golden 1.1" {
			if s.Items == 0 {
				t.Errorf("%s: summary %+v", c.name, s)
			}
			continue
		}
		resp, err := in.Recommend(ctx, req)
		if err != nil {
			t.Fatalf("%s: Recommend: %v", c.name, err)
		}
		if want == nil {
			want = resp
		} else if len(resp.Items) != len(want.Items) || resp.Items[0] != want.Items[0] {
			t.Errorf("%s: response %v, unsigned gave %v", c.name, resp.Items, want.Items)
		}
	}
}
