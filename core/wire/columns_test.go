package wire

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// Named slice types are not column types, so Unmarshal decodes them
// through reflection: the reference for the column decoders.
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

// TestColumnsMatchReflection decodes random arrays into the column types
// and into named slice types, which take the reflective path, and wants
// the same values, or an error from both.
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
		wantErr := Unmarshal(b, &want)
		var got columns
		gotErr := Unmarshal(b, &got)
		if (gotErr != nil) != (wantErr != nil) {
			t.Fatalf("case %d: error %v, reflection gives %v (input %v)", i, gotErr, wantErr, m)
		}
		if gotErr != nil {
			continue
		}
		same := reflect.DeepEqual([]float32(want.F32), got.F32) && reflect.DeepEqual([]int32(want.I32), got.I32) &&
			reflect.DeepEqual([]uint32(want.U32), got.U32) && reflect.DeepEqual([]int64(want.I64), got.I64) &&
			reflect.DeepEqual([]bool(want.Bool), got.Bool) && reflect.DeepEqual([]string(want.Str), []string(got.Str))
		if !same {
			t.Fatalf("case %d: got %+v, reflection gives %+v (input %v)", i, got, want, m)
		}
	}
}
