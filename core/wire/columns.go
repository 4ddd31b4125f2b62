package wire

import (
	"math"
	"reflect"
	"unsafe"
)

// Typed decoders for the columns of a bundle.
//
// # Notes
//
// A bundle holds millions of numbers in plain slices (the catalog's
// columns, the co-visitation lists) and hundreds of thousands of short
// strings (ids, titles). Decoded element by element through reflection
// they made loading a 100k-item bundle take seconds in WebAssembly; these
// decoders read the elements with typed readers straight from the bytes,
// and a string column into one backing array. They accept exactly what
// the reflective path accepts (TestColumnsMatchReflection).
var columnDecoders = map[reflect.Type]func(*decoder, reflect.Value) error{
	reflect.TypeFor[[]float32](): column(fastFloat32, func(d *decoder) (float32, error) {
		f, err := d.float("[]float32")
		return float32(f), err
	}),
	reflect.TypeFor[[]int32](): column(fastInt32, func(d *decoder) (int32, error) {
		n, err := d.int("[]int32", math.MinInt32, math.MaxInt32)
		return int32(n), err
	}),
	reflect.TypeFor[[]uint32](): column(fastUint32, func(d *decoder) (uint32, error) {
		n, err := d.int("[]uint32", 0, math.MaxUint32)
		return uint32(n), err
	}),
	reflect.TypeFor[[]int64](): column(fastInt, func(d *decoder) (int64, error) {
		return d.int("[]int64", math.MinInt64, math.MaxInt64)
	}),
	reflect.TypeFor[[]bool](): column(fastBool, func(d *decoder) (bool, error) {
		c, err := d.code()
		if err == nil && c != 0xc0 {
			err = d.mismatch(c, "[]bool", "a bool")
		}
		d.off++
		return false, err
	}),
	reflect.TypeFor[Strings](): func(d *decoder, v reflect.Value) error {
		s, err := d.strings()
		if err == nil {
			v.Set(reflect.ValueOf(Strings(s)))
		}
		return err
	},
}

// Strings is a column of strings that decodes into one backing array (a
// bundle's item ids and titles).
type Strings []string

// int reads an integer in [lo, hi].
func (d *decoder) int(what string, lo, hi int64) (int64, error) {
	n, _, big, err := d.integer(what)
	if err == nil && (big || n < lo || n > hi) {
		err = d.errorf("integer out of the range of %s", what)
	}
	return n, err
}

// column returns the decoder of an array (or nil) of elements: fast reads
// an element in its usual encoding straight from the bytes (a call per
// element, where elem's general path is several), elem any other encoding
// (TestColumnsMatchReflection holds the two to the reflective path).
func column[T any](fast func([]byte) (T, int), elem func(*decoder) (T, error)) func(*decoder, reflect.Value) error {
	return func(d *decoder, v reflect.Value) error {
		n, err := d.arrayOf(v)
		if err != nil || n < 0 {
			return err
		}
		// header has made sure the n elements fit in the bytes left.
		s := make([]T, n)
		for i := range s {
			if x, k := fast(d.b[d.off:]); k > 0 {
				s[i] = x
				d.off += k
				continue
			}
			if s[i], err = elem(d); err != nil {
				return err
			}
		}
		v.Set(reflect.ValueOf(s))
		return nil
	}
}

// strings decodes an array (or nil) of strings (str or bin; nil reads as
// "") into strings that share one backing array: two allocations for the
// whole column instead of one per string. A catalog's ids and titles are
// hundreds of thousands of short strings, and in WebAssembly allocating
// them one by one (and the garbage collections that follow) made decoding
// section ITEM of a 100k-item bundle take 0.42 s. Any one string keeps
// the column's bytes alive, which suits a bundle's columns: they live as
// long as the bundle.
func (d *decoder) strings() ([]string, error) {
	n, err := d.arrayLen("a string column")
	if err != nil || n < 0 {
		return nil, err
	}
	// First pass: the total length, so that the backing array is sized
	// exactly.
	start, total := d.off, 0
	for range n {
		l, err := d.bytesLen("a string column")
		if err != nil {
			return nil, err
		}
		if _, err := d.take(max(l, 0)); err != nil {
			return nil, err
		}
		total += max(l, 0)
	}
	d.off = start
	out := make([]string, n)
	buf := make([]byte, total)
	pos := 0
	for i := range out {
		l, _ := d.bytesLen("")
		if l > 0 {
			copy(buf[pos:pos+l], d.b[d.off:])
			out[i] = unsafe.String(&buf[pos], l)
			pos += l
			d.off += l
		}
	}
	return out, nil
}
