package host

import (
	"context"
	"fmt"

	"github.com/edgerec/edgerec/core/abi"
	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/wire"
)

// Embed asks the guest for the query embedding of req (the edgerec_embed
// export): the float32 unit vector the bundle's query tower computes and
// retrieval searches with. Errors are those of Recommend; a module without
// the export gives an error wrapping ErrABI and the instance stays usable.
func (in *Instance) Embed(ctx context.Context, req *api.Request) (*api.Embedding, error) {
	f, err := in.optionalExport(abi.ExportEmbed)
	if err != nil {
		return nil, err
	}
	b, err := api.EncodeRequest(req)
	if err != nil {
		return nil, fmt.Errorf("host: encode request: %w", err)
	}
	if len(b) > api.MaxRequestBytes {
		return nil, fmt.Errorf("%w: request is %d bytes, more than the limit of %d", ErrTooLarge, len(b), api.MaxRequestBytes)
	}
	out, err := in.callWith(ctx, abi.ExportEmbed, f, b)
	if err != nil {
		return nil, err
	}
	var e api.Embedding
	if err := wire.Unmarshal(out, &e); err != nil {
		return nil, fmt.Errorf("host: %s: malformed result: %w", abi.ExportEmbed, err)
	}
	return &e, nil
}
