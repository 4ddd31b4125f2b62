package api

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/edgerec/edgerec/core/wire"
)

func TestDecodeBloomOp(t *testing.T) {
	op := &BloomOp{Op: BloomCheck, Expected: 3, FPRate: 0.25, Filter: []byte{1, 2}, Items: []string{"x", "y"}}
	b, err := EncodeBloomOp(op)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeBloomOp(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Op != op.Op || got.Expected != op.Expected || got.FPRate != op.FPRate || !bytes.Equal(got.Filter, op.Filter) || !slices.Equal(got.Items, op.Items) {
		t.Errorf("DecodeBloomOp(EncodeBloomOp(op)) = %+v, want %+v", got, op)
	}
	// Decoding copies: the op does not refer to the input.
	clear(b)
	if !bytes.Equal(got.Filter, []byte{1, 2}) || got.Items[0] != "x" {
		t.Error("the decoded op refers to its input")
	}

	// A browser's msgpack encoder may add keys this version does not know.
	withExtra, _ := wire.Marshal(map[string]any{"op": "new", "expected": 10, "fp_rate": 0.01, "client": "web-1.2"})
	if got, err := DecodeBloomOp(withExtra); err != nil || got.Op != BloomNew || got.Expected != 10 {
		t.Errorf("DecodeOp with an unknown key = %+v, %v", got, err)
	}

	longList := []byte{0x81, 0xa5, 'i', 't', 'e', 'm', 's', 0xdd, 0, 0, 0x10, 0x01} // array32 of 4097
	longList = append(longList, bytes.Repeat([]byte{0xa1, 'a'}, MaxBloomOpItems+1)...)
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
		{"too large", make([]byte, MaxBloomOpBytes+1), "op is 1048577 bytes, more than the limit of 1048576"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op, err := DecodeBloomOp(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("DecodeOp = %+v, %v; want an error containing %q", op, err, tc.want)
			}
		})
	}
}
