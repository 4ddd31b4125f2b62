package api

import (
	"fmt"

	"github.com/edgerec/edgerec/core/wire"
)

// Limits on a catalog page (the module's edgerec_catalog export,
// wasm/ABI.md).
const (
	// MaxCatalogPage is the most items one catalog page may hold.
	MaxCatalogPage = 5000
	// DefaultCatalogPage is the page size when a CatalogRequest leaves
	// Limit at zero.
	DefaultCatalogPage = 1000
	// MaxCatalogRequestBytes is the largest encoded CatalogRequest
	// accepted.
	MaxCatalogRequestBytes = 1 << 10
)

// CatalogRequest asks for one page of the loaded bundle's catalog: the items
// in rows [Offset, Offset+Limit), in bundle order.
type CatalogRequest struct {
	// Offset is the first row wanted, 0 ≤ Offset; an offset at or past the
	// end gives an empty page.
	Offset int `msgpack:"offset,omitempty" json:"offset,omitempty"`
	// Limit is the most items wanted, 0 ≤ Limit ≤ MaxCatalogPage; 0 means
	// DefaultCatalogPage.
	Limit int `msgpack:"limit,omitempty" json:"limit,omitempty"`
}

// CatalogPage is one page of a bundle's catalog, with what a client needs to
// show items and to fill a request's context.
type CatalogPage struct {
	// BundleVersion is the loaded bundle's version label.
	BundleVersion string `msgpack:"bundle_version" json:"bundle_version"`
	// Total is the number of items in the bundle.
	Total int `msgpack:"total" json:"total"`
	// Offset is the row of Items[0].
	Offset int `msgpack:"offset" json:"offset"`
	// Items are the rows [Offset, Offset+len(Items)).
	Items []CatalogItem `msgpack:"items" json:"items"`
	// Categories lists every category name of the bundle.
	Categories []string `msgpack:"categories" json:"categories"`
	// Fields lists, per categorical context field of the query tower
	// ("region", "device", "gender", ...), the values the model knows, in
	// vocabulary order. Other values are accepted and treated as unknown.
	Fields map[string][]string `msgpack:"fields" json:"fields"`
}

// CatalogItem is one item of a catalog page (bundles/FORMAT.md §5.3).
type CatalogItem struct {
	ID         string   `msgpack:"id" json:"id"`
	Title      string   `msgpack:"title" json:"title"`
	Categories []string `msgpack:"categories" json:"categories"`
	// Released is the release time in Unix seconds, 0 when unknown.
	Released int64 `msgpack:"released" json:"released"`
	// Regions lists the regions the item is licensed in; empty means
	// everywhere.
	Regions   []string `msgpack:"regions" json:"regions"`
	Available bool     `msgpack:"available" json:"available"`
	AgeRating int      `msgpack:"age_rating" json:"age_rating"`
	// Popularity is ln(1 + training interactions), as in the bundle.
	Popularity float32 `msgpack:"popularity" json:"popularity"`
}

// DecodeCatalogRequest decodes and validates a msgpack CatalogRequest.
// Empty input is the zero request (the first page of DefaultCatalogPage
// items).
func DecodeCatalogRequest(b []byte) (*CatalogRequest, error) {
	var r CatalogRequest
	if len(b) == 0 {
		return &r, nil
	}
	if len(b) > MaxCatalogRequestBytes {
		return nil, fmt.Errorf("catalog request is %d bytes, more than the limit of %d", len(b), MaxCatalogRequestBytes)
	}
	if err := wire.UnmarshalLimit(b, &r, 16); err != nil {
		return nil, fmt.Errorf("malformed catalog request: %w", err)
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

// Validate reports a field out of range.
func (r *CatalogRequest) Validate() error {
	switch {
	case r.Offset < 0:
		return fmt.Errorf("catalog offset = %d is negative", r.Offset)
	case r.Limit < 0 || r.Limit > MaxCatalogPage:
		return fmt.Errorf("catalog limit = %d is out of range [0, %d]", r.Limit, MaxCatalogPage)
	}
	return nil
}

// EncodeCatalogPage encodes p as msgpack.
func EncodeCatalogPage(p *CatalogPage) ([]byte, error) { return wire.Marshal(p) }

// DecodeCatalogPage decodes a msgpack catalog page.
func DecodeCatalogPage(b []byte) (*CatalogPage, error) {
	var p CatalogPage
	if err := wire.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("malformed catalog page: %w", err)
	}
	return &p, nil
}
