package wire

import (
	"encoding/binary"
	"math"
)

// The fast readers decode one value from the start of b when it has the
// encoding a writer normally uses for it and return the value and the
// encoding's length in bytes, 0 for any other encoding (the decoder's
// general path then reads it). The decoder and the column decoders use
// them first.

// fastInt reads a msgpack integer whose value fits in an int64.
func fastInt(b []byte) (int64, int) {
	if len(b) == 0 {
		return 0, 0
	}
	switch c := b[0]; {
	case c <= 0x7f: // positive fixint
		return int64(c), 1
	case c >= 0xe0: // negative fixint
		return int64(int8(c)), 1
	case c == 0xcc && len(b) >= 2:
		return int64(b[1]), 2
	case c == 0xcd && len(b) >= 3:
		return int64(binary.BigEndian.Uint16(b[1:])), 3
	case c == 0xce && len(b) >= 5:
		return int64(binary.BigEndian.Uint32(b[1:])), 5
	case c == 0xcf && len(b) >= 9:
		if u := binary.BigEndian.Uint64(b[1:]); u <= math.MaxInt64 {
			return int64(u), 9
		}
	case c == 0xd0 && len(b) >= 2:
		return int64(int8(b[1])), 2
	case c == 0xd1 && len(b) >= 3:
		return int64(int16(binary.BigEndian.Uint16(b[1:]))), 3
	case c == 0xd2 && len(b) >= 5:
		return int64(int32(binary.BigEndian.Uint32(b[1:]))), 5
	case c == 0xd3 && len(b) >= 9:
		return int64(binary.BigEndian.Uint64(b[1:])), 9
	}
	return 0, 0
}

// fastBytesLen reads the header of a msgpack str or bin (or nil, length
// −1) and returns the payload length and the header's length, 0 for
// anything else.
func fastBytesLen(b []byte) (l, n int) {
	if len(b) == 0 {
		return 0, 0
	}
	switch c := b[0]; {
	case c >= 0xa0 && c <= 0xbf: // fixstr
		return int(c & 0x1f), 1
	case c == 0xc0:
		return -1, 1
	case (c == 0xd9 || c == 0xc4) && len(b) >= 2:
		return int(b[1]), 2
	case (c == 0xda || c == 0xc5) && len(b) >= 3:
		return int(binary.BigEndian.Uint16(b[1:])), 3
	case (c == 0xdb || c == 0xc6) && len(b) >= 5:
		if l := binary.BigEndian.Uint32(b[1:]); uint64(l) <= uint64(len(b)-5) {
			return int(l), 5
		}
	}
	return 0, 0
}

func fastInt32(b []byte) (int32, int) {
	if v, n := fastInt(b); n > 0 && v >= math.MinInt32 && v <= math.MaxInt32 {
		return int32(v), n
	}
	return 0, 0
}

func fastUint32(b []byte) (uint32, int) {
	if v, n := fastInt(b); n > 0 && v >= 0 && v <= math.MaxUint32 {
		return uint32(v), n
	}
	return 0, 0
}

// fastFloat32 reads a msgpack float 32.
func fastFloat32(b []byte) (float32, int) {
	if len(b) >= 5 && b[0] == 0xca {
		return math.Float32frombits(binary.BigEndian.Uint32(b[1:])), 5
	}
	return 0, 0
}

func fastBool(b []byte) (bool, int) {
	if len(b) > 0 && (b[0] == 0xc2 || b[0] == 0xc3) {
		return b[0] == 0xc3, 1
	}
	return false, 0
}
