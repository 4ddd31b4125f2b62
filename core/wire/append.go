package wire

import (
	"encoding/binary"
	"math"
)

// The writers: each appends one msgpack value (or a map or array header)
// to dst in the shortest form msgpack/v5 writes with compact integers, and
// returns the extended slice, as tinylib/msgp's Append* functions do. The
// reflective encoder (Marshal) writes through them, and so do the
// hand-written encoders of the messages the module answers with
// (api.AppendResponse), so that the two cannot drift apart
// (TestMarshalMatchesMsgpack, TestAppendResponseMatchesReflection).

// AppendNil appends nil.
func AppendNil(dst []byte) []byte { return append(dst, 0xc0) }

// AppendBool appends true or false.
func AppendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, 0xc3)
	}
	return append(dst, 0xc2)
}

// AppendInt appends n in its shortest form; a non-negative n is written as
// an unsigned integer, as msgpack/v5 does.
func AppendInt(dst []byte, n int64) []byte {
	switch {
	case n >= 0:
		return AppendUint(dst, uint64(n))
	case n >= -32:
		return append(dst, byte(n))
	case n >= math.MinInt8:
		return append(dst, 0xd0, byte(n))
	case n >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(dst, 0xd1), uint16(n))
	case n >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(dst, 0xd2), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(dst, 0xd3), uint64(n))
}

// AppendUint appends n in its shortest form.
func AppendUint(dst []byte, n uint64) []byte {
	switch {
	case n <= math.MaxInt8:
		return append(dst, byte(n))
	case n <= math.MaxUint8:
		return append(dst, 0xcc, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, 0xcd), uint16(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, 0xce), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(dst, 0xcf), n)
}

// AppendFloat32 appends f as a float 32.
func AppendFloat32(dst []byte, f float32) []byte {
	return binary.BigEndian.AppendUint32(append(dst, 0xca), math.Float32bits(f))
}

// AppendFloat64 appends f as a float 64.
func AppendFloat64(dst []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(append(dst, 0xcb), math.Float64bits(f))
}

// AppendString appends s as a str.
func AppendString(dst []byte, s string) []byte {
	n := len(s)
	switch {
	case n < 32:
		dst = append(dst, 0xa0|byte(n))
	case n <= math.MaxUint8:
		dst = append(dst, 0xd9, byte(n))
	case n <= math.MaxUint16:
		dst = binary.BigEndian.AppendUint16(append(dst, 0xda), uint16(n))
	default:
		dst = binary.BigEndian.AppendUint32(append(dst, 0xdb), uint32(n))
	}
	return append(dst, s...)
}

// AppendBytes appends p as a bin (a nil p too: write nil with AppendNil).
func AppendBytes(dst []byte, p []byte) []byte {
	n := len(p)
	switch {
	case n <= math.MaxUint8:
		dst = append(dst, 0xc4, byte(n))
	case n <= math.MaxUint16:
		dst = binary.BigEndian.AppendUint16(append(dst, 0xc5), uint16(n))
	default:
		dst = binary.BigEndian.AppendUint32(append(dst, 0xc6), uint32(n))
	}
	return append(dst, p...)
}

// AppendArrayHeader appends the header of an array of n values, which the
// caller appends next.
func AppendArrayHeader(dst []byte, n int) []byte { return appendHeader(dst, 0x90, 0xdc, n) }

// AppendMapHeader appends the header of a map of n key-value pairs, which
// the caller appends next, key then value.
func AppendMapHeader(dst []byte, n int) []byte { return appendHeader(dst, 0x80, 0xde, n) }

// appendHeader writes an array (fix 0x90, 16-bit 0xdc) or map (0x80,
// 0xde) header for n entries.
func appendHeader(dst []byte, fix, long byte, n int) []byte {
	switch {
	case n < 16:
		return append(dst, fix|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, long), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(dst, long+1), uint32(n))
}
