package bloom

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/edgerec/edgerec/core/api"
)

// FuzzDecode feeds arbitrary bytes to Decode: it must return a filter or a
// *FormatError, never panic, and a filter it accepts must re-encode to the
// very same bytes (the form is canonical) and decode again. NewView must
// accept exactly what Decode accepts and answer as the filter does.
func FuzzDecode(f *testing.F) {
	good, err := os.ReadFile(golden)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(good[:HeaderSize])
	f.Add([]byte(Magic))
	f.Add(build(1, 30, 0, 64, 1))
	f.Add(build(2, 7, 0, 128, 2))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := Decode(data)
		v, verr := NewView(data)
		if (err == nil) != (verr == nil) {
			t.Fatalf("Decode: %v, NewView: %v", err, verr)
		}
		if err != nil {
			if _, ok := err.(*FormatError); !ok {
				t.Fatalf("error %v is a %T, want a *FormatError", err, err)
			}
			return
		}
		if v.M() != g.M() || v.EstimatedFPRate() != g.EstimatedFPRate() {
			t.Fatalf("view m = %d, rate %v; filter m = %d, rate %v", v.M(), v.EstimatedFPRate(), g.M(), g.EstimatedFPRate())
		}
		for i := range 64 {
			id := fmt.Sprint("item-", i)
			if v.MayContain(id) != g.MayContain(id) {
				t.Fatalf("MayContain(%q): view %v, filter %v", id, v.MayContain(id), g.MayContain(id))
			}
		}
		enc, err := g.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded filter does not re-encode: %v", err)
		}
		if !bytes.Equal(enc, data) {
			t.Fatalf("decode → encode changed the bytes:\n in  %x\n out %x", data, enc)
		}
		again, err := Decode(enc)
		if err != nil {
			t.Fatalf("re-encoded filter does not decode: %v", err)
		}
		if again.M() != g.M() || again.K() != g.K() || !slices.Equal(again.words, g.words) {
			t.Fatal("decode → encode → decode changed the filter")
		}
	})
}

// FuzzApplyBytes feeds arbitrary bytes to the export's whole path: it must
// never panic, and a result it returns must decode.
func FuzzApplyBytes(f *testing.F) {
	good, err := os.ReadFile(golden)
	if err != nil {
		f.Fatal(err)
	}
	for _, op := range []*api.BloomOp{
		{Op: api.BloomNew, Expected: 10, FPRate: 0.01},
		{Op: api.BloomAdd, Filter: good, Items: []string{"a", "b"}},
		{Op: api.BloomAdd, Expected: 3, FPRate: 0.5, Items: []string{"x"}},
		{Op: api.BloomCheck, Filter: good, Items: []string{"item-1", "zzz"}},
	} {
		b, err := api.EncodeBloomOp(op)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := ApplyBytes(data)
		if err != nil {
			return
		}
		if _, err := api.DecodeBloomResult(out); err != nil {
			t.Fatalf("result does not decode: %v", err)
		}
	})
}
