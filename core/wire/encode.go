package wire

import (
	"fmt"
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
		e.b = AppendNil(e.b)
		return nil
	}
	switch v.Kind() {
	case reflect.Bool:
		e.b = AppendBool(e.b, v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.b = AppendInt(e.b, v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.b = AppendUint(e.b, v.Uint())
	case reflect.Float32:
		e.b = AppendFloat32(e.b, float32(v.Float()))
	case reflect.Float64:
		e.b = AppendFloat64(e.b, v.Float())
	case reflect.String:
		e.b = AppendString(e.b, v.String())
	case reflect.Slice:
		if v.IsNil() {
			e.b = AppendNil(e.b)
			return nil
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			e.b = AppendBytes(e.b, v.Bytes())
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
			e.b = AppendNil(e.b)
			return nil
		}
		return e.value(v.Elem())
	default:
		return fmt.Errorf("msgpack: cannot encode %s", v.Type())
	}
	return nil
}

func (e *encoder) array(v reflect.Value) error {
	if v.Kind() == reflect.Array && v.Type().Elem().Kind() == reflect.Uint8 {
		return fmt.Errorf("msgpack: cannot encode %s", v.Type())
	}
	n := v.Len()
	e.b = AppendArrayHeader(e.b, n)
	for i := range n {
		if err := e.value(v.Index(i)); err != nil {
			return err
		}
	}
	return nil
}

func (e *encoder) mapping(v reflect.Value) error {
	if v.IsNil() {
		e.b = AppendNil(e.b)
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
	e.b = AppendMapHeader(e.b, len(keys))
	for _, k := range keys {
		e.b = AppendString(e.b, k)
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
	e.b = AppendMapHeader(e.b, n)
	for _, f := range info.fields {
		fv := v.FieldByIndex(f.index)
		if f.omitEmpty && isEmpty(fv) {
			continue
		}
		e.b = AppendString(e.b, f.name)
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
