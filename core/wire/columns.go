package wire

import (
	"reflect"
	"slices"
	"unsafe"

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
	registerColumn((*msgpack.Decoder).DecodeFloat32, fastFloat32)
	registerColumn((*msgpack.Decoder).DecodeInt32, fastInt32)
	registerColumn((*msgpack.Decoder).DecodeUint32, fastUint32)
	registerColumn((*msgpack.Decoder).DecodeInt64, fastInt64)
	registerColumn((*msgpack.Decoder).DecodeBool, fastBool)
}

// Strings is a column of strings that decodes with decodeStrings (a
// bundle's item ids and titles).
type Strings []string

// DecodeMsgpack implements msgpack.CustomDecoder.
func (s *Strings) DecodeMsgpack(d *msgpack.Decoder) error {
	v, err := decodeStrings(d)
	*s = v
	return err
}

// allocLen is how many elements to allocate for an array declared n long.
// Behind Unmarshal's sliceReader the bytes were checked first (Check), so n
// fits in them; from any other reader, whose bytes nobody checked, the
// first allocation is capped and the array grows as elements really arrive.
func allocLen(n int, r *sliceReader) int {
	if r != nil {
		return n
	}
	return min(n, 1<<12)
}

// decodeStrings decodes a msgpack array (or nil) of strings (str or bin; a
// nil element reads as "", as with reflection) into strings that share one
// backing array: two allocations for the whole column instead of one per
// string. A catalog's ids and titles are hundreds of thousands of short
// strings, and in WebAssembly allocating them one by one (and the garbage
// collections that follow) made decoding section ITEM of a 100k-item
// bundle take 0.42 s. Any one string keeps the column's bytes alive, which
// suits a bundle's columns: they live as long as the bundle.
func decodeStrings(d *msgpack.Decoder) ([]string, error) {
	n, err := d.DecodeArrayLen()
	if err != nil || n < 0 {
		return nil, err
	}
	if r, _ := d.Buffered().(*sliceReader); r != nil {
		// When every element is in a form the fast path reads, size the
		// backing array exactly in a first pass and point the strings into
		// it in a second.
		total, off, ok := 0, r.off, true
		for range n {
			l, k := fastBytesLen(r.b[off:])
			if k == 0 || l > len(r.b)-off-k {
				ok = false
				break
			}
			off += k + max(l, 0)
			total += max(l, 0)
		}
		if ok {
			out := make([]string, n)
			buf := make([]byte, total)
			pos := 0
			for i := range out {
				l, k := fastBytesLen(r.b[r.off:])
				r.off += k
				if l > 0 {
					copy(buf[pos:pos+l], r.b[r.off:])
					out[i] = unsafe.String(&buf[pos], l)
					pos += l
					r.off += l
				}
			}
			return out, nil
		}
	}
	ends := make([]int, 0, allocLen(n, nil))
	var buf []byte
	for range n {
		l, err := d.DecodeBytesLen()
		if err != nil {
			return nil, err
		}
		if l > 0 {
			start := len(buf)
			buf = slices.Grow(buf, l)[:start+l]
			if err := d.ReadFull(buf[start:]); err != nil {
				return nil, err
			}
		}
		ends = append(ends, len(buf))
	}
	out := make([]string, len(ends))
	start := 0
	for i, end := range ends {
		if end > start {
			out[i] = unsafe.String(&buf[start], end-start)
		}
		start = end
	}
	return out, nil
}

// registerColumn makes msgpack decode every []T with decodeColumn.
func registerColumn[T any](elem func(*msgpack.Decoder) (T, error), fast func([]byte) (T, int)) {
	msgpack.Register([]T(nil), nil, func(d *msgpack.Decoder, v reflect.Value) error {
		s, err := decodeColumn(d, elem, fast)
		if err == nil {
			v.Set(reflect.ValueOf(s))
		}
		return err
	})
}

// decodeColumn decodes a msgpack array (or nil) of elements read by elem.
// When the Decoder reads from Unmarshal's sliceReader, fast reads each
// element in its usual encoding straight from the bytes, and elem only the
// others: in wazero a million float32 took 185 ms through the Decoder's
// per-byte reads.
func decodeColumn[T any](d *msgpack.Decoder, elem func(*msgpack.Decoder) (T, error), fast func([]byte) (T, int)) ([]T, error) {
	n, err := d.DecodeArrayLen()
	if err != nil || n < 0 {
		return nil, err
	}
	r, _ := d.Buffered().(*sliceReader)
	s := make([]T, allocLen(n, r))
	for i := range n {
		// Only from an unchecked reader. Grown by hand: append in this
		// generic function made the compressed module 30 kB larger.
		if i == len(s) {
			grown := make([]T, min(n, 2*len(s)))
			copy(grown, s)
			s = grown
		}
		if r != nil {
			if v, k := fast(r.b[r.off:]); k > 0 {
				s[i] = v
				r.off += k
				continue
			}
		}
		if s[i], err = elem(d); err != nil {
			return nil, err
		}
	}
	return s, nil
}
