package api

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/edgerec/edgerec/core/wire"
)

// randomResponse covers every field, empty and present, and the size
// classes of strings, lists and integers.
func randomResponse(rng *rand.Rand) *Response {
	str := func() string {
		return strings.Repeat("x", []int{0, 1, 31, 32, 255, 256, 70000}[rng.IntN(7)])
	}
	num := func() int64 {
		return []int64{0, 1, 127, 128, 255, 256, 65535, 65536, 1 << 32, -1, -32, -33, -128, -129, -32768, -32769, math.MinInt32 - 1, rng.Int64() - math.MaxInt64/2}[rng.IntN(18)]
	}
	r := &Response{BundleVersion: str()}
	if rng.IntN(2) == 0 {
		r.Arm = str()
	}
	if rng.IntN(3) == 0 {
		r.Warnings = make([]string, rng.IntN(3))
		for i := range r.Warnings {
			r.Warnings[i] = str()
		}
	}
	if rng.IntN(2) == 0 {
		r.UnknownItems = int(num())
	}
	if rng.IntN(5) > 0 {
		r.Items = make([]Item, []int{0, 3, 15, 16, 300}[rng.IntN(5)])
		for i := range r.Items {
			r.Items[i] = Item{ID: fmt.Sprintf("i%d", rng.IntN(1000)), Score: float32(rng.NormFloat64()), Source: "two_tower"}
			if rng.IntN(3) == 0 {
				r.Items[i].Because = str()
			}
			r.Items[i].Backfill = rng.IntN(4) == 0
		}
	}
	if rng.IntN(2) == 0 {
		r.Debug = &Debug{UnknownItems: int(num()), Truncated: int(num()), Examined: int(num())}
		if rng.IntN(4) > 0 {
			r.Debug.Stages = make([]Stage, rng.IntN(20))
			for i := range r.Debug.Stages {
				r.Debug.Stages[i] = Stage{Name: str(), In: int(num()), Out: int(num()), Micros: num()}
			}
		}
	}
	return r
}

// TestAppendResponseMatchesReflection holds the direct writer to the bytes
// of the reflective encoder, on random responses.
func TestAppendResponseMatchesReflection(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 2000 {
		r := randomResponse(rng)
		want, err := wire.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendResponse(nil, r); !bytes.Equal(got, want) {
			t.Fatalf("response %d: %d bytes, reflection gives %d\ngot  % x\nwant % x", i, len(got), len(want), got[:min(len(got), 64)], want[:min(len(want), 64)])
		}
	}
}

// BenchmarkEncodeResponse compares the reflective encoder with
// AppendResponse on a typical response. In wazero:
//
//	GOOS=wasip1 GOARCH=wasm go test -exec "$(go env GOROOT)/lib/wasm/go_wasip1_wasm_exec" -run '^$' -bench EncodeResponse ./core/api
func BenchmarkEncodeResponse(b *testing.B) {
	resp := &Response{BundleVersion: "bench-100000-64-1", Debug: &Debug{}}
	for i := range 20 {
		resp.Items = append(resp.Items, Item{ID: fmt.Sprintf("i%07d", i*17), Score: float32(i) * 0.37, Source: "two_tower"})
	}
	for _, n := range []string{"embed", "retrieve", "sources+filter", "rank", "order"} {
		resp.Debug.Stages = append(resp.Debug.Stages, Stage{Name: n, In: 100000, Out: 200, Micros: 123})
	}
	b.Run("reflection", func(b *testing.B) {
		for b.Loop() {
			if _, err := wire.Marshal(resp); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("append", func(b *testing.B) {
		for b.Loop() {
			AppendResponse(nil, resp)
		}
	})
}
