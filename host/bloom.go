package host

import (
	"context"
	"fmt"

	wapi "github.com/tetratelabs/wazero/api"

	"github.com/edgerec/edgerec/core/abi"
	"github.com/edgerec/edgerec/core/bloom"
)

// bloomSig is the signature of the edgerec_bloom export.
var bloomSig = signature{[]wapi.ValueType{i32, i32}, []wapi.ValueType{i64}}

// Bloom runs one consumed-items filter operation (bloom.OpNew, OpAdd or
// OpCheck; see bloom.Op) in the guest through the edgerec_bloom export and
// decodes its result. It does not need a bundle and leaves the loaded one
// alone. bloom.Apply computes the same result natively, byte for byte; use
// this to exercise the module, or where the guest is the only
// implementation trusted.
//
// An op that encodes to more than bloom.MaxOpBytes fails with ErrTooLarge
// without calling the guest. An op the guest refuses (unknown op, malformed
// or damaged filter bytes, a missing field, over bloom.MaxOpItems items)
// gives an error wrapping ErrGuest; the instance stays usable. A module
// built before the export existed gives an error wrapping ErrABI, and the
// instance stays usable too. Contexts and timeouts behave as in
// RecommendBytes.
//
// # Notes
//
//   - The export is looked up on each call (it is not among the exports an
//     Instance resolves when it is made), which costs an allocation of a
//     few KiB: Bloom suits occasional use, not a hot path.
func (in *Instance) Bloom(ctx context.Context, op *bloom.Op) (*bloom.OpResult, error) {
	b, err := bloom.EncodeOp(op)
	if err != nil {
		return nil, fmt.Errorf("host: encode bloom op: %w", err)
	}
	out, err := in.bloomBytes(ctx, b)
	if err != nil {
		return nil, err
	}
	res, err := bloom.DecodeResult(out)
	if err != nil {
		return nil, fmt.Errorf("host: %s: %w", abi.ExportBloom, err)
	}
	return res, nil
}

// bloomBytes runs the msgpack-encoded op in the guest and returns the
// msgpack-encoded result (a fresh slice the caller owns). See Bloom for the
// errors.
func (in *Instance) bloomBytes(ctx context.Context, op []byte) ([]byte, error) {
	if err := in.usable(); err != nil {
		return nil, err
	}
	if len(op) > bloom.MaxOpBytes {
		return nil, fmt.Errorf("%w: bloom op is %d bytes, more than the limit of %d", ErrTooLarge, len(op), bloom.MaxOpBytes)
	}
	f := in.mod.ExportedFunction(abi.ExportBloom)
	var def wapi.FunctionDefinition
	if f != nil {
		def = f.Definition()
	}
	if err := checkSig(abi.ExportBloom, def, bloomSig); err != nil {
		return nil, err
	}
	if in.callTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, in.callTimeout)
		defer cancel()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// The input stays the host's, as a request does: reuse the request
	// buffer.
	ptr, temp, err := in.writeRequest(ctx, op)
	if err != nil {
		return nil, err
	}
	r, err := in.call(ctx, abi.ExportBloom, f, uint64(ptr), uint64(len(op)))
	if err != nil {
		return nil, err
	}
	if temp {
		if err := in.release(ctx, ptr); err != nil {
			return nil, err
		}
	}
	return in.result(ctx, abi.ExportBloom, r)
}
