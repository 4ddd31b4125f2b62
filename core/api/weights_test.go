package api

import (
	"testing"

	"github.com/edgerec/edgerec/core/wire"
)

// TestWeightsAnyNumber: weights written as float64, float32 or integers
// (as JavaScript and Python msgpack writers do) decode to the same float32.
func TestWeightsAnyNumber(t *testing.T) {
	for _, c := range []struct {
		name string
		in   map[string]any
	}{
		{"float64", map[string]any{"a": float64(0.5), "b": float64(2), "c": float64(0)}},
		{"float32", map[string]any{"a": float32(0.5), "b": float32(2), "c": float32(0)}},
		{"ints", map[string]any{"a": float32(0.5), "b": int8(2), "c": uint64(0)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := wire.Marshal
			enc, err := b(map[string]any{"sources": c.in})
			if err != nil {
				t.Fatal(err)
			}
			r, err := DecodeRequest(enc)
			if err != nil {
				t.Fatal(err)
			}
			want := Weights{"a": 0.5, "b": 2, "c": 0}
			if len(r.Sources) != len(want) {
				t.Fatalf("sources %v, want %v", r.Sources, want)
			}
			for k, v := range want {
				if r.Sources[k] != v {
					t.Fatalf("sources %v, want %v", r.Sources, want)
				}
			}
		})
	}
	if _, err := DecodeRequest(mustEnc(t, map[string]any{"sources": map[string]any{"a": "x"}})); err == nil {
		t.Fatal("a string weight was accepted")
	}
	r, err := DecodeRequest(mustEnc(t, map[string]any{"sources": nil}))
	if err != nil || r.Sources != nil {
		t.Fatalf("nil sources: %v, %v", r, err)
	}
}

func mustEnc(t *testing.T, v any) []byte {
	t.Helper()
	b, err := wire.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
