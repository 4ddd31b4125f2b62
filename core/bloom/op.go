package bloom

import (
	"errors"
	"fmt"

	"github.com/edgerec/edgerec/core/wire"
)

// Operations of an Op.
const (
	OpNew   = "new"   // make an empty filter from Expected and FPRate
	OpAdd   = "add"   // add Items to Filter (or to a new filter) and return it
	OpCheck = "check" // report which Items Filter may contain
)

// Limits on an Op.
const (
	// MaxOpItems is the most items one Op may carry; longer lists (and any
	// list or map longer than this in the encoding) are refused before they
	// are decoded.
	MaxOpItems = 4096
	// MaxOpBytes is the largest encoded Op accepted (1 MiB): a filter of
	// MaxBytes plus MaxOpItems ids of 120 bytes on average.
	MaxOpBytes = 1 << 20
)

// Op is one filter operation, the msgpack input of the module's
// edgerec_bloom export (wasm/ABI.md), so that a browser or app can keep its
// consumed-items filter without reimplementing the hashing. Apply runs it.
type Op struct {
	// Op is OpNew, OpAdd or OpCheck.
	Op string `msgpack:"op" json:"op"`
	// Expected and FPRate size a new filter (New's n and p): required by
	// OpNew, and by OpAdd without a Filter; ignored otherwise.
	Expected int     `msgpack:"expected,omitempty" json:"expected,omitempty"`
	FPRate   float64 `msgpack:"fp_rate,omitempty" json:"fp_rate,omitempty"`
	// Filter is a serialized filter (MarshalBinary): required by OpCheck,
	// optional for OpAdd, refused by OpNew.
	Filter []byte `msgpack:"filter,omitempty" json:"filter,omitempty"`
	// Items are item ids (external ids, non-empty), at most MaxOpItems:
	// added by OpAdd, looked up by OpCheck, refused by OpNew.
	Items []string `msgpack:"items,omitempty" json:"items,omitempty"`
}

// OpResult is the msgpack output of the edgerec_bloom export.
type OpResult struct {
	// Filter is the serialized filter after OpNew or OpAdd; absent after
	// OpCheck (the filter is unchanged).
	Filter []byte `msgpack:"filter,omitempty" json:"filter,omitempty"`
	// Contains reports, after OpCheck, MayContain for each of the Op's
	// Items, in order; absent otherwise (and when there were no items).
	Contains []bool `msgpack:"contains,omitempty" json:"contains,omitempty"`
}

// Apply runs op:
//
//   - OpNew returns an empty filter sized by Expected and FPRate (see New).
//   - OpAdd decodes Filter, or makes a new filter from Expected and FPRate
//     when Filter is empty, adds Items, and returns the filter.
//   - OpCheck decodes Filter and returns MayContain for each of Items.
//
// A missing or malformed field gives an error (a *FormatError for bad
// Filter bytes); Apply never panics on any Op.
func Apply(op *Op) (*OpResult, error) {
	if op == nil {
		return nil, errors.New("bloom: no op")
	}
	if len(op.Items) > MaxOpItems {
		return nil, fmt.Errorf("bloom: %d items, more than the limit of %d", len(op.Items), MaxOpItems)
	}
	for i, id := range op.Items {
		if id == "" {
			return nil, fmt.Errorf("bloom: items[%d] is empty", i)
		}
	}
	switch op.Op {
	case OpNew:
		if len(op.Filter) > 0 || len(op.Items) > 0 {
			return nil, fmt.Errorf("bloom: op %q takes no filter and no items (use %q to add items)", OpNew, OpAdd)
		}
		f, err := New(op.Expected, op.FPRate)
		if err != nil {
			return nil, err
		}
		return marshalResult(f)
	case OpAdd:
		var f *Filter
		var err error
		switch {
		case len(op.Filter) > 0:
			f, err = Decode(op.Filter)
		case op.Expected == 0 && op.FPRate == 0:
			return nil, fmt.Errorf("bloom: op %q needs a filter, or expected and fp_rate to make one", OpAdd)
		default:
			f, err = New(op.Expected, op.FPRate)
		}
		if err != nil {
			return nil, err
		}
		for _, id := range op.Items {
			f.Add(id)
		}
		return marshalResult(f)
	case OpCheck:
		if len(op.Filter) == 0 {
			return nil, fmt.Errorf("bloom: op %q needs a filter", OpCheck)
		}
		f, err := Decode(op.Filter)
		if err != nil {
			return nil, err
		}
		res := &OpResult{}
		if len(op.Items) > 0 {
			res.Contains = make([]bool, len(op.Items))
			for i, id := range op.Items {
				res.Contains[i] = f.MayContain(id)
			}
		}
		return res, nil
	}
	return nil, fmt.Errorf("bloom: unknown op %q, want %q, %q or %q", op.Op, OpNew, OpAdd, OpCheck)
}

func marshalResult(f *Filter) (*OpResult, error) {
	b, err := f.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return &OpResult{Filter: b}, nil
}

// DecodeOp decodes a msgpack Op. Input over MaxOpBytes, malformed msgpack,
// and lists over MaxOpItems are refused before anything is built. Unknown
// keys are ignored. The Op does not refer to b.
func DecodeOp(b []byte) (*Op, error) {
	if len(b) > MaxOpBytes {
		return nil, fmt.Errorf("bloom: op is %d bytes, more than the limit of %d", len(b), MaxOpBytes)
	}
	var op Op
	if err := wire.UnmarshalLimit(b, &op, MaxOpItems); err != nil {
		return nil, fmt.Errorf("bloom: malformed op: %w", err)
	}
	return &op, nil
}

// EncodeOp encodes op as msgpack.
func EncodeOp(op *Op) ([]byte, error) { return wire.Marshal(op) }

// DecodeResult decodes a msgpack OpResult.
func DecodeResult(b []byte) (*OpResult, error) {
	var r OpResult
	if err := wire.UnmarshalLimit(b, &r, MaxOpItems); err != nil {
		return nil, fmt.Errorf("bloom: malformed result: %w", err)
	}
	return &r, nil
}

// EncodeResult encodes r as msgpack.
func EncodeResult(r *OpResult) ([]byte, error) { return wire.Marshal(r) }

// ApplyBytes is DecodeOp, Apply and EncodeResult in one: the whole of the
// edgerec_bloom export, for hosts that run it natively.
func ApplyBytes(b []byte) ([]byte, error) {
	op, err := DecodeOp(b)
	if err != nil {
		return nil, err
	}
	res, err := Apply(op)
	if err != nil {
		return nil, err
	}
	return EncodeResult(res)
}
