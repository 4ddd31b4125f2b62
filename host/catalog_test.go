package host

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle/bundletest"
	"github.com/edgerec/edgerec/core/pipeline"
)

// TestCatalogMatchesNative pages through a bundle's catalog in the module
// and compares every page with pipeline.Recommender.Catalog run natively,
// and the items with the bundle's columns.
func TestCatalogMatchesNative(t *testing.T) {
	const n = 1234
	data := bundletest.Encoded(n, 32, 7)
	native, err := pipeline.Load(append([]byte(nil), data...))
	if err != nil {
		t.Fatal(err)
	}
	in := newTestInstance(t)
	ctx := context.Background()
	if _, err := in.LoadBundle(ctx, data); err != nil {
		t.Fatal(err)
	}
	for _, req := range []api.CatalogRequest{
		{}, {Limit: 500}, {Offset: 500, Limit: 500}, {Offset: 1000, Limit: 500},
		{Offset: n - 1, Limit: 10}, {Offset: n}, {Offset: n + 50, Limit: 3}, {Limit: api.MaxCatalogPage},
	} {
		t.Run(fmt.Sprintf("offset=%d,limit=%d", req.Offset, req.Limit), func(t *testing.T) {
			got, err := in.Catalog(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			want := native.Catalog(&req)
			if !reflect.DeepEqual(normalizePage(got), normalizePage(want)) {
				t.Fatalf("module page differs from native:\n got %+v\nwant %+v", got, want)
			}
			limit := req.Limit
			if limit == 0 {
				limit = api.DefaultCatalogPage
			}
			wantLen := max(0, min(limit, n-req.Offset))
			if len(got.Items) != wantLen || got.Total != n {
				t.Fatalf("%d items of %d, want %d of %d", len(got.Items), got.Total, wantLen, n)
			}
		})
	}
	// The columns, resolved: bundletest gives item i category 1+i%4, the
	// region "eu" to every tenth item, age ratings 0, 0, 13, 18.
	p, err := in.Catalog(ctx, api.CatalogRequest{Limit: 40})
	if err != nil {
		t.Fatal(err)
	}
	b := native.Bundle()
	for i, it := range p.Items {
		wantRegions := []string{}
		if i%10 == 0 {
			wantRegions = []string{"eu"}
		}
		want := api.CatalogItem{ID: bundletest.ID(i), Title: fmt.Sprintf("Title %d", i),
			Categories: []string{bundletest.Categories[i%4]}, Released: b.Items.Released[i],
			Regions: wantRegions, Available: i%13 != 0, AgeRating: []int{0, 0, 13, 18}[i%4],
			Popularity: b.Items.Popularity[i]}
		if !reflect.DeepEqual(it, want) {
			t.Errorf("item %d = %+v, want %+v", i, it, want)
		}
	}
	if !reflect.DeepEqual(p.Categories, bundletest.Categories) {
		t.Errorf("categories %v, want %v", p.Categories, bundletest.Categories)
	}
	if !reflect.DeepEqual(p.Fields["region"], bundletest.Regions) || !reflect.DeepEqual(p.Fields["device"], bundletest.Devices) {
		t.Errorf("fields %v, want region %v and device %v", p.Fields, bundletest.Regions, bundletest.Devices)
	}
	if p.BundleVersion != b.Manifest.Version {
		t.Errorf("bundle version %q, want %q", p.BundleVersion, b.Manifest.Version)
	}
}

// normalizePage makes nil and empty lists equal (msgpack decodes an empty
// array as an empty slice).
func normalizePage(p *api.CatalogPage) *api.CatalogPage {
	q := *p
	q.Items = append([]api.CatalogItem{}, p.Items...)
	for i := range q.Items {
		q.Items[i].Regions = append([]string{}, q.Items[i].Regions...)
		q.Items[i].Categories = append([]string{}, q.Items[i].Categories...)
	}
	return &q
}

// TestCatalogBadInput checks the guest's refusals; the instance stays usable.
func TestCatalogBadInput(t *testing.T) {
	in := newTestInstance(t)
	ctx := context.Background()
	_, err := in.Catalog(ctx, api.CatalogRequest{})
	wantGuestError(t, err, "edgerec_catalog", "no bundle loaded")
	if _, err := in.LoadBundle(ctx, bundletest.Encoded(20, 16, 1)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		req  api.CatalogRequest
		want string
	}{
		{api.CatalogRequest{Offset: -1}, "catalog offset = -1 is negative"},
		{api.CatalogRequest{Limit: api.MaxCatalogPage + 1}, "catalog limit = 5001 is out of range [0, 5000]"},
		{api.CatalogRequest{Limit: -2}, "out of range"},
	} {
		_, err := in.Catalog(ctx, c.req)
		wantGuestError(t, err, "edgerec_catalog", c.want)
	}
	for _, raw := range [][]byte{{0xc1}, {0x81, 0xa6, 'o', 'f', 'f', 's', 'e', 't', 0xa1, 'x'}, make([]byte, api.MaxCatalogRequestBytes+1)} {
		_, err := in.callWith(ctx, "edgerec_catalog", in.mod.ExportedFunction("edgerec_catalog"), raw)
		if !errors.Is(err, ErrGuest) {
			t.Errorf("raw %x...: err %v, want a guest error", raw[:1], err)
		}
	}
	if in.Broken() || in.outstanding != 0 {
		t.Fatalf("after refusals: broken %v, %d guest buffers held", in.Broken(), in.outstanding)
	}
	if p, err := in.Catalog(ctx, api.CatalogRequest{}); err != nil || len(p.Items) != 20 {
		t.Fatalf("after refusals: %v, %v", p, err)
	}
}
