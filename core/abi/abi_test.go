package abi

import "testing"

func TestPackUnpack(t *testing.T) {
	for _, tc := range []struct {
		ptr, n uint32
		isErr  bool
	}{{0, 0, false}, {1, 2, true}, {0xffffffff, MaxPayload, false}, {0x80000000, MaxPayload, true}} {
		r := Pack(tc.ptr, tc.n, tc.isErr)
		p, n, e := Unpack(r)
		if p != tc.ptr || n != tc.n || e != tc.isErr {
			t.Errorf("Unpack(Pack(%#x, %d, %v)) = %#x, %d, %v", tc.ptr, tc.n, tc.isErr, p, n, e)
		}
	}
}

func TestPackPanicsOnOversize(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Pack of a payload over MaxPayload did not panic")
		}
	}()
	Pack(0, MaxPayload+1, false)
}
