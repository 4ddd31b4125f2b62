package wire

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"unsafe"
)

// decoder decodes msgpack from untrusted bytes into Go values by
// reflection, in one pass that checks every length against the bytes left
// where it reads it (a string's before it slices, an array's or map's
// before it makes the slice or map: each entry takes at least a byte),
// and the nesting depth and the list limit at every array and map, as
// Check does; values it skips (unknown keys) it walks with Check's walker.
// It decodes: struct fields by their msgpack tag names (unknown
// keys skipped), slices, arrays, maps with string keys, pointers, numbers,
// strings, []byte and bools; and the columns of columns.go without
// reflection per element. What msgpack/v5 writes for these types it reads
// as msgpack/v5 does (TestDecodeMatchesMsgpack), with these differences:
//   - any number decodes into a float field (JavaScript's and Python's
//     writers send fractional numbers as float64, which msgpack/v5 refuses
//     for a float32), and an unsigned integer above the int64 range keeps
//     its value (msgpack/v5 wraps it through int64 first);
//   - an integer that does not fit its field is an error, where msgpack/v5
//     wraps it;
//   - it decodes into fresh values: an array or map is replaced, not
//     merged into, and elements an array does not send are zero;
//   - structs sent as arrays, interface fields, maps without string keys,
//     extension types and embedded pointers are refused (no message of
//     ours has them).
type decoder struct {
	b      []byte
	off    int
	maxLen uint64 // most entries of an array or map, 0: no limit
	depth  int    // nesting depth of the value being decoded
	views  bool   // []byte values are views of b (UnmarshalViews)
}

func (d *decoder) errorf(format string, args ...any) error {
	return &Error{Offset: d.off, Reason: fmt.Sprintf(format, args...)}
}

// code returns the next type byte without consuming it.
func (d *decoder) code() (byte, error) {
	if d.off >= len(d.b) {
		return 0, d.errorf("unexpected end of input")
	}
	return d.b[d.off], nil
}

// mismatch returns the error for type byte c where what wants kind ("an
// integer"); the reserved byte 0xc1 is named as Check names it.
func (d *decoder) mismatch(c byte, what, kind string) error {
	if c == 0xc1 {
		return d.errorf("reserved type byte 0xc1")
	}
	return d.errorf("type byte 0x%02x where %s wants %s", c, what, kind)
}

// nil consumes a nil and reports whether there was one.
func (d *decoder) nil() bool {
	if d.off < len(d.b) && d.b[d.off] == 0xc0 {
		d.off++
		return true
	}
	return false
}

// take consumes n bytes.
func (d *decoder) take(n int) ([]byte, error) {
	if n < 0 || n > len(d.b)-d.off {
		return nil, d.errorf("declared length %d exceeds the %d bytes left", n, len(d.b)-d.off)
	}
	p := d.b[d.off : d.off+n]
	d.off += n
	return p, nil
}

// skip consumes one value of any type.
func (d *decoder) skip() error {
	c := checker{b: d.b, off: d.off, maxLen: d.maxLen}
	if err := c.value(d.depth); err != nil {
		return err
	}
	d.off = c.off
	return nil
}

// length reads the length that follows a type byte in size bytes.
func (d *decoder) length(size int) (int, error) {
	p, err := d.take(size)
	if err != nil {
		return 0, err
	}
	switch size {
	case 1:
		return int(p[0]), nil
	case 2:
		return int(binary.BigEndian.Uint16(p)), nil
	}
	return int(binary.BigEndian.Uint32(p)), nil
}

// integer reads any msgpack integer (nil reads as 0) as its value: an
// int64, or a uint64 above the int64 range (big true).
func (d *decoder) integer(what string) (v int64, u uint64, big bool, err error) {
	c, err := d.code()
	if err != nil {
		return 0, 0, false, err
	}
	if v, n := fastInt(d.b[d.off:]); n > 0 {
		d.off += n
		return v, 0, false, nil
	}
	switch {
	case c == 0xc0:
		d.off++
		return 0, 0, false, nil
	case c == 0xcf && len(d.b)-d.off >= 9:
		d.off += 9
		return 0, binary.BigEndian.Uint64(d.b[d.off-8:]), true, nil
	}
	if err := d.short(c); err != nil {
		return 0, 0, false, err
	}
	return 0, 0, false, d.mismatch(c, what, "an integer")
}

// float reads any msgpack number (nil reads as 0).
func (d *decoder) float(what string) (float64, error) {
	c, err := d.code()
	if err != nil {
		return 0, err
	}
	if f, n := fastFloat32(d.b[d.off:]); n > 0 {
		d.off += n
		return float64(f), nil
	}
	switch c {
	case 0xcb:
		p, err := d.take(9)
		if err != nil {
			return 0, err
		}
		return math.Float64frombits(binary.BigEndian.Uint64(p[1:])), nil
	}
	v, u, big, err := d.integer(what)
	if big {
		return float64(u), err
	}
	return float64(v), err
}

// bytesLen reads the header of a str or bin and returns the payload's
// length; nil reads as length −1.
func (d *decoder) bytesLen(what string) (int, error) {
	c, err := d.code()
	if err != nil {
		return 0, err
	}
	if l, n := fastBytesLen(d.b[d.off:]); n > 0 {
		d.off += n
		return l, nil
	}
	if c == 0xdb || c == 0xc6 { // str32, bin32 longer than the bytes left
		d.off++
		return d.length(4)
	}
	if err := d.short(c); err != nil {
		return 0, err
	}
	return 0, d.mismatch(c, what, "a string")
}

// short returns the error for a value of fixed size or with a length
// prefix, of type byte c at d.off, that runs past the end of the input,
// or nil.
func (d *decoder) short(c byte) error {
	var n int
	switch c {
	case 0xcc, 0xd0, 0xc4, 0xd9:
		n = 1
	case 0xcd, 0xd1, 0xc5, 0xda:
		n = 2
	case 0xca, 0xce, 0xd2, 0xc6, 0xdb:
		n = 4
	case 0xcb, 0xcf, 0xd3:
		n = 8
	default:
		return nil
	}
	if left := len(d.b) - d.off - 1; n > left {
		return &Error{Offset: d.off + 1, Reason: fmt.Sprintf("declared length %d exceeds the %d bytes left", n, left)}
	}
	return nil
}

// arrayLen reads an array header; nil reads as −1.
func (d *decoder) arrayLen(what string) (int, error) { return d.header(0x90, 0xdc, what, "an array") }

// mapLen reads a map header; nil reads as −1.
func (d *decoder) mapLen(what string) (int, error) { return d.header(0x80, 0xde, what, "a map") }

// arrayOf reads the header of the array to decode into v; a nil zeroes v
// and reads as −1.
func (d *decoder) arrayOf(v reflect.Value) (int, error) {
	n, err := d.arrayLen(v.Type().String())
	if err == nil && n < 0 {
		v.SetZero()
	}
	return n, err
}

// mapOf is arrayOf for a map (or a struct, which is sent as one).
func (d *decoder) mapOf(v reflect.Value) (int, error) {
	n, err := d.mapLen(v.Type().String())
	if err == nil && n < 0 {
		v.SetZero()
	}
	return n, err
}

// header reads an array (fix 0x90, 16-bit 0xdc) or map (0x80, 0xde)
// header; nil reads as −1. It refuses, as Check does, more entries than
// the limit, than the bytes left can hold (each entry takes at least one
// byte, a map's two), and entries nested deeper than MaxDepth: after it,
// n entries may be allocated.
func (d *decoder) header(fix, long byte, what, kind string) (int, error) {
	c, err := d.code()
	if err != nil {
		return 0, err
	}
	d.off++
	var n int
	switch {
	case c&0xf0 == fix:
		n = int(c & 0x0f)
	case c == 0xc0:
		return -1, nil
	case c == long:
		n, err = d.length(2)
	case c == long+1:
		n, err = d.length(4)
	default:
		d.off--
		return 0, d.mismatch(c, what, kind)
	}
	if err != nil {
		return 0, err
	}
	entries := uint64(n)
	if d.maxLen > 0 && entries > d.maxLen {
		return 0, &Error{Offset: d.off, Reason: fmt.Sprintf("%d entries, more than the limit of %d", n, d.maxLen), Err: ErrTooLong}
	}
	if fix == 0x80 {
		entries *= 2
	}
	if left := len(d.b) - d.off; entries > uint64(left) {
		return 0, d.errorf("declared length %d exceeds the %d bytes left", entries, left)
	}
	if n > 0 && d.depth >= MaxDepth {
		return 0, d.errorf("nesting deeper than %d", MaxDepth)
	}
	return n, nil
}

// str reads a str or bin as a string that aliases the input (valid until
// the caller copies it; map keys are only compared).
func (d *decoder) str(what string) (string, error) {
	l, err := d.bytesLen(what)
	if err != nil || l <= 0 {
		return "", err
	}
	p, err := d.take(l)
	if err != nil {
		return "", err
	}
	return unsafe.String(&p[0], l), nil
}

// value decodes one value into v, which must be settable.
func (d *decoder) value(v reflect.Value) error {
	t := v.Type()
	if col, ok := columnDecoders[t]; ok {
		return col(d, v)
	}
	switch t.Kind() {
	case reflect.Bool:
		c, err := d.code()
		if err != nil {
			return err
		}
		if c != 0xc0 && c != 0xc2 && c != 0xc3 {
			return d.mismatch(c, t.String(), "a bool")
		}
		d.off++
		v.SetBool(c == 0xc3)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, _, big, err := d.integer(t.String())
		if err != nil {
			return err
		}
		if big || v.OverflowInt(n) {
			return d.errorf("integer out of the range of %s", t)
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, u, big, err := d.integer(t.String())
		if err != nil {
			return err
		}
		if !big {
			if n < 0 {
				return d.errorf("negative integer for %s", t)
			}
			u = uint64(n)
		}
		if v.OverflowUint(u) {
			return d.errorf("integer out of the range of %s", t)
		}
		v.SetUint(u)
	case reflect.Float32, reflect.Float64:
		f, err := d.float(t.String())
		if err != nil {
			return err
		}
		v.SetFloat(f)
	case reflect.String:
		s, err := d.str(t.String())
		if err != nil {
			return err
		}
		v.SetString(string([]byte(s)))
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return d.bytes(v)
		}
		n, err := d.arrayOf(v)
		if err != nil || n < 0 {
			return err
		}
		s := reflect.MakeSlice(t, n, n)
		d.depth++ // an error ends the decoding: no need to undo it
		for i := range n {
			if err := d.value(s.Index(i)); err != nil {
				return err
			}
		}
		d.depth--
		v.Set(s)
	case reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return d.errorf("byte arrays are not supported (%s)", t)
		}
		n, err := d.arrayLen(t.String())
		if err != nil {
			return err
		}
		if n > v.Len() {
			return d.errorf("%d elements for %s", n, t)
		}
		v.SetZero()
		d.depth++
		for i := range max(n, 0) {
			if err := d.value(v.Index(i)); err != nil {
				return err
			}
		}
		d.depth--
	case reflect.Map:
		return d.mapping(v)
	case reflect.Struct:
		return d.structure(v)
	case reflect.Pointer:
		if d.nil() {
			v.SetZero()
			return nil
		}
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		return d.value(v.Elem())
	default:
		if d.nil() {
			v.SetZero()
			return nil
		}
		return d.errorf("cannot decode into %s", t)
	}
	return nil
}

var bytesType = reflect.TypeFor[[]byte]()

// bytes decodes a bin or str (or nil) into a []byte-kinded slice.
func (d *decoder) bytes(v reflect.Value) error {
	l, err := d.bytesLen(v.Type().String())
	if err != nil {
		return err
	}
	if l < 0 {
		v.SetZero()
		return nil
	}
	p, err := d.take(l)
	if err != nil {
		return err
	}
	if d.views && v.Type() == bytesType {
		v.SetBytes(p[:l:l])
		return nil
	}
	s := reflect.MakeSlice(v.Type(), l, l)
	copy(s.Bytes(), p)
	v.Set(s)
	return nil
}

// mapping decodes a map with string keys.
func (d *decoder) mapping(v reflect.Value) error {
	t := v.Type()
	if t.Key().Kind() != reflect.String {
		return d.errorf("cannot decode into %s: keys must be strings", t)
	}
	n, err := d.mapOf(v)
	if err != nil || n < 0 {
		return err
	}
	m := reflect.MakeMapWithSize(t, n)
	key := reflect.New(t.Key()).Elem()
	elem := reflect.New(t.Elem()).Elem()
	d.depth++ // an error ends the decoding: no need to undo it
	for range n {
		k, err := d.str("a map key")
		if err != nil {
			return err
		}
		key.SetString(string([]byte(k)))
		elem.SetZero()
		if err := d.value(elem); err != nil {
			return err
		}
		m.SetMapIndex(key, elem)
	}
	d.depth--
	v.Set(m)
	return nil
}

// structure decodes a map into a struct's fields by name; nil zeroes it.
func (d *decoder) structure(v reflect.Value) error {
	t := v.Type()
	n, err := d.mapOf(v)
	if err != nil || n < 0 {
		return err
	}
	info := fieldsOf(t)
	if info.err != nil {
		return info.err
	}
	d.depth++
	for range n {
		k, err := d.str("a field name")
		if err != nil {
			return err
		}
		i, ok := info.byName[k]
		if !ok {
			if err := d.skip(); err != nil {
				return err
			}
			continue
		}
		if err := d.value(v.FieldByIndex(info.fields[i].index)); err != nil {
			return err
		}
	}
	d.depth--
	return nil
}
