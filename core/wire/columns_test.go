package wire

import (
	"bytes"
	"io"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// Named slice types are not registered, so msgpack decodes them through
// reflection: the reference for the registered column decoders.
type (
	refF32  []float32
	refI32  []int32
	refU32  []uint32
	refI64  []int64
	refBool []bool
	refStr  []string
)

type columns struct {
	F32  []float32 `msgpack:"f"`
	I32  []int32   `msgpack:"i"`
	U32  []uint32  `msgpack:"u"`
	I64  []int64   `msgpack:"l"`
	Bool []bool    `msgpack:"b"`
	Str  Strings   `msgpack:"s"`
}

type refColumns struct {
	F32  refF32  `msgpack:"f"`
	I32  refI32  `msgpack:"i"`
	U32  refU32  `msgpack:"u"`
	I64  refI64  `msgpack:"l"`
	Bool refBool `msgpack:"b"`
	Str  refStr  `msgpack:"s"`
}

// randomColumn encodes an array (or nil, or a non-array) of mixed numeric
// encodings, some of which a column type refuses.
func randomColumn(rng *rand.Rand) any {
	switch rng.IntN(8) {
	case 0:
		return nil
	case 1:
		return "not an array"
	}
	n := rng.IntN(20)
	out := make([]any, n)
	for i := range out {
		switch rng.IntN(13) {
		case 0:
			out[i] = float32(rng.NormFloat64())
		case 1:
			out[i] = rng.NormFloat64()
		case 2:
			out[i] = int64(rng.IntN(300)) - 150
		case 3:
			out[i] = uint64(rng.Uint32())
		case 4:
			out[i] = rng.Int64() - 1<<62
		case 5:
			out[i] = rng.IntN(2) == 0
		case 6:
			out[i] = nil
		case 7:
			out[i] = "x"
		case 8:
			out[i] = ""
		case 9:
			out[i] = []byte("bin·ära")
		case 10:
			out[i] = string(make([]byte, rng.IntN(70000)))
		case 11:
			out[i] = uint64(1<<63) + rng.Uint64()>>1
		default:
			out[i] = int8(rng.IntN(100))
		}
	}
	// A column of one encoding is what bundles hold: make most arrays so.
	if rng.IntN(3) > 0 && n > 0 {
		for i := range out {
			out[i] = out[0]
		}
	}
	return out
}

// TestColumnsMatchReflection decodes random arrays into the registered
// slice types and into unregistered ones and wants the same values, or an
// error from both.
func TestColumnsMatchReflection(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range 5000 {
		m := map[string]any{}
		for _, k := range []string{"f", "i", "u", "l", "b", "s"} {
			m[k] = randomColumn(rng)
		}
		b, err := msgpack.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var want refColumns
		wantErr := msgpack.Unmarshal(b, &want)
		// Both paths of the column decoders: the fast one over Unmarshal's
		// sliceReader and the Decoder's methods over any other reader.
		for _, r := range []io.Reader{&sliceReader{b: b}, bytes.NewReader(b)} {
			var got columns
			gotErr := msgpack.NewDecoder(r).Decode(&got)
			if (gotErr != nil) != (wantErr != nil) {
				t.Fatalf("case %d, %T: error %v, reflection gives %v (input %v)", i, r, gotErr, wantErr, m)
			}
			if gotErr != nil {
				continue
			}
			same := reflect.DeepEqual([]float32(want.F32), got.F32) && reflect.DeepEqual([]int32(want.I32), got.I32) &&
				reflect.DeepEqual([]uint32(want.U32), got.U32) && reflect.DeepEqual([]int64(want.I64), got.I64) &&
				reflect.DeepEqual([]bool(want.Bool), got.Bool) && reflect.DeepEqual([]string(want.Str), []string(got.Str))
			if !same {
				t.Fatalf("case %d, %T: got %+v, reflection gives %+v (input %v)", i, r, got, want, m)
			}
		}
	}
}

// TestColumnsUncheckedLength: from a reader no Check has seen, a declared
// length the bytes cannot hold fails when the bytes run out, after an
// allocation bounded by allocLen rather than by the declared 2³¹ elements.
func TestColumnsUncheckedLength(t *testing.T) {
	b := []byte{0xdd, 0x80, 0, 0, 0, 0xca, 0x3f, 0x80, 0, 0} // array32 of 2³¹, one float32
	var f []float32
	if err := msgpack.NewDecoder(bytes.NewReader(b)).Decode(&f); err == nil {
		t.Fatal("a truncated array of 2³¹ float32 decoded")
	}
	s := append([]byte{0xdd, 0x80, 0, 0, 0}, 0xa1, 'x')
	var strs Strings
	if err := msgpack.NewDecoder(bytes.NewReader(s)).Decode(&strs); err == nil {
		t.Fatal("a truncated array of 2³¹ strings decoded")
	}
}
