package host

import (
	"context"
	"fmt"

	"github.com/edgerec/edgerec/core/abi"
	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/wire"
)

// Catalog returns one page of the loaded bundle's catalog (titles, category
// and region names, release times, popularity) through the module's
// edgerec_catalog export, and the context values the query tower knows.
// Pages hold at most api.MaxCatalogPage items; walk Offset to Total for the
// whole catalog.
//
// A request out of range (a negative offset, a limit over
// api.MaxCatalogPage) or no loaded bundle gives an error wrapping ErrGuest;
// the instance stays usable. A module built before the export existed gives
// an error wrapping ErrABI. Contexts and timeouts behave as in
// RecommendBytes.
func (in *Instance) Catalog(ctx context.Context, req api.CatalogRequest) (*api.CatalogPage, error) {
	f, err := in.optionalExport(abi.ExportCatalog)
	if err != nil {
		return nil, err
	}
	b, err := encodeCatalogRequest(&req)
	if err != nil {
		return nil, err
	}
	out, err := in.callWith(ctx, abi.ExportCatalog, f, b)
	if err != nil {
		return nil, err
	}
	p, err := api.DecodeCatalogPage(out)
	if err != nil {
		return nil, fmt.Errorf("host: %s: %w", abi.ExportCatalog, err)
	}
	return p, nil
}

// encodeCatalogRequest encodes req; the zero request is sent as empty input.
func encodeCatalogRequest(req *api.CatalogRequest) ([]byte, error) {
	if *req == (api.CatalogRequest{}) {
		return nil, nil
	}
	b, err := wire.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("host: encode catalog request: %w", err)
	}
	return b, nil
}
