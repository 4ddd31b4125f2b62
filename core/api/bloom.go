package api

import (
	"fmt"

	"github.com/edgerec/edgerec/core/wire"
)

// Operations of a BloomOp.
const (
	BloomNew   = "new"   // make an empty filter from Expected and FPRate
	BloomAdd   = "add"   // add Items to Filter (or to a new filter) and return it
	BloomCheck = "check" // report which Items Filter may contain
)

// Limits on a BloomOp.
const (
	// MaxBloomOpItems is the most items one BloomOp may carry; longer
	// lists (and any list or map longer than this in the encoding) are
	// refused before they are decoded.
	MaxBloomOpItems = 4096
	// MaxBloomOpBytes is the largest encoded BloomOp accepted (1 MiB): a
	// filter of bloom.MaxBytes plus MaxBloomOpItems ids of 120 bytes on
	// average.
	MaxBloomOpBytes = 1 << 20
)

// BloomOp is one consumed-items filter operation, the msgpack input of the
// module's edgerec_bloom export (wasm/ABI.md), so that a browser or app can
// keep the filter it sends as Request.Consumed without reimplementing the
// hashing. bloom.Apply runs it.
type BloomOp struct {
	// Op is BloomNew, BloomAdd or BloomCheck.
	Op string `msgpack:"op" json:"op"`
	// Expected and FPRate size a new filter (bloom.New's n and p):
	// required by BloomNew, and by BloomAdd without a Filter; ignored
	// otherwise.
	Expected int     `msgpack:"expected,omitempty" json:"expected,omitempty"`
	FPRate   float64 `msgpack:"fp_rate,omitempty" json:"fp_rate,omitempty"`
	// Filter is a serialized filter (bloom.Filter.MarshalBinary): required
	// by BloomCheck, optional for BloomAdd, refused by BloomNew.
	Filter []byte `msgpack:"filter,omitempty" json:"filter,omitempty"`
	// Items are item ids (external ids, non-empty), at most
	// MaxBloomOpItems: added by BloomAdd, looked up by BloomCheck, refused
	// by BloomNew.
	Items []string `msgpack:"items,omitempty" json:"items,omitempty"`
}

// BloomResult is the msgpack output of the edgerec_bloom export.
type BloomResult struct {
	// Filter is the serialized filter after BloomNew or BloomAdd; absent
	// after BloomCheck (the filter is unchanged).
	Filter []byte `msgpack:"filter,omitempty" json:"filter,omitempty"`
	// Contains reports, after BloomCheck, whether the filter may contain
	// each of the op's Items, in order; absent otherwise (and when there
	// were no items).
	Contains []bool `msgpack:"contains,omitempty" json:"contains,omitempty"`
}

// DecodeBloomOp decodes a msgpack BloomOp. Input over MaxBloomOpBytes,
// malformed msgpack, and lists over MaxBloomOpItems are refused before
// anything is built. Unknown keys are ignored. The op does not refer to b.
func DecodeBloomOp(b []byte) (*BloomOp, error) {
	if len(b) > MaxBloomOpBytes {
		return nil, fmt.Errorf("bloom: op is %d bytes, more than the limit of %d", len(b), MaxBloomOpBytes)
	}
	var op BloomOp
	if err := wire.UnmarshalLimit(b, &op, MaxBloomOpItems); err != nil {
		return nil, fmt.Errorf("bloom: malformed op: %w", err)
	}
	return &op, nil
}

// EncodeBloomOp encodes op as msgpack.
func EncodeBloomOp(op *BloomOp) ([]byte, error) { return wire.Marshal(op) }

// DecodeBloomResult decodes a msgpack BloomResult.
func DecodeBloomResult(b []byte) (*BloomResult, error) {
	var r BloomResult
	if err := wire.UnmarshalLimit(b, &r, MaxBloomOpItems); err != nil {
		return nil, fmt.Errorf("bloom: malformed result: %w", err)
	}
	return &r, nil
}

// EncodeBloomResult encodes r as msgpack.
func EncodeBloomResult(r *BloomResult) ([]byte, error) { return wire.Marshal(r) }
