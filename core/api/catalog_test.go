package api

import (
	"strings"
	"testing"

	"github.com/edgerec/edgerec/core/wire"
)

func TestDecodeCatalogRequest(t *testing.T) {
	enc := func(v any) []byte {
		b, err := wire.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, c := range []struct {
		name string
		in   []byte
		want CatalogRequest
		err  string
	}{
		{"empty", nil, CatalogRequest{}, ""},
		{"page", enc(CatalogRequest{Offset: 10, Limit: 20}), CatalogRequest{Offset: 10, Limit: 20}, ""},
		{"unknown keys ignored", enc(map[string]any{"limit": 3, "other": "x"}), CatalogRequest{Limit: 3}, ""},
		{"negative offset", enc(map[string]any{"offset": -1}), CatalogRequest{}, "catalog offset = -1 is negative"},
		{"limit too large", enc(map[string]any{"limit": MaxCatalogPage + 1}), CatalogRequest{}, "out of range [0, 5000]"},
		{"not msgpack", []byte{0xc1}, CatalogRequest{}, "malformed catalog request"},
		{"wrong type", enc(map[string]any{"offset": "x"}), CatalogRequest{}, "malformed catalog request"},
		{"trailing bytes", append(enc(CatalogRequest{Limit: 1}), 0), CatalogRequest{}, "malformed catalog request"},
		{"too large", make([]byte, MaxCatalogRequestBytes+1), CatalogRequest{}, "more than the limit of 1024"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := DecodeCatalogRequest(c.in)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want one containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *got != c.want {
				t.Fatalf("got %+v, want %+v", *got, c.want)
			}
		})
	}
}

func TestCatalogPageRoundTrip(t *testing.T) {
	p := &CatalogPage{BundleVersion: "v", Total: 2, Offset: 1, Categories: []string{"a"},
		Fields: map[string][]string{"region": {"eu"}},
		Items:  []CatalogItem{{ID: "x", Title: "X", Categories: []string{"a"}, Released: 5, Regions: []string{"eu"}, Available: true, AgeRating: 13, Popularity: 1.5}}}
	b, err := EncodeCatalogPage(p)
	if err != nil {
		t.Fatal(err)
	}
	q, err := DecodeCatalogPage(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Items) != 1 || (q.Items[0].ID != "x" || q.Items[0].AgeRating != 13 || q.Items[0].Regions[0] != "eu" || q.Total != 2 || q.Fields["region"][0] != "eu") {
		t.Fatalf("round trip: %+v", q)
	}
}

// FuzzDecodeCatalogRequest: any input is refused with an error or decodes
// to a valid request that re-encodes and decodes to itself.
func FuzzDecodeCatalogRequest(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x82, 0xa6, 'o', 'f', 'f', 's', 'e', 't', 0x05, 0xa5, 'l', 'i', 'm', 'i', 't', 0x0a})
	f.Add([]byte{0xc1})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeCatalogRequest(b)
		if err != nil {
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("decoded an invalid request: %v", err)
		}
		enc, err := wire.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := DecodeCatalogRequest(enc)
		if err != nil || *r2 != *r {
			t.Fatalf("round trip: %+v → %+v, %v", r, r2, err)
		}
	})
}
