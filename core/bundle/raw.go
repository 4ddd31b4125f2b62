package bundle

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// The raw sections of format 2 (FORMAT.md §8) are little-endian arrays,
// each aligned to its element's size within its section, which itself
// starts at a multiple of 8 in the file. A reader on a little-endian
// machine whose buffer is aligned (a Go allocation is, and the module's
// bundle buffer is) uses them in place; any other reader copies them.

// number is an element type of a raw array.
type number interface {
	~uint8 | ~int8 | ~uint16 | ~uint32 | ~int32 | ~float32 | ~int64 | ~uint64
}

// littleEndian reports whether this machine stores integers little-endian
// (wasm, amd64, arm64 and 386 do).
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// rawWriter lays out a raw section.
type rawWriter struct{ b []byte }

// alignTo pads with zeros to a multiple of n.
func (w *rawWriter) alignTo(n int) {
	for len(w.b)%n != 0 {
		w.b = append(w.b, 0)
	}
}

func (w *rawWriter) u32(v uint32) { w.b = binary.LittleEndian.AppendUint32(w.b, v) }

// putArray appends s aligned to its element size.
func putArray[T number](w *rawWriter, s []T) {
	var zero T
	size := int(unsafe.Sizeof(zero))
	w.alignTo(size)
	for _, v := range s {
		switch size {
		case 1:
			w.b = append(w.b, byte(v))
		case 2:
			w.b = binary.LittleEndian.AppendUint16(w.b, uint16(v))
		case 4:
			w.b = binary.LittleEndian.AppendUint32(w.b, bits32(v))
		case 8:
			w.b = binary.LittleEndian.AppendUint64(w.b, bits64(v))
		}
	}
}

func bits32[T number](v T) uint32 {
	if f, ok := any(v).(float32); ok {
		return math.Float32bits(f)
	}
	return uint32(v)
}

func bits64[T number](v T) uint64 { return uint64(v) }

// finish pads the section to a multiple of 8 and returns it.
func (w *rawWriter) finish() []byte {
	w.alignTo(8)
	return w.b
}

// rawReader reads a raw section, checking every length against the bytes
// left before it is used.
type rawReader struct {
	tag string
	b   []byte
	off int
	err error
}

func (r *rawReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = formatErr(r.tag, format, args...)
	}
}

// u32 reads one uint32 (at a multiple of 4).
func (r *rawReader) u32() uint32 {
	s := readArray[uint32](r, 1, "a header field")
	if len(s) == 0 {
		return 0
	}
	return s[0]
}

// readArray reads n elements aligned to their size: the padding before
// them must be zero. It aliases the section when it can (see above) and
// copies otherwise; nil after an error.
func readArray[T number](r *rawReader, n int, what string) []T {
	if r.err != nil {
		return nil
	}
	var zero T
	size := int(unsafe.Sizeof(zero))
	start := (r.off + size - 1) / size * size
	if start > len(r.b) {
		r.fail("%s: section ends at %d, before its alignment", what, len(r.b))
		return nil
	}
	for _, p := range r.b[r.off:start] {
		if p != 0 {
			r.fail("%s: non-zero padding at %d", what, r.off)
			return nil
		}
	}
	if n < 0 || uint64(n) > uint64(len(r.b)-start)/uint64(size) {
		r.fail("%s: %d elements of %d bytes at %d overrun the section's %d bytes", what, n, size, start, len(r.b))
		return nil
	}
	r.off = start + n*size
	if n == 0 {
		return []T{}
	}
	src := r.b[start : start+n*size]
	if littleEndian && uintptr(unsafe.Pointer(&src[0]))%uintptr(size) == 0 {
		return unsafe.Slice((*T)(unsafe.Pointer(&src[0])), n)
	}
	out := make([]T, n)
	for i := range out {
		switch size {
		case 1:
			out[i] = T(src[i])
		case 2:
			out[i] = T(binary.LittleEndian.Uint16(src[2*i:]))
		case 4:
			u := binary.LittleEndian.Uint32(src[4*i:])
			if _, ok := any(zero).(float32); ok {
				out[i] = T(math.Float32frombits(u))
			} else {
				out[i] = T(u)
			}
		case 8:
			out[i] = T(binary.LittleEndian.Uint64(src[8*i:]))
		}
	}
	return out
}

// end checks that only zero padding to a multiple of 8 is left.
func (r *rawReader) end() error {
	if r.err != nil {
		return r.err
	}
	rest := r.b[r.off:]
	if len(rest) >= 8 {
		return formatErr(r.tag, "%d bytes after the last array", len(rest))
	}
	for _, p := range rest {
		if p != 0 {
			return formatErr(r.tag, "non-zero padding at the end")
		}
	}
	return nil
}
