package wire

import (
	"errors"
	"strings"
	"testing"
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
