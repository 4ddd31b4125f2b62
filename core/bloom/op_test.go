package bloom

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/edgerec/edgerec/core/wire"
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
		op   Op
		want OpResult
	}{
		{"new", Op{Op: OpNew, Expected: 100, FPRate: 0.01}, OpResult{Filter: emptyBytes}},
		{"add to a new filter", Op{Op: OpAdd, Expected: 100, FPRate: 0.01, Items: []string{"a", "b"}}, OpResult{Filter: withABBytes}},
		{"add to a filter", Op{Op: OpAdd, Filter: withABBytes, Items: []string{"c"}}, OpResult{Filter: withABCBytes}},
		{"add: the filter's parameters win", Op{Op: OpAdd, Expected: 5, FPRate: 0.5, Filter: withABBytes, Items: []string{"c"}}, OpResult{Filter: withABCBytes}},
		{"add again changes nothing", Op{Op: OpAdd, Filter: withABBytes, Items: []string{"b", "a"}}, OpResult{Filter: withABBytes}},
		{"add nothing", Op{Op: OpAdd, Filter: withABBytes}, OpResult{Filter: withABBytes}},
		{"check", Op{Op: OpCheck, Filter: withABBytes, Items: []string{"a", "z", "b", "café"}}, OpResult{Contains: []bool{true, false, true, false}}},
		{"check nothing", Op{Op: OpCheck, Filter: withABBytes}, OpResult{}},
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

	tooMany := make([]string, MaxOpItems+1)
	for i := range tooMany {
		tooMany[i] = fmt.Sprint(i)
	}
	for _, tc := range []struct {
		name   string
		op     *Op
		want   string
		format bool // a *FormatError
	}{
		{"nil", nil, "no op", false},
		{"no op", &Op{}, `unknown op ""`, false},
		{"unknown op", &Op{Op: "remove", Filter: withABBytes, Items: []string{"a"}}, `unknown op "remove", want "new", "add" or "check"`, false},
		{"new without parameters", &Op{Op: OpNew}, "n = 0", false},
		{"new with a bad rate", &Op{Op: OpNew, Expected: 10, FPRate: 2}, "p = 2", false},
		{"new too large", &Op{Op: OpNew, Expected: 1 << 30, FPRate: 0.01}, "more than the limit", false},
		{"new with items", &Op{Op: OpNew, Expected: 10, FPRate: 0.01, Items: []string{"a"}}, `takes no filter and no items`, false},
		{"new with a filter", &Op{Op: OpNew, Expected: 10, FPRate: 0.01, Filter: emptyBytes}, `takes no filter`, false},
		{"add without a filter or parameters", &Op{Op: OpAdd, Items: []string{"a"}}, "needs a filter, or expected and fp_rate", false},
		{"add with half the parameters", &Op{Op: OpAdd, Expected: 10, Items: []string{"a"}}, "p = 0", false},
		{"add to a malformed filter", &Op{Op: OpAdd, Filter: []byte("ERBF junk"), Items: []string{"a"}}, "malformed filter", true},
		{"add to a damaged filter", &Op{Op: OpAdd, Filter: append(withABBytes[:len(withABBytes)-1:len(withABBytes)-1], 0), Items: []string{"a"}}, "checksum", true},
		{"check without a filter", &Op{Op: OpCheck, Items: []string{"a"}}, `op "check" needs a filter`, false},
		{"check a malformed filter", &Op{Op: OpCheck, Filter: []byte{1, 2, 3}, Items: []string{"a"}}, "shorter than the 12-byte header", true},
		{"empty id", &Op{Op: OpAdd, Filter: withABBytes, Items: []string{"a", ""}}, "items[1] is empty", false},
		{"too many items", &Op{Op: OpCheck, Filter: withABBytes, Items: tooMany}, "4097 items, more than the limit of 4096", false},
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

func TestDecodeOp(t *testing.T) {
	op := &Op{Op: OpCheck, Expected: 3, FPRate: 0.25, Filter: []byte{1, 2}, Items: []string{"x", "y"}}
	b, err := EncodeOp(op)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeOp(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Op != op.Op || got.Expected != op.Expected || got.FPRate != op.FPRate || !bytes.Equal(got.Filter, op.Filter) || !slices.Equal(got.Items, op.Items) {
		t.Errorf("DecodeOp(EncodeOp(op)) = %+v, want %+v", got, op)
	}
	// Decoding copies: the op does not refer to the input.
	clear(b)
	if !bytes.Equal(got.Filter, []byte{1, 2}) || got.Items[0] != "x" {
		t.Error("the decoded op refers to its input")
	}

	// A browser's msgpack encoder may add keys this version does not know.
	withExtra, _ := wire.Marshal(map[string]any{"op": "new", "expected": 10, "fp_rate": 0.01, "client": "web-1.2"})
	if got, err := DecodeOp(withExtra); err != nil || got.Op != OpNew || got.Expected != 10 {
		t.Errorf("DecodeOp with an unknown key = %+v, %v", got, err)
	}

	longList := []byte{0x81, 0xa5, 'i', 't', 'e', 'm', 's', 0xdd, 0, 0, 0x10, 0x01} // array32 of 4097
	longList = append(longList, bytes.Repeat([]byte{0xa1, 'a'}, MaxOpItems+1)...)
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "malformed op: msgpack: unexpected end of input"},
		{"reserved byte", []byte{0xc1}, "malformed op"},
		{"not a map", []byte{0x92, 1, 2}, "malformed op"},
		{"trailing bytes", append(bytes.Clone(withExtra), 0), "trailing bytes"},
		{"declared length beyond the input", []byte{0x81, 0xa5, 'i', 't', 'e', 'm', 's', 0xdd, 0x7f, 0xff, 0xff, 0xff}, "malformed op"},
		{"too many items", longList, "4097 entries, more than the limit of 4096"},
		{"too large", make([]byte, MaxOpBytes+1), "op is 1048577 bytes, more than the limit of 1048576"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op, err := DecodeOp(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("DecodeOp = %+v, %v; want an error containing %q", op, err, tc.want)
			}
		})
	}
}

// TestApplyBytes: the export's whole path agrees with Apply, and its result
// decodes with DecodeResult.
func TestApplyBytes(t *testing.T) {
	ops := []*Op{
		{Op: OpNew, Expected: 50, FPRate: 0.02},
		{Op: OpAdd, Expected: 50, FPRate: 0.02, Items: []string{"a", "b", "日本"}},
	}
	added, _ := Apply(ops[1])
	ops = append(ops, &Op{Op: OpCheck, Filter: added.Filter, Items: []string{"a", "c", "日本"}})
	for _, op := range ops {
		in, _ := EncodeOp(op)
		got, err := ApplyBytes(in)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Apply(op)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := EncodeResult(res)
		if !bytes.Equal(got, want) {
			t.Errorf("op %s: ApplyBytes = %x, want %x", op.Op, got, want)
		}
		dec, err := DecodeResult(got)
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
	if _, err := ApplyBytes(mustEncode(t, &Op{Op: "x"})); err == nil {
		t.Error("ApplyBytes accepted an unknown op")
	}
}

func mustEncode(tb testing.TB, op *Op) []byte {
	tb.Helper()
	b, err := EncodeOp(op)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
