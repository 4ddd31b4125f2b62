package wire

import (
	"bytes"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// The kinds of Go values the bundle's sections and the API's messages
// hold, for the differential tests against msgpack/v5.
type (
	level uint8
	inner struct {
		A   int32             `msgpack:"a"`
		B   []float32         `msgpack:"b,omitempty"`
		Tag map[string]string `msgpack:"tag,omitempty"`
	}
	// inner2 has only omitempty fields: empty, it is left out too.
	inner2 struct {
		X int    `msgpack:"x,omitempty"`
		Y []byte `msgpack:"y,omitempty"`
	}
	Embedded struct {
		E1 string `msgpack:"e1"`
		E2 int64  `msgpack:"e2,omitempty"`
	}
	sample struct {
		Embedded
		Bool    bool              `msgpack:"bool"`
		I       int               `msgpack:"i"`
		I8      int8              `msgpack:"i8"`
		I16     int16             `msgpack:"i16"`
		I64     int64             `msgpack:"i64,omitempty"`
		U8      uint8             `msgpack:"u8"`
		U16     uint16            `msgpack:"u16"`
		U32     uint32            `msgpack:"u32"`
		U64     uint64            `msgpack:"u64"`
		F32     float32           `msgpack:"f32"`
		F64     float64           `msgpack:"f64,omitempty"`
		S       string            `msgpack:"s,omitempty"`
		Bytes   []byte            `msgpack:"bytes,omitempty"`
		Level   level             `msgpack:"level"`
		Ints    []int32           `msgpack:"ints"`
		U32s    []uint32          `msgpack:"u32s"`
		I64s    []int64           `msgpack:"i64s"`
		Bools   []bool            `msgpack:"bools"`
		Strs    []string          `msgpack:"strs"`
		Col     Strings           `msgpack:"col"`
		Arr     [3]int            `msgpack:"arr"`
		FArr    [2]float32        `msgpack:"farr"`
		Ptr     *int              `msgpack:"ptr,omitempty"`
		FPtr    *float64          `msgpack:"fptr"`
		In      inner             `msgpack:"in"`
		InPtr   *inner            `msgpack:"in_ptr,omitempty"`
		In2     inner2            `msgpack:"in2,omitempty"`
		Ins     []inner           `msgpack:"ins"`
		Flags   map[string]bool   `msgpack:"flags"`
		Lists   map[string][]int8 `msgpack:"lists,omitempty"`
		Untaged int
		Skipped int `msgpack:"-"`
		hidden  int
	}
)

// longStrings lets randString make strings of up to 70 000 bytes (the
// fuzz target's seeds stay short, or the fuzzer spends its time shrinking
// them).
var longStrings = true

func randString(rng *rand.Rand) string {
	n := []int{0, 1, 5, 31, 32, 200, 300, 70000}[rng.IntN(8)]
	if !longStrings {
		n %= 40
	}
	if rng.IntN(4) > 0 {
		n = rng.IntN(12)
	}
	var b strings.Builder
	for range n {
		b.WriteByte(byte('a' + rng.IntN(26)))
	}
	return b.String()
}

func randInt(rng *rand.Rand, bits int) int64 {
	switch rng.IntN(4) {
	case 0:
		return int64(rng.IntN(64)) - 32 // fixints
	case 1:
		return 0
	}
	return rng.Int64() >> (64 - bits)
}

func randSample(rng *rand.Rand) *sample {
	s := &sample{
		Embedded: Embedded{E1: randString(rng), E2: randInt(rng, 64)},
		Bool:     rng.IntN(2) == 0, I: int(randInt(rng, 64)), I8: int8(randInt(rng, 8)), I16: int16(randInt(rng, 16)),
		I64: randInt(rng, 64), U8: uint8(rng.Uint32()), U16: uint16(rng.Uint32()), U32: rng.Uint32(), U64: rng.Uint64() >> rng.IntN(64),
		F32: float32(rng.NormFloat64()), S: randString(rng), Level: level(rng.IntN(256)),
		Arr: [3]int{int(randInt(rng, 32)), int(randInt(rng, 16)), 7}, FArr: [2]float32{1.5, float32(rng.NormFloat64())},
		In:      inner{A: int32(randInt(rng, 32))},
		Untaged: rng.IntN(1000), Skipped: 0, hidden: 0,
	}
	if rng.IntN(2) == 0 {
		s.F64 = rng.NormFloat64() * 1e10
	}
	if rng.IntN(2) == 0 {
		s.Bytes = []byte(randString(rng))
	}
	if rng.IntN(2) == 0 {
		p := int(randInt(rng, 64))
		s.Ptr = &p
	}
	if rng.IntN(2) == 0 {
		f := rng.Float64()
		s.FPtr = &f
	}
	if rng.IntN(2) == 0 {
		s.InPtr = &inner{A: 3, B: []float32{1, -2.5}}
	}
	if rng.IntN(2) == 0 {
		s.In2.X = rng.IntN(3)
	}
	for range rng.IntN(20) {
		s.Ints = append(s.Ints, int32(randInt(rng, 32)))
		s.U32s = append(s.U32s, rng.Uint32()>>rng.IntN(32))
		s.I64s = append(s.I64s, randInt(rng, 64))
		s.Bools = append(s.Bools, rng.IntN(2) == 0)
		s.Strs = append(s.Strs, randString(rng))
		s.Col = append(s.Col, randString(rng))
	}
	if rng.IntN(3) == 0 {
		s.Ints, s.Col = []int32{}, Strings{}
	}
	for range rng.IntN(20) {
		s.Ins = append(s.Ins, inner{A: int32(rng.IntN(9)), Tag: map[string]string{"k": randString(rng), "a": "b"}})
	}
	if rng.IntN(2) == 0 {
		s.Flags = map[string]bool{}
		for range rng.IntN(40) {
			s.Flags[randString(rng)] = rng.IntN(2) == 0
		}
	}
	if rng.IntN(2) == 0 {
		s.Lists = map[string][]int8{"x": {1, -1, 127, -128}} // one key: msgpack/v5 sorts only some maps
	}
	return s
}

// msgpackMarshal is msgpack/v5 set up as Marshal claims to match it.
func msgpackMarshal(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.SetSortMapKeys(true)
	enc.UseCompactInts(true)
	enc.UseCompactFloats(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestMarshalMatchesMsgpack: Marshal writes the bytes msgpack/v5 writes
// (sorted map keys, compact integers, float32 kept) for every kind of
// value above, and msgpack/v5 reads them back as the value.
func TestMarshalMatchesMsgpack(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	for i := range 2000 {
		s := randSample(rng)
		got, err := Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		want := msgpackMarshal(t, s)
		if !bytes.Equal(got, want) {
			t.Fatalf("case %d: Marshal wrote %d bytes, msgpack/v5 %d; first difference at %d", i, len(got), len(want), firstDiff(got, want))
		}
		// Read back by msgpack/v5 and written again, the same bytes (omitempty
		// makes an empty slice come back nil, so compare encodings).
		var back sample
		if err := msgpack.Unmarshal(got, &back); err != nil {
			t.Fatal(err)
		}
		if again, _ := Marshal(&back); !bytes.Equal(again, got) {
			t.Fatalf("case %d: msgpack/v5 reads back %+v, which encodes differently", i, back)
		}
	}
	// Top-level values of other kinds, and a map msgpack/v5 does not sort.
	for _, v := range []any{nil, true, -33, uint64(math.MaxUint64), int64(math.MinInt64), float32(-0.5), "", []byte{}, []int{}, map[string]int{}} {
		got, err := Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if want := msgpackMarshal(t, v); !bytes.Equal(got, want) {
			t.Errorf("%#v: Marshal wrote % x, msgpack/v5 % x", v, got, want)
		}
	}
	m := map[string]float32{"z": 1, "a": 2, "m": 3}
	got, _ := Marshal(m)
	if want := []byte{0x83, 0xa1, 'a', 0xca, 0x40, 0, 0, 0, 0xa1, 'm', 0xca, 0x40, 0x40, 0, 0, 0xa1, 'z', 0xca, 0x3f, 0x80, 0, 0}; !bytes.Equal(got, want) {
		t.Errorf("map[string]float32: % x, want sorted keys % x", got, want)
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestDecodeMatchesMsgpack: what msgpack/v5 writes, with its default
// settings or compact ones, Unmarshal reads as msgpack/v5 reads it.
func TestDecodeMatchesMsgpack(t *testing.T) {
	rng := rand.New(rand.NewPCG(53, 54))
	for i := range 2000 {
		s := randSample(rng)
		var buf bytes.Buffer
		enc := msgpack.NewEncoder(&buf)
		enc.UseCompactInts(i%2 == 0)
		enc.UseCompactFloats(i%3 == 0)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		var want, got sample
		if err := msgpack.Unmarshal(buf.Bytes(), &want); err != nil {
			t.Fatal(err)
		}
		if err := Unmarshal(buf.Bytes(), &got); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("case %d: Unmarshal gives %+v, msgpack/v5 %+v", i, got, want)
		}
	}
}

// TestDecodeLenient: any number decodes into a float field; nil into
// anything gives its zero value; unknown fields are skipped; a struct
// decodes into a non-nil pointer's value.
func TestDecodeLenient(t *testing.T) {
	type target struct {
		F32 float32            `msgpack:"f"`
		M   map[string]float32 `msgpack:"m"`
		P   *inner             `msgpack:"p"`
		S   []int32            `msgpack:"s"`
		I   int                `msgpack:"i"`
	}
	b, _ := msgpack.Marshal(map[string]any{"f": 2.25, "m": map[string]any{"a": 1.5, "b": 3, "c": uint64(7)}, "p": nil, "s": nil, "i": nil, "unknown": []any{1, "x", map[string]any{}}})
	got := target{P: &inner{A: 1}, S: []int32{1}, I: 5}
	if err := Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := target{F32: 2.25, M: map[string]float32{"a": 1.5, "b": 3, "c": 7}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// TestDecodeRefuses: values that do not fit their field, wrong types, and
// non-pointers get errors, not panics or wrapped values.
func TestDecodeRefuses(t *testing.T) {
	enc := func(v any) []byte {
		b, err := msgpack.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := []struct {
		name string
		in   []byte
		into any
		want string
	}{
		{"int8 overflow", enc(300), new(int8), "out of the range"},
		{"negative uint", enc(-1), new(uint32), "negative"},
		{"uint64 into int64", enc(uint64(math.MaxUint64)), new(int64), "out of the range"},
		{"column overflow", enc([]int64{1 << 40}), new([]int32), "out of the range"},
		{"string for int", enc("7"), new(int), "wants an integer"},
		{"float for int", enc(1.5), new(int), "wants an integer"},
		{"array for struct", enc([]int{1}), new(inner), "wants a map"},
		{"int for bool", enc(1), new(bool), "wants a bool"},
		{"too many for array", enc([]int{1, 2, 3, 4}), new([3]int), "4 elements"},
		{"int map keys", []byte{0x81, 0x01, 0x02}, new(map[string]int), "wants a string"},
		{"int-keyed map type", enc(map[string]int{"a": 1}), new(map[int]int), "keys must be strings"},
		{"interface", enc(1), new(any), "cannot decode"},
	}
	for _, tc := range cases {
		err := Unmarshal(tc.in, tc.into)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
	var x int
	if err := Unmarshal(enc(1), x); err == nil {
		t.Error("Unmarshal into a non-pointer succeeded")
	}
	if err := Unmarshal(enc(1), (*int)(nil)); err == nil {
		t.Error("Unmarshal into a nil pointer succeeded")
	}
}

// zeroFloats sets every float in v to 0: where Unmarshal and msgpack/v5
// may both succeed with different floats (an integer above the int64 range
// into a float field, which msgpack/v5 wraps through int64).
func zeroFloats(v reflect.Value) {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		v.SetFloat(0)
	case reflect.Pointer:
		if !v.IsNil() {
			zeroFloats(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				zeroFloats(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			zeroFloats(v.Index(i))
		}
	case reflect.Map:
		if v.Type().Elem().Kind() == reflect.Float32 || v.Type().Elem().Kind() == reflect.Float64 {
			for _, k := range v.MapKeys() {
				v.SetMapIndex(k, reflect.Zero(v.Type().Elem()))
			}
		}
	}
}

// FuzzUnmarshal decodes arbitrary bytes into the sample type with
// Unmarshal and, when Check accepts them (so that msgpack/v5 cannot be
// made to allocate without bound), with msgpack/v5. Unmarshal must not
// panic, UnmarshalViews must decode what it decodes to the same value;
// when both succeed they must agree (floats aside, see zeroFloats);
// and when only msgpack/v5 succeeds, Unmarshal's error must be one of the
// refusals documented on decoder: an integer that does not fit, a struct
// sent as an array.
func FuzzUnmarshal(f *testing.F) {
	longStrings = false
	defer func() { longStrings = true }()
	rng := rand.New(rand.NewPCG(55, 56))
	for range 8 {
		b, err := Marshal(randSample(rng))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0x80})
	f.Add([]byte{0xc0})
	f.Add([]byte{0x81, 0xa3, 'f', '3', '2', 0xcf, 0xff, 0, 0, 0, 0, 0, 0, 0}) // 2⁶⁴−2⁵⁶ into a float32
	f.Fuzz(func(t *testing.T, b []byte) {
		var got, views sample
		gotErr := Unmarshal(b, &got)
		viewsErr := UnmarshalViews(bytes.Clone(b), &views, 0)
		if (gotErr == nil) != (viewsErr == nil) {
			t.Fatalf("Unmarshal: %v, UnmarshalViews: %v", gotErr, viewsErr)
		}
		if gotErr == nil {
			g, v := got, views
			zeroFloats(reflect.ValueOf(&g))
			zeroFloats(reflect.ValueOf(&v))
			if !reflect.DeepEqual(g, v) {
				t.Fatalf("Unmarshal gives %+v, UnmarshalViews %+v", g, v)
			}
		}
		if Check(b) != nil {
			if gotErr == nil {
				t.Fatal("Unmarshal accepted what Check refuses")
			}
			return
		}
		var want sample
		if msgpack.Unmarshal(b, &want) != nil {
			return
		}
		if gotErr != nil {
			if e := gotErr.Error(); !strings.Contains(e, "out of the range") && !strings.Contains(e, "negative integer") &&
				!strings.Contains(e, "wants a map") {
				t.Fatalf("msgpack/v5 decodes % x, Unmarshal refuses it: %v", b, gotErr)
			}
			return
		}
		zeroFloats(reflect.ValueOf(&got))
		zeroFloats(reflect.ValueOf(&want))
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Unmarshal gives %+v, msgpack/v5 %+v", got, want)
		}
	})
}

// TestEmbeddedFields: an outer field hides an embedded one of the same
// name (Go's rule), and what the codec does not support is an error on
// both sides rather than a guess.
func TestEmbeddedFields(t *testing.T) {
	type A struct {
		ID int `msgpack:"id"`
		N  int `msgpack:"n"`
	}
	type A2 struct {
		ID int `msgpack:"id"`
	}
	type outer struct {
		A
		ID string `msgpack:"id"`
	}
	got, err := Marshal(outer{A: A{ID: 1, N: 2}, ID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0x82, 0xa2, 'i', 'd', 0xa1, 'x', 0xa1, 'n', 0x02}; !bytes.Equal(got, want) {
		t.Errorf("Marshal: % x, want % x", got, want)
	}
	var back outer
	if err := Unmarshal(got, &back); err != nil || back != (outer{A: A{N: 2}, ID: "x"}) {
		t.Errorf("Unmarshal: %+v, %v", back, err)
	}
	type pointer struct{ *A }
	type tagged struct {
		A `msgpack:"a"`
	}
	type ambiguous struct {
		A
		A2
	}
	for _, v := range []any{&pointer{A: &A{}}, &tagged{}, &ambiguous{}} {
		if _, err := Marshal(v); err == nil {
			t.Errorf("Marshal(%T) succeeded", v)
		}
		if err := Unmarshal([]byte{0x81, 0xa2, 'i', 'd', 0x01}, v); err == nil {
			t.Errorf("Unmarshal into %T succeeded", v)
		}
	}
}
