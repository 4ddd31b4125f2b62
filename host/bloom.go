package host

import (
	"context"
	"fmt"

	"github.com/edgerec/edgerec/core/abi"
	"github.com/edgerec/edgerec/core/api"
)

// Bloom runs one consumed-items filter operation (api.BloomNew, BloomAdd
// or BloomCheck; see api.BloomOp) in the guest through the edgerec_bloom export and
// decodes its result. It does not need a bundle and leaves the loaded one
// alone. bloom.Apply computes the same result natively, byte for byte; use
// this to exercise the module, or where the guest is the only
// implementation trusted.
//
// An op that encodes to more than api.MaxBloomOpBytes fails with ErrTooLarge
// without calling the guest. An op the guest refuses (unknown op, malformed
// or damaged filter bytes, a missing field, over api.MaxBloomOpItems items)
// gives an error wrapping ErrGuest; the instance stays usable. A module
// built before the export existed gives an error wrapping ErrABI, and the
// instance stays usable too. Contexts and timeouts behave as in
// RecommendBytes.
func (in *Instance) Bloom(ctx context.Context, op *api.BloomOp) (*api.BloomResult, error) {
	b, err := api.EncodeBloomOp(op)
	if err != nil {
		return nil, fmt.Errorf("host: encode bloom op: %w", err)
	}
	out, err := in.bloomBytes(ctx, b)
	if err != nil {
		return nil, err
	}
	res, err := api.DecodeBloomResult(out)
	if err != nil {
		return nil, fmt.Errorf("host: %s: %w", abi.ExportBloom, err)
	}
	return res, nil
}

// bloomBytes runs the msgpack-encoded op in the guest and returns the
// msgpack-encoded result (a fresh slice the caller owns). See Bloom for the
// errors.
func (in *Instance) bloomBytes(ctx context.Context, op []byte) ([]byte, error) {
	if len(op) > api.MaxBloomOpBytes {
		if err := in.usable(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: bloom op is %d bytes, more than the limit of %d", ErrTooLarge, len(op), api.MaxBloomOpBytes)
	}
	return in.callWith(ctx, abi.ExportBloom, in.bloom, op)
}
