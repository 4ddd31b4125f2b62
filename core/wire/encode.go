package wire

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"sort"
)

// Marshal encodes v as msgpack: the bytes msgpack/v5 writes with compact
// integers, float32 kept as float32, and sorted map keys
// (TestMarshalMatchesMsgpack). A struct is a map keyed by its fields'
// msgpack tag names in field order, without the omitempty fields that are
// empty; a nil slice, map or pointer is nil; a []byte is bin. Maps must
// have string keys; their keys are always sorted, so equal values encode
// to equal bytes.
func Marshal(v any) ([]byte, error) {
	e := encoder{}
	if err := e.value(reflect.ValueOf(v)); err != nil {
		return nil, err
	}
	return e.b, nil
}

type encoder struct{ b []byte }

func (e *encoder) value(v reflect.Value) error {
	if !v.IsValid() {
		e.b = append(e.b, 0xc0)
		return nil
	}
	switch v.Kind() {
	case reflect.Bool:
		if v.Bool() {
			e.b = append(e.b, 0xc3)
		} else {
			e.b = append(e.b, 0xc2)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.int(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.uint(v.Uint())
	case reflect.Float32:
		e.b = binary.BigEndian.AppendUint32(append(e.b, 0xca), math.Float32bits(float32(v.Float())))
	case reflect.Float64:
		e.b = binary.BigEndian.AppendUint64(append(e.b, 0xcb), math.Float64bits(v.Float()))
	case reflect.String:
		e.str(v.String())
	case reflect.Slice:
		if v.IsNil() {
			e.b = append(e.b, 0xc0)
			return nil
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			e.bin(v.Bytes())
			return nil
		}
		return e.array(v)
	case reflect.Array:
		return e.array(v)
	case reflect.Map:
		return e.mapping(v)
	case reflect.Struct:
		return e.structure(v)
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			e.b = append(e.b, 0xc0)
			return nil
		}
		return e.value(v.Elem())
	default:
		return fmt.Errorf("msgpack: cannot encode %s", v.Type())
	}
	return nil
}

// int writes n in the shortest form, a non-negative one as unsigned.
func (e *encoder) int(n int64) {
	switch {
	case n >= 0:
		e.uint(uint64(n))
	case n >= -32:
		e.b = append(e.b, byte(n))
	case n >= math.MinInt8:
		e.b = append(e.b, 0xd0, byte(n))
	case n >= math.MinInt16:
		e.b = binary.BigEndian.AppendUint16(append(e.b, 0xd1), uint16(n))
	case n >= math.MinInt32:
		e.b = binary.BigEndian.AppendUint32(append(e.b, 0xd2), uint32(n))
	default:
		e.b = binary.BigEndian.AppendUint64(append(e.b, 0xd3), uint64(n))
	}
}

func (e *encoder) uint(n uint64) {
	switch {
	case n <= math.MaxInt8:
		e.b = append(e.b, byte(n))
	case n <= math.MaxUint8:
		e.b = append(e.b, 0xcc, byte(n))
	case n <= math.MaxUint16:
		e.b = binary.BigEndian.AppendUint16(append(e.b, 0xcd), uint16(n))
	case n <= math.MaxUint32:
		e.b = binary.BigEndian.AppendUint32(append(e.b, 0xce), uint32(n))
	default:
		e.b = binary.BigEndian.AppendUint64(append(e.b, 0xcf), n)
	}
}

func (e *encoder) str(s string) {
	n := len(s)
	switch {
	case n < 32:
		e.b = append(e.b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		e.b = append(e.b, 0xd9, byte(n))
	case n <= math.MaxUint16:
		e.b = binary.BigEndian.AppendUint16(append(e.b, 0xda), uint16(n))
	default:
		e.b = binary.BigEndian.AppendUint32(append(e.b, 0xdb), uint32(n))
	}
	e.b = append(e.b, s...)
}

func (e *encoder) bin(p []byte) {
	n := len(p)
	switch {
	case n <= math.MaxUint8:
		e.b = append(e.b, 0xc4, byte(n))
	case n <= math.MaxUint16:
		e.b = binary.BigEndian.AppendUint16(append(e.b, 0xc5), uint16(n))
	default:
		e.b = binary.BigEndian.AppendUint32(append(e.b, 0xc6), uint32(n))
	}
	e.b = append(e.b, p...)
}

// header writes an array (fix 0x90, 16-bit 0xdc) or map (0x80, 0xde)
// header for n entries.
func (e *encoder) header(fix, long byte, n int) {
	switch {
	case n < 16:
		e.b = append(e.b, fix|byte(n))
	case n <= math.MaxUint16:
		e.b = binary.BigEndian.AppendUint16(append(e.b, long), uint16(n))
	default:
		e.b = binary.BigEndian.AppendUint32(append(e.b, long+1), uint32(n))
	}
}

func (e *encoder) array(v reflect.Value) error {
	if v.Kind() == reflect.Array && v.Type().Elem().Kind() == reflect.Uint8 {
		return fmt.Errorf("msgpack: cannot encode %s", v.Type())
	}
	n := v.Len()
	e.header(0x90, 0xdc, n)
	for i := range n {
		if err := e.value(v.Index(i)); err != nil {
			return err
		}
	}
	return nil
}

func (e *encoder) mapping(v reflect.Value) error {
	if v.IsNil() {
		e.b = append(e.b, 0xc0)
		return nil
	}
	if v.Type().Key().Kind() != reflect.String {
		return fmt.Errorf("msgpack: cannot encode %s: keys must be strings", v.Type())
	}
	keys := make([]string, 0, v.Len())
	for it := v.MapRange(); it.Next(); {
		keys = append(keys, it.Key().String())
	}
	sort.Strings(keys)
	kt := v.Type().Key()
	e.header(0x80, 0xde, len(keys))
	for _, k := range keys {
		e.str(k)
		if err := e.value(v.MapIndex(reflect.ValueOf(k).Convert(kt))); err != nil {
			return err
		}
	}
	return nil
}

func (e *encoder) structure(v reflect.Value) error {
	info := fieldsOf(v.Type())
	if info.err != nil {
		return info.err
	}
	n := 0
	for _, f := range info.fields {
		if !f.omitEmpty || !isEmpty(v.FieldByIndex(f.index)) {
			n++
		}
	}
	e.header(0x80, 0xde, n)
	for _, f := range info.fields {
		fv := v.FieldByIndex(f.index)
		if f.omitEmpty && isEmpty(fv) {
			continue
		}
		e.str(f.name)
		if err := e.value(fv); err != nil {
			return err
		}
	}
	return nil
}

// isEmpty is msgpack/v5's test for omitempty: length zero, false, zero, or
// nil; a struct is empty when it would encode no field (each is omitempty
// and empty).
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	case reflect.Struct:
		for _, f := range fieldsOf(v.Type()).fields {
			if !f.omitEmpty || !isEmpty(v.FieldByIndex(f.index)) {
				return false
			}
		}
		return true
	}
	return false
}
