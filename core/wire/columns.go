package wire

import (
	"reflect"

	"github.com/vmihailenco/msgpack/v5"
)

// Typed decoders for the numeric columns of a bundle.
//
// # Notes
//
// msgpack/v5 decodes a []float32 (and []int32, []uint32, []int64, []bool)
// element by element through reflection. A bundle holds millions of such
// elements (the catalog's columns, the co-visitation lists), and in
// WebAssembly the reflective path made loading a 100k-item bundle take
// seconds. These decoders, registered for the plain slice types, read the
// same encodings with the Decoder's typed methods; they accept exactly what
// the reflective decoder accepts (TestColumnsMatchReflection) and keep nil
// and empty apart.
func init() {
	registerColumn((*msgpack.Decoder).DecodeFloat32)
	registerColumn((*msgpack.Decoder).DecodeInt32)
	registerColumn((*msgpack.Decoder).DecodeUint32)
	registerColumn((*msgpack.Decoder).DecodeInt64)
	registerColumn((*msgpack.Decoder).DecodeBool)
}

// registerColumn makes msgpack decode every []T with decodeColumn.
func registerColumn[T any](elem func(*msgpack.Decoder) (T, error)) {
	msgpack.Register([]T(nil), nil, func(d *msgpack.Decoder, v reflect.Value) error {
		s, err := decodeColumn(d, elem)
		if err == nil {
			v.Set(reflect.ValueOf(s))
		}
		return err
	})
}

// decodeColumn decodes a msgpack array (or nil) of elements read by elem.
func decodeColumn[T any](d *msgpack.Decoder, elem func(*msgpack.Decoder) (T, error)) ([]T, error) {
	n, err := d.DecodeArrayLen()
	if err != nil || n < 0 {
		return nil, err
	}
	s := make([]T, n)
	for i := range s {
		if s[i], err = elem(d); err != nil {
			return nil, err
		}
	}
	return s, nil
}
