package bloom

import (
	"errors"
	"fmt"

	"github.com/edgerec/edgerec/core/api"
)

// The filter operation of the module's edgerec_bloom export: the message
// (its fields, limits and msgpack codec) is api.BloomOp, part of the
// contract between the module and its hosts; this package runs it.

// Apply runs op:
//
//   - api.BloomNew returns an empty filter sized by Expected and FPRate
//     (see New).
//   - api.BloomAdd decodes Filter, or makes a new filter from Expected and
//     FPRate when Filter is empty, adds Items, and returns the filter.
//   - api.BloomCheck decodes Filter and returns MayContain for each of
//     Items.
//
// A missing or malformed field gives an error (a *FormatError for bad
// Filter bytes); Apply never panics on any op.
func Apply(op *api.BloomOp) (*api.BloomResult, error) {
	if op == nil {
		return nil, errors.New("bloom: no op")
	}
	if len(op.Items) > api.MaxBloomOpItems {
		return nil, fmt.Errorf("bloom: %d items, more than the limit of %d", len(op.Items), api.MaxBloomOpItems)
	}
	for i, id := range op.Items {
		if id == "" {
			return nil, fmt.Errorf("bloom: items[%d] is empty", i)
		}
	}
	switch op.Op {
	case api.BloomNew:
		if len(op.Filter) > 0 || len(op.Items) > 0 {
			return nil, fmt.Errorf("bloom: op %q takes no filter and no items (use %q to add items)", api.BloomNew, api.BloomAdd)
		}
		f, err := New(op.Expected, op.FPRate)
		if err != nil {
			return nil, err
		}
		return marshalResult(f)
	case api.BloomAdd:
		var f *Filter
		var err error
		switch {
		case len(op.Filter) > 0:
			f, err = Decode(op.Filter)
		case op.Expected == 0 && op.FPRate == 0:
			return nil, fmt.Errorf("bloom: op %q needs a filter, or expected and fp_rate to make one", api.BloomAdd)
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
	case api.BloomCheck:
		if len(op.Filter) == 0 {
			return nil, fmt.Errorf("bloom: op %q needs a filter", api.BloomCheck)
		}
		f, err := Decode(op.Filter)
		if err != nil {
			return nil, err
		}
		res := &api.BloomResult{}
		if len(op.Items) > 0 {
			res.Contains = make([]bool, len(op.Items))
			for i, id := range op.Items {
				res.Contains[i] = f.MayContain(id)
			}
		}
		return res, nil
	}
	return nil, fmt.Errorf("bloom: unknown op %q, want %q, %q or %q", op.Op, api.BloomNew, api.BloomAdd, api.BloomCheck)
}

func marshalResult(f *Filter) (*api.BloomResult, error) {
	b, err := f.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return &api.BloomResult{Filter: b}, nil
}

// ApplyBytes is api.DecodeBloomOp, Apply and api.EncodeBloomResult in one:
// the whole of the edgerec_bloom export, for hosts that run it natively.
func ApplyBytes(b []byte) ([]byte, error) {
	op, err := api.DecodeBloomOp(b)
	if err != nil {
		return nil, err
	}
	res, err := Apply(op)
	if err != nil {
		return nil, err
	}
	return api.EncodeBloomResult(res)
}
