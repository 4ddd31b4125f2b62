// Package wire encodes and decodes msgpack, decoding from untrusted bytes
// without trusting the lengths the bytes declare.
//
// A decoder that sizes a slice from the array length written in the input
// before it reads any element can be made to allocate gigabytes by five
// bytes declaring an array of 2³¹ structs, which kills a WebAssembly
// instance outright (github.com/vmihailenco/msgpack/v5 v5.4.1 does).
// Unmarshal therefore checks every length where it reads it, against the
// bytes that remain (as Go's internal/saferio does): an array, map,
// string or binary whose declared length cannot fit in them is refused
// before anything is allocated for it, as is nesting deeper than
// MaxDepth and trailing bytes. Check walks a message with the same rules
// without decoding it.
//
// Encoding goes through one set of writers, the Append* functions (as in
// tinylib/msgp): Marshal's reflective encoder and the hand-written
// encoders of core/api both call them.
//
// # Notes
//
// The package is its own msgpack codec (decode.go, encode.go) rather than
// a front for msgpack/v5, which the module linked before: msgpack/v5 with
// its reflection, its time and log support made up 123 kB of the
// compressed recommender.wasm (RATIONALE.md, "Module size"). The tests
// hold both directions to msgpack/v5: what it encodes decodes to the same
// values, and Marshal writes the bytes it writes.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
)

// MaxDepth is the deepest nesting of arrays and maps that Check accepts.
const MaxDepth = 32

// Error reports malformed msgpack. Typically this indicates corrupted or
// hostile input.
type Error struct {
	Offset int    // byte offset where the problem was found
	Reason string // what was wrong
	Err    error  // a sentinel this error matches (ErrTrailing, ErrTooLong), or nil
}

func (e *Error) Error() string {
	return fmt.Sprintf("msgpack: %s at byte %d", e.Reason, e.Offset)
}

// Unwrap returns the sentinel the error matches, if any.
func (e *Error) Unwrap() error { return e.Err }

// Sentinels matched by the errors of Check (errors.Is).
var (
	// ErrTrailing: bytes follow the single top-level value.
	ErrTrailing = errors.New("trailing bytes after value")
	// ErrTooLong: an array or map has more entries than the limit.
	ErrTooLong = errors.New("array or map longer than the limit")
)

// Check walks the msgpack encoding in b and returns an *Error if it is not
// exactly one well-formed value whose declared lengths all fit in b.
func Check(b []byte) error { return CheckLimit(b, 0) }

// CheckLimit is Check that also refuses any array or map with more than
// maxLen entries (0: no limit). Decoding n one-byte entries can build n
// values of up to about 72 bytes each; the limit bounds that growth where
// the caller knows how long a list may be.
func CheckLimit(b []byte, maxLen int) error {
	c := checker{b: b, maxLen: uint64(maxLen)}
	if err := c.value(0); err != nil {
		return err
	}
	if c.off != len(b) {
		return &Error{Offset: c.off, Reason: ErrTrailing.Error(), Err: ErrTrailing}
	}
	return nil
}

// Unmarshal decodes the single msgpack value b into v, which must be a
// non-nil pointer. It refuses what Check refuses, as it reads: every
// length is checked against the bytes left where it is read, before
// anything is sized from it. Unknown map keys are ignored so that newer
// writers stay readable. On error v may be partly written.
func Unmarshal(b []byte, v any) error { return UnmarshalLimit(b, v, 0) }

// UnmarshalLimit is Unmarshal with CheckLimit's maxLen.
func UnmarshalLimit(b []byte, v any, maxLen int) error { return unmarshal(b, v, maxLen, false) }

// UnmarshalViews is UnmarshalLimit except that a []byte value is a view of
// b rather than a copy: for a caller that keeps b unchanged while it uses
// v, and would otherwise copy a large binary only to read it.
func UnmarshalViews(b []byte, v any, maxLen int) error { return unmarshal(b, v, maxLen, true) }

func unmarshal(b []byte, v any, maxLen int, views bool) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("msgpack: Unmarshal needs a non-nil pointer, not %T", v)
	}
	d := decoder{b: b, maxLen: uint64(maxLen), views: views}
	if err := d.value(rv.Elem()); err != nil {
		return err
	}
	if d.off != len(b) {
		return &Error{Offset: d.off, Reason: ErrTrailing.Error(), Err: ErrTrailing}
	}
	return nil
}

type checker struct {
	b      []byte
	off    int
	maxLen uint64
}

func (c *checker) fail(reason string) error {
	return &Error{Offset: c.off, Reason: reason}
}

func (c *checker) need(n uint64) error {
	if n > uint64(len(c.b)-c.off) {
		return c.fail(fmt.Sprintf("declared length %d exceeds the %d bytes left", n, len(c.b)-c.off))
	}
	return nil
}

// skip advances over n bytes.
func (c *checker) skip(n uint64) error {
	if err := c.need(n); err != nil {
		return err
	}
	c.off += int(n)
	return nil
}

// uint reads a big-endian unsigned integer of size bytes.
func (c *checker) uint(size int) (uint64, error) {
	if err := c.need(uint64(size)); err != nil {
		return 0, err
	}
	p := c.b[c.off : c.off+size]
	c.off += size
	switch size {
	case 1:
		return uint64(p[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(p)), nil
	default:
		return uint64(binary.BigEndian.Uint32(p)), nil
	}
}

// array checks an array of n values.
func (c *checker) array(n uint64, depth int) error {
	if err := c.limit(n); err != nil {
		return err
	}
	return c.items(n, depth)
}

// mapping checks a map of n key-value pairs.
func (c *checker) mapping(n uint64, depth int) error {
	if err := c.limit(n); err != nil {
		return err
	}
	return c.items(2*n, depth)
}

func (c *checker) limit(n uint64) error {
	if c.maxLen > 0 && n > c.maxLen {
		return &Error{Offset: c.off, Reason: fmt.Sprintf("%d entries, more than the limit of %d", n, c.maxLen), Err: ErrTooLong}
	}
	return nil
}

// items checks n nested values; each takes at least one byte, so a count
// larger than the bytes left is refused before any is read.
func (c *checker) items(n uint64, depth int) error {
	if err := c.need(n); err != nil {
		return err
	}
	for i := uint64(0); i < n; i++ {
		if err := c.value(depth + 1); err != nil {
			return err
		}
	}
	return nil
}

func (c *checker) value(depth int) error {
	if depth > MaxDepth {
		return c.fail(fmt.Sprintf("nesting deeper than %d", MaxDepth))
	}
	if c.off >= len(c.b) {
		return c.fail("unexpected end of input")
	}
	t := c.b[c.off]
	c.off++
	switch {
	case t <= 0x7f || t >= 0xe0: // fixint
		return nil
	case t <= 0x8f: // fixmap
		return c.mapping(uint64(t&0x0f), depth)
	case t <= 0x9f: // fixarray
		return c.array(uint64(t&0x0f), depth)
	case t <= 0xbf: // fixstr
		return c.skip(uint64(t & 0x1f))
	}
	switch t {
	case 0xc0, 0xc2, 0xc3: // nil, false, true
		return nil
	case 0xc1:
		c.off--
		return c.fail("reserved type byte 0xc1")
	case 0xc4, 0xd9: // bin8, str8
		n, err := c.uint(1)
		if err != nil {
			return err
		}
		return c.skip(n)
	case 0xc5, 0xda: // bin16, str16
		n, err := c.uint(2)
		if err != nil {
			return err
		}
		return c.skip(n)
	case 0xc6, 0xdb: // bin32, str32
		n, err := c.uint(4)
		if err != nil {
			return err
		}
		return c.skip(n)
	case 0xc7, 0xc8, 0xc9: // ext8/16/32: length, type, data
		n, err := c.uint(1 << (t - 0xc7))
		if err != nil {
			return err
		}
		return c.skip(1 + n)
	case 0xca, 0xce, 0xd2: // float32, uint32, int32
		return c.skip(4)
	case 0xcb, 0xcf, 0xd3: // float64, uint64, int64
		return c.skip(8)
	case 0xcc, 0xd0: // uint8, int8
		return c.skip(1)
	case 0xcd, 0xd1: // uint16, int16
		return c.skip(2)
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1, 2, 4, 8, 16
		return c.skip(1 + (1 << (t - 0xd4)))
	case 0xdc: // array16
		n, err := c.uint(2)
		if err != nil {
			return err
		}
		return c.array(n, depth)
	case 0xdd: // array32
		n, err := c.uint(4)
		if err != nil {
			return err
		}
		return c.array(n, depth)
	case 0xde: // map16
		n, err := c.uint(2)
		if err != nil {
			return err
		}
		return c.mapping(n, depth)
	case 0xdf: // map32
		n, err := c.uint(4)
		if err != nil {
			return err
		}
		return c.mapping(n, depth)
	}
	c.off--
	return c.fail(fmt.Sprintf("unknown type byte 0x%02x", t))
}
