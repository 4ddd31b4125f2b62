package bloom

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/edgerec/edgerec/core/api"
)

func mustMarshal(tb testing.TB, f *Filter) []byte {
	tb.Helper()
	b, err := f.MarshalBinary()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestApply(t *testing.T) {
	empty, _ := New(100, 0.01)
	emptyBytes := mustMarshal(t, empty)
	withAB, _ := New(100, 0.01)
	withAB.Add("a")
	withAB.Add("b")
	withABBytes := mustMarshal(t, withAB)
	withABC, _ := New(100, 0.01)
	for _, id := range []string{"a", "b", "c"} {
		withABC.Add(id)
	}
	withABCBytes := mustMarshal(t, withABC)

	for _, tc := range []struct {
		name string
		op   api.BloomOp
		want api.BloomResult
	}{
		{"new", api.BloomOp{Op: api.BloomNew, Expected: 100, FPRate: 0.01}, api.BloomResult{Filter: emptyBytes}},
		{"add to a new filter", api.BloomOp{Op: api.BloomAdd, Expected: 100, FPRate: 0.01, Items: []string{"a", "b"}}, api.BloomResult{Filter: withABBytes}},
		{"add to a filter", api.BloomOp{Op: api.BloomAdd, Filter: withABBytes, Items: []string{"c"}}, api.BloomResult{Filter: withABCBytes}},
		{"add: the filter's parameters win", api.BloomOp{Op: api.BloomAdd, Expected: 5, FPRate: 0.5, Filter: withABBytes, Items: []string{"c"}}, api.BloomResult{Filter: withABCBytes}},
		{"add again changes nothing", api.BloomOp{Op: api.BloomAdd, Filter: withABBytes, Items: []string{"b", "a"}}, api.BloomResult{Filter: withABBytes}},
		{"add nothing", api.BloomOp{Op: api.BloomAdd, Filter: withABBytes}, api.BloomResult{Filter: withABBytes}},
		{"check", api.BloomOp{Op: api.BloomCheck, Filter: withABBytes, Items: []string{"a", "z", "b", "café"}}, api.BloomResult{Contains: []bool{true, false, true, false}}},
		{"check nothing", api.BloomOp{Op: api.BloomCheck, Filter: withABBytes}, api.BloomResult{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Apply(&tc.op)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Filter, tc.want.Filter) || !slices.Equal(got.Contains, tc.want.Contains) {
				t.Errorf("Apply = {filter %x, contains %v}, want {filter %x, contains %v}", got.Filter, got.Contains, tc.want.Filter, tc.want.Contains)
			}
		})
	}

	tooMany := make([]string, api.MaxBloomOpItems+1)
	for i := range tooMany {
		tooMany[i] = fmt.Sprint(i)
	}
	for _, tc := range []struct {
		name   string
		op     *api.BloomOp
		want   string
		format bool // a *FormatError
	}{
		{"nil", nil, "no op", false},
		{"no op", &api.BloomOp{}, `unknown op ""`, false},
		{"unknown op", &api.BloomOp{Op: "remove", Filter: withABBytes, Items: []string{"a"}}, `unknown op "remove", want "new", "add" or "check"`, false},
		{"new without parameters", &api.BloomOp{Op: api.BloomNew}, "n = 0", false},
		{"new with a bad rate", &api.BloomOp{Op: api.BloomNew, Expected: 10, FPRate: 2}, "p = 2", false},
		{"new too large", &api.BloomOp{Op: api.BloomNew, Expected: 1 << 30, FPRate: 0.01}, "more than the limit", false},
		{"new with items", &api.BloomOp{Op: api.BloomNew, Expected: 10, FPRate: 0.01, Items: []string{"a"}}, `takes no filter and no items`, false},
		{"new with a filter", &api.BloomOp{Op: api.BloomNew, Expected: 10, FPRate: 0.01, Filter: emptyBytes}, `takes no filter`, false},
		{"add without a filter or parameters", &api.BloomOp{Op: api.BloomAdd, Items: []string{"a"}}, "needs a filter, or expected and fp_rate", false},
		{"add with half the parameters", &api.BloomOp{Op: api.BloomAdd, Expected: 10, Items: []string{"a"}}, "p = 0", false},
		{"add to a malformed filter", &api.BloomOp{Op: api.BloomAdd, Filter: []byte("ERBF junk"), Items: []string{"a"}}, "malformed filter", true},
		{"add to a damaged filter", &api.BloomOp{Op: api.BloomAdd, Filter: append(withABBytes[:len(withABBytes)-1:len(withABBytes)-1], 0), Items: []string{"a"}}, "checksum", true},
		{"check without a filter", &api.BloomOp{Op: api.BloomCheck, Items: []string{"a"}}, `op "check" needs a filter`, false},
		{"check a malformed filter", &api.BloomOp{Op: api.BloomCheck, Filter: []byte{1, 2, 3}, Items: []string{"a"}}, "shorter than the 12-byte header", true},
		{"empty id", &api.BloomOp{Op: api.BloomAdd, Filter: withABBytes, Items: []string{"a", ""}}, "items[1] is empty", false},
		{"too many items", &api.BloomOp{Op: api.BloomCheck, Filter: withABBytes, Items: tooMany}, "4097 items, more than the limit of 4096", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Apply(tc.op)
			if err == nil {
				t.Fatalf("Apply = %+v, want an error", res)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "bloom: ") {
				t.Errorf("error %q, want one starting with \"bloom: \" and containing %q", err, tc.want)
			}
			var fe *FormatError
			if errors.As(err, &fe) != tc.format {
				t.Errorf("error %v: *FormatError = %v, want %v", err, !tc.format, tc.format)
			}
		})
	}
}

// TestApplyBytes: the export's whole path agrees with Apply, and its result
// decodes with DecodeResult.
func TestApplyBytes(t *testing.T) {
	ops := []*api.BloomOp{
		{Op: api.BloomNew, Expected: 50, FPRate: 0.02},
		{Op: api.BloomAdd, Expected: 50, FPRate: 0.02, Items: []string{"a", "b", "日本"}},
	}
	added, _ := Apply(ops[1])
	ops = append(ops, &api.BloomOp{Op: api.BloomCheck, Filter: added.Filter, Items: []string{"a", "c", "日本"}})
	for _, op := range ops {
		in, _ := api.EncodeBloomOp(op)
		got, err := ApplyBytes(in)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Apply(op)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := api.EncodeBloomResult(res)
		if !bytes.Equal(got, want) {
			t.Errorf("op %s: ApplyBytes = %x, want %x", op.Op, got, want)
		}
		dec, err := api.DecodeBloomResult(got)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(dec.Filter, res.Filter) || !slices.Equal(dec.Contains, res.Contains) {
			t.Errorf("op %s: DecodeResult = %+v, want %+v", op.Op, dec, res)
		}
	}
	if _, err := ApplyBytes([]byte{0xc1}); err == nil {
		t.Error("ApplyBytes accepted malformed msgpack")
	}
	if _, err := ApplyBytes(mustEncode(t, &api.BloomOp{Op: "x"})); err == nil {
		t.Error("ApplyBytes accepted an unknown op")
	}
}

func mustEncode(tb testing.TB, op *api.BloomOp) []byte {
	tb.Helper()
	b, err := api.EncodeBloomOp(op)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
