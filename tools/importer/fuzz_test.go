package importer

import (
	"encoding/json"
	"slices"
	"testing"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// FuzzDecodeSafetensors: any input gives tensors or an error, never a
// panic; what decodes re-encodes (as F32) and decodes to the same values.
func FuzzDecodeSafetensors(f *testing.F) {
	f.Add(EncodeSafetensors(testTensors(testSpec(), 1)))
	f.Add(stWith(`{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"__metadata__":{"a":"b"}}`, 4))
	f.Add(stWith(`{"w":{"dtype":"BF16","shape":[],"data_offsets":[0,2]}}`, 2))
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, err := DecodeSafetensors(data)
		if err != nil {
			return
		}
		again, err := DecodeSafetensors(EncodeSafetensors(ts))
		if err != nil {
			t.Fatalf("re-encoded tensors do not decode: %v", err)
		}
		roundTripEqual(t, ts, again)
	})
}

// FuzzDecodeNPZ: as FuzzDecodeSafetensors, for .npz archives and the .npy
// headers inside.
func FuzzDecodeNPZ(f *testing.F) {
	f.Add(EncodeNPZ(testTensors(testSpec(), 1)))
	f.Add(EncodeNPZ(Tensors{"s": {Shape: []int{}, Data: []float32{1}}, "v": {Shape: []int{3}, Data: []float32{1, 2, 3}}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, err := DecodeNPZ(data)
		if err != nil {
			return
		}
		again, err := DecodeNPZ(EncodeNPZ(ts))
		if err != nil {
			t.Fatalf("re-encoded arrays do not decode: %v", err)
		}
		roundTripEqual(t, ts, again)
	})
}

// FuzzDecodeNPY fuzzes the .npy reader alone (its header parser).
func FuzzDecodeNPY(f *testing.F) {
	for _, h := range []string{
		"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1), }",
		"{'descr': '<f2', 'fortran_order': True, 'shape': (1, 2), }",
		"{\"descr\": \"<f8\", \"shape\": (1,), \"fortran_order\": False}",
	} {
		b := append([]byte("\x93NUMPY\x01\x00"), byte(len(h)), 0)
		f.Add(append(append(b, h...), make([]byte, 8)...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if tn, err := DecodeNPY(data); err == nil {
			n, err := elements(tn.Shape)
			if err != nil || n != len(tn.Data) {
				t.Fatalf("shape %v holds %d values (%v)", tn.Shape, len(tn.Data), err)
			}
		}
	})
}

// FuzzDecodeSpec: any input gives a valid spec or an error; a spec that
// decodes imports from tensors made for it.
func FuzzDecodeSpec(f *testing.F) {
	b, _ := json.Marshal(testSpec())
	f.Add(b)
	f.Add([]byte(`{"format":"edgerec-tower-spec","version":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := DecodeSpec(data)
		if err != nil {
			return
		}
		if s.queryInput() > 1<<10 || s.itemInput() > 1<<10 || len(s.Items.Values) > 1<<12 || s.Item.TokenBuckets > 1<<12 {
			return // valid, but too large to build in a fuzz iteration
		}
		for _, f := range s.Query.Fields {
			if len(f.Vocab.Values) > 1<<12 {
				return
			}
		}
		if s.Items.File != "" || s.Categories.File != "" {
			return
		}
		for _, f := range s.Query.Fields {
			if f.Vocab.File != "" {
				return
			}
		}
		if _, err := Import(s, testTensors(s, 1), Options{}); err != nil {
			t.Fatalf("a decoded spec does not import from its own tensors: %v", err)
		}
	})
}

func roundTripEqual(t *testing.T, a, b Tensors) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%d tensors, then %d", len(a), len(b))
	}
	for name, x := range a {
		y := b[name]
		if y == nil || shapeString(x.Shape) != shapeString(y.Shape) || !slices.Equal(x.Data, y.Data) {
			t.Fatalf("tensor %q changed in a round trip", name)
		}
	}
}
