package ann

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unsafe"

	"github.com/edgerec/edgerec/core/quant"
)

// The byte layout of an IVFPQ, written by MarshalBinary and read by
// DecodeIVFPQ: little-endian throughout, each array starting at a
// multiple of 8 bytes from the start and zero-padded to one, so that a
// reader on a little-endian machine can alias the arrays in place when
// the bytes start 8-byte aligned (bundle sections do):
//
//	offset  bytes           field
//	0       4               magic "IVPQ"
//	4       2               layout version, 1
//	6       2               zero
//	8       4               dim: vector width, a multiple of M, ≤ quant.MaxPQDim
//	12      4               M: subspaces, bytes per code
//	16      4               lists: 1 … MaxLists
//	20      4               rows
//	24      4               nprobe: the default, 1 … lists
//	28      4               zero
//	32      4·256·dim       codebooks, float32 [M][256][dim/M]
//	        lists·dim       centroid codes, int8 [lists][dim], padded to 8
//	        4·lists         centroid scales, float32 [lists], padded to 8
//	        4·(lists+1)     offsets, uint32 [lists+1], padded to 8
//	        M·rows          codes, uint8 [rows][M], padded to 8
//
// The bytes end with the codes' padding: 32 + 1024·dim + pad8(lists·dim)
// + pad8(4·lists) + pad8(4·(lists+1)) + pad8(M·rows) in all. Centroid l
// is scale[l]·code[l][j] (quant.Int8). Rows are grouped by list as IVFPQ
// describes.
const (
	ivfpqMagic   = "IVPQ"
	ivfpqVersion = 1
	ivfpqHeader  = 32
)

// ErrIVFPQFormat is returned (wrapped, with what was wrong) by DecodeIVFPQ
// for bytes that are not an IVFPQ of this layout. Typically this indicates
// a corrupted or truncated section.
var ErrIVFPQFormat = errors.New("ann: malformed IVFPQ bytes")

// pad8 rounds n up to a multiple of 8.
func pad8(n uint64) uint64 { return (n + 7) &^ 7 }

// ivfpqSizes returns the byte sizes of the five arrays (padded) for a
// header's counts; counts are bounded before, so nothing overflows.
func ivfpqSizes(dim, m, lists, rows uint64) (codebooks, centroids, scales, offsets, codes uint64) {
	return 4 * quant.PQCentroids * dim, pad8(lists * dim), pad8(4 * lists), pad8(4 * (lists + 1)), pad8(m * rows)
}

// MarshalBinary returns the bytes of the index in the layout above. It
// returns an error if the index is not valid (Validate).
func (ix *IVFPQ) MarshalBinary() ([]byte, error) {
	if err := ix.Validate(); err != nil {
		return nil, err
	}
	p := ix.PQ
	dim, m, lists, rows := uint64(p.Dim), uint64(p.M), uint64(ix.Lists()), uint64(ix.Rows())
	if rows > math.MaxInt32 {
		return nil, fmt.Errorf("ivfpq: %d rows, at most %d", rows, math.MaxInt32)
	}
	cb, ce, sc, of, co := ivfpqSizes(dim, m, lists, rows)
	b := make([]byte, 0, ivfpqHeader+cb+ce+sc+of+co)
	b = append(b, ivfpqMagic...)
	b = binary.LittleEndian.AppendUint16(b, ivfpqVersion)
	b = binary.LittleEndian.AppendUint16(b, 0)
	for _, v := range []uint64{dim, m, lists, rows, uint64(ix.NProbe), 0} {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	for _, v := range p.Codebooks {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	for _, v := range ix.Centroids.Codes {
		b = append(b, byte(v))
	}
	b = zeroPad(b)
	for _, v := range ix.Centroids.Scales {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	b = zeroPad(b)
	for _, v := range ix.Offsets {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	b = zeroPad(b)
	b = append(b, ix.Codes...)
	return zeroPad(b), nil
}

func zeroPad(b []byte) []byte {
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	return b
}

// DecodeIVFPQ reads an index from b, laid out as MarshalBinary writes it.
// It checks the magic, the version, the counts against their bounds and
// the length of b against what they imply before it slices or allocates,
// then the index itself (Validate: offsets, finite floats), and calls
// Prepare. On a little-endian machine with b 4-byte aligned the index
// aliases b (b must then not change while the index is used); otherwise
// the float and offset arrays are copied. Codes (of the rows and of the
// centroids) always alias b, and the word kernels read them only from an
// 8-byte aligned b (otherwise their reference loops run, several times
// slower): pass a bundle section, which starts aligned. Errors
// wrap ErrIVFPQFormat.
func DecodeIVFPQ(b []byte) (*IVFPQ, error) {
	bad := func(format string, a ...any) (*IVFPQ, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{ErrIVFPQFormat}, a...)...)
	}
	if len(b) < ivfpqHeader {
		return bad("%d bytes, shorter than the %d-byte header", len(b), ivfpqHeader)
	}
	if string(b[:4]) != ivfpqMagic {
		return bad("magic %q, want %q", b[:4], ivfpqMagic)
	}
	if v := binary.LittleEndian.Uint16(b[4:]); v != ivfpqVersion {
		return bad("layout version %d, this reader knows %d", v, ivfpqVersion)
	}
	u := func(off int) uint64 { return uint64(binary.LittleEndian.Uint32(b[off:])) }
	dim, m, lists, rows, nprobe := u(8), u(12), u(16), u(20), u(24)
	switch {
	case binary.LittleEndian.Uint16(b[6:]) != 0 || u(28) != 0:
		return bad("reserved header fields are not zero")
	case m < 1 || dim < m || dim > quant.MaxPQDim || dim%m != 0:
		return bad("%d subspaces of a %d-dim vector", m, dim)
	case lists < 1 || lists > MaxLists:
		return bad("%d lists, want 1…%d", lists, MaxLists)
	case rows > math.MaxInt32:
		return bad("%d rows", rows)
	case nprobe < 1 || nprobe > lists:
		return bad("default nprobe %d outside 1…%d", nprobe, lists)
	}
	cb, ce, sc, of, co := ivfpqSizes(dim, m, lists, rows)
	if want := ivfpqHeader + cb + ce + sc + of + co; uint64(len(b)) != want {
		return bad("%d bytes, the header's counts need %d", len(b), want)
	}
	// Padding must be zero, so that the bytes of an index are unique.
	end := uint64(ivfpqHeader) + cb
	for _, a := range [][2]uint64{{lists * dim, ce}, {4 * lists, sc}, {4 * (lists + 1), of}, {m * rows, co}} {
		for _, c := range b[end+a[0] : end+a[1]] {
			if c != 0 {
				return bad("padding is not zero")
			}
		}
		end += a[1]
	}
	rest := b[ivfpqHeader:]
	take := func(n uint64) []byte {
		s := rest[:n:n]
		rest = rest[n:]
		return s
	}
	ix := &IVFPQ{
		PQ: &quant.PQ{Dim: int(dim), M: int(m), Codebooks: float32s(take(cb), int(quant.PQCentroids*dim))},
		Centroids: &quant.Int8{Rows: int(lists), Dim: int(dim), Codes: int8s(take(ce)[:lists*dim]),
			Scales: float32s(take(sc), int(lists))},
		Offsets: uint32s(take(of), int(lists+1)),
		Codes:   take(co)[:m*rows],
		NProbe:  int(nprobe),
	}
	if err := ix.Validate(); err != nil {
		return bad("%v", err)
	}
	ix.Prepare()
	return ix, nil
}

// int8s returns b as int8s, aliasing it.
func int8s(b []byte) []int8 {
	if len(b) == 0 {
		return []int8{}
	}
	return unsafe.Slice((*int8)(unsafe.Pointer(&b[0])), len(b))
}

// hostLittleEndian reports whether the machine stores the low byte first,
// so that little-endian arrays can be aliased.
var hostLittleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// float32s returns the first n little-endian float32s of b (len(b) ≥ 4n),
// aliasing b when it can.
func float32s(b []byte, n int) []float32 {
	if n == 0 {
		return []float32{}
	}
	if hostLittleEndian && uintptr(unsafe.Pointer(&b[0]))%4 == 0 {
		return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n)
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// uint32s returns the first n little-endian uint32s of b (len(b) ≥ 4n),
// aliasing b when it can.
func uint32s(b []byte, n int) []uint32 {
	if hostLittleEndian && uintptr(unsafe.Pointer(&b[0]))%4 == 0 {
		return unsafe.Slice((*uint32)(unsafe.Pointer(&b[0])), n)
	}
	out := make([]uint32, n)
	for i := range out {
		out[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return out
}
