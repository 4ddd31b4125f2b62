package api

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"

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
		r.RequestID = []string{"r", "0a1b2c3d-42", strings.Repeat("z", MaxRequestIDLen)}[rng.IntN(3)]
	}
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

// TestStampRequestID: stamping an id into a response written without one
// gives exactly the bytes AppendResponse writes for the response with the
// id; a response with an id gives that id back, unchanged.
func TestStampRequestID(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range 500 {
		r := randomResponse(rng)
		r.RequestID = ""
		plain := AppendResponse(nil, r)
		id := fmt.Sprintf("host-%d", i)
		got, gotID := StampRequestID(plain, id)
		r.RequestID = id
		want := AppendResponse(nil, r)
		require.Equal(t, id, gotID)
		require.Equal(t, want, got, "response %d", i)

		again, againID := StampRequestID(want, "other")
		assert.Equal(t, id, againID)
		assert.Equal(t, want, again)
		dec, err := DecodeResponse(got)
		require.NoError(t, err)
		assert.Equal(t, id, dec.RequestID)
	}
	t.Run("not stamped", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			b    []byte
			id   string
		}{
			{"empty", nil, "x"},
			{"map16", []byte{0xde, 0, 1, 0xa1, 'k', 1}, "x"},
			{"invalid id", AppendResponse(nil, &Response{}), "has space"},
			{"full fixmap", append([]byte{0x8f}, make([]byte, 30)...), "x"},
			{"truncated id", append(append([]byte{0x81}, requestIDKey...), 0xa5, 'a'), "x"},
		} {
			got, id := StampRequestID(tc.b, tc.id)
			assert.Equal(t, tc.b, got, tc.name)
			assert.Empty(t, id, tc.name)
		}
	})
}

// FuzzStampRequestID: any bytes give a result, never a panic, and a stamp
// of a response that decodes decodes with the id.
func FuzzStampRequestID(f *testing.F) {
	f.Add(AppendResponse(nil, &Response{BundleVersion: "v", Items: []Item{{ID: "a"}}}), "id-1")
	f.Add(AppendResponse(nil, &Response{RequestID: "r", BundleVersion: "v"}), "id-2")
	f.Fuzz(func(t *testing.T, b []byte, id string) {
		out, got := StampRequestID(b, id)
		if got == "" {
			return
		}
		if _, err := DecodeResponse(b); err != nil {
			return
		}
		r, err := DecodeResponse(out)
		if err != nil {
			t.Fatalf("stamped response does not decode: %v", err)
		}
		if r.RequestID != got {
			t.Fatalf("stamped %q, decoded %q", got, r.RequestID)
		}
	})
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

// TestRequestIDMatchesMsgpack holds the request id's encoding both ways to
// msgpack/v5, the reference the codec is tested against (core/wire).
func TestRequestIDMatchesMsgpack(t *testing.T) {
	ref, err := msgpack.Marshal(&Request{RequestID: "ref-1", K: 3})
	require.NoError(t, err)
	r, err := DecodeRequest(ref)
	require.NoError(t, err)
	assert.Equal(t, "ref-1", r.RequestID)

	var back Response
	require.NoError(t, msgpack.Unmarshal(AppendResponse(nil, &Response{RequestID: "ref-2", BundleVersion: "v"}), &back))
	assert.Equal(t, "ref-2", back.RequestID)
	stamped, _ := StampRequestID(AppendResponse(nil, &Response{BundleVersion: "v"}), "ref-3")
	back = Response{}
	require.NoError(t, msgpack.Unmarshal(stamped, &back))
	assert.Equal(t, Response{RequestID: "ref-3", BundleVersion: "v"}, back)
}
