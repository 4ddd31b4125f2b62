package wire

import (
	"bytes"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheck(t *testing.T) {
	nested := func(depth int) []byte {
		b := make([]byte, 0, depth+1)
		for i := 0; i < depth; i++ {
			b = append(b, 0x91) // fixarray of 1
		}
		return append(b, 0x01)
	}
	cases := []struct {
		name string
		in   []byte
		want string // "" = valid
	}{
		{"fixint", []byte{0x05}, ""},
		{"map", []byte{0x81, 0xa1, 'k', 0xc3}, ""},
		{"str8", []byte{0xd9, 3, 'a', 'b', 'c'}, ""},
		{"float64", []byte{0xcb, 0, 0, 0, 0, 0, 0, 0, 0}, ""},
		{"fixext4", []byte{0xd6, 1, 0, 0, 0, 0}, ""},
		{"nested ok", nested(MaxDepth), ""},
		{"empty", nil, "end of input"},
		{"array32 too long", []byte{0xdd, 0x7f, 0xff, 0xff, 0xff, 0x01}, "exceeds"},
		{"map32 too long", []byte{0xdf, 0, 0, 1, 0, 0x01, 0x01}, "exceeds"},
		{"bin32 too long", []byte{0xc6, 0, 1, 0, 0, 'x'}, "exceeds"},
		{"str truncated", []byte{0xa5, 'a', 'b'}, "exceeds"},
		{"float truncated", []byte{0xca, 0, 0}, "exceeds"},
		{"reserved", []byte{0xc1}, "reserved"},
		{"trailing", []byte{0x01, 0x02}, "trailing"},
		{"too deep", nested(MaxDepth + 1), "nesting"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.in)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			var we *Error
			if !errors.As(err, &we) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check: %v, want a *wire.Error mentioning %q", err, tc.want)
			}
		})
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	type rec struct {
		A string            `msgpack:"a"`
		B []float32         `msgpack:"b"`
		C map[string]string `msgpack:"c"`
	}
	in := rec{A: "x", B: []float32{1.5, -2}, C: map[string]string{"z": "1", "a": "2", "m": "3"}}
	b1, err := Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		b2, _ := Marshal(in)
		if string(b1) != string(b2) {
			t.Fatal("Marshal is not deterministic")
		}
	}
	var out rec
	if err := Unmarshal(b1, &out); err != nil {
		t.Fatal(err)
	}
	if out.A != "x" || len(out.B) != 2 || out.B[1] != -2 || out.C["m"] != "3" {
		t.Errorf("round trip: %+v", out)
	}
}

func TestCheckLimit(t *testing.T) {
	arr := []byte{0x93, 1, 2, 3}              // [1, 2, 3]
	m := []byte{0x82, 0x01, 0x01, 0x02, 0x02} // {1: 1, 2: 2}
	if err := CheckLimit(arr, 3); err != nil {
		t.Errorf("array of 3 with limit 3: %v", err)
	}
	if err := CheckLimit(arr, 2); !errors.Is(err, ErrTooLong) {
		t.Errorf("array of 3 with limit 2: %v, want ErrTooLong", err)
	}
	if err := CheckLimit(m, 2); err != nil {
		t.Errorf("map of 2 with limit 2: %v", err)
	}
	if err := CheckLimit(m, 1); !errors.Is(err, ErrTooLong) {
		t.Errorf("map of 2 with limit 1: %v, want ErrTooLong", err)
	}
	if err := Check([]byte{0xc0, 0xc0}); !errors.Is(err, ErrTrailing) {
		t.Errorf("trailing: %v, want ErrTrailing", err)
	}
}

// TestUnmarshalChecksWhereRead: Unmarshal refuses what Check refuses
// without a walk of its own first, and a length declared inside a field it
// decodes is checked before anything is sized from it: a few bytes that
// declare 2³¹ entries or bytes make an error, not an allocation.
func TestUnmarshalChecksWhereRead(t *testing.T) {
	type nest []nest
	deep := func(depth int) []byte {
		return append(bytes.Repeat([]byte{0x91}, depth), 0x90)
	}
	var n nest
	require.NoError(t, Unmarshal(deep(MaxDepth), &n))
	err := Unmarshal(deep(MaxDepth+1), &n)
	require.ErrorContains(t, err, "nesting")
	require.Error(t, Check(deep(MaxDepth+1)))

	huge := map[string][]byte{
		"structs":     {0xdd, 0x7f, 0xff, 0xff, 0xff, 0x80},
		"column":      {0xdd, 0x7f, 0xff, 0xff, 0xff, 0x01},
		"strings":     {0xdd, 0x7f, 0xff, 0xff, 0xff, 0xa0},
		"map":         {0xdf, 0x7f, 0xff, 0xff, 0xff, 0xa0, 0x01},
		"bin32":       {0xc6, 0x7f, 0xff, 0xff, 0xff, 0x01},
		"str32":       {0xdb, 0x7f, 0xff, 0xff, 0xff, 0x01},
		"map16 short": {0xde, 0x00, 0x03, 0xa1, 'x', 0xa1, 'y'}, // 3 pairs need 6 bytes, 4 left
	}
	type target struct {
		Structs []inner           `msgpack:"structs"`
		Column  []float32         `msgpack:"column"`
		Strings Strings           `msgpack:"strings"`
		Map     map[string]int    `msgpack:"map"`
		Bin32   []byte            `msgpack:"bin32"`
		Str32   string            `msgpack:"str32"`
		Odd     map[string]string `msgpack:"map16 short"`
	}
	for field, value := range huge {
		msg := append([]byte{0x81}, AppendString(nil, field)...)
		msg = append(msg, value...)
		require.Error(t, Check(msg), field)
		// The decoder alone, without Unmarshal's entry: it must not rely
		// on a walk before it.
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		d := decoder{b: msg}
		err := d.value(reflect.ValueOf(new(target)).Elem())
		runtime.ReadMemStats(&after)
		var we *Error
		require.ErrorAs(t, err, &we, field)
		assert.Contains(t, err.Error(), "exceeds", field)
		assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<10), "%s: bytes allocated", field)
	}

	// The list limit holds inside a value Unmarshal skips (an unknown key).
	skipped := append([]byte{0x81, 0xa1, 'z', 0x93}, 1, 2, 3)
	require.NoError(t, UnmarshalLimit(skipped, new(target), 3))
	require.ErrorIs(t, UnmarshalLimit(skipped, new(target), 2), ErrTooLong)
	// And trailing bytes are refused.
	require.ErrorIs(t, Unmarshal([]byte{0x80, 0xc0}, new(target)), ErrTrailing)
}

// TestUnmarshalViews: a []byte decoded by UnmarshalViews is a view of the
// input, one decoded by Unmarshal a copy; strings are copies in both.
func TestUnmarshalViews(t *testing.T) {
	type msg struct {
		B []byte `msgpack:"b"`
		S string `msgpack:"s"`
	}
	in, err := Marshal(msg{B: []byte("filter bits"), S: "id"})
	require.NoError(t, err)
	var copied, viewed msg
	require.NoError(t, Unmarshal(in, &copied))
	require.NoError(t, UnmarshalViews(in, &viewed, 0))
	assert.Equal(t, copied, viewed)
	at := bytes.Index(in, []byte("filter bits"))
	require.Positive(t, at)
	assert.Same(t, &in[at], &viewed.B[0], "UnmarshalViews: a view of the input")
	assert.NotSame(t, &in[at], &copied.B[0], "Unmarshal: a copy")
	assert.Equal(t, len(viewed.B), cap(viewed.B), "a view cannot be appended into the input")
}
