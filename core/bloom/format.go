package bloom

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/bits"
)

// The serialized form (see the package documentation for the layout).
const (
	// Magic opens every serialized filter.
	Magic = "ERBF"
	// Version is the format version this package writes and the only one
	// it reads.
	Version = 1
	// HeaderSize is the size of the fixed header: magic, version, k, two
	// reserved bytes, m.
	HeaderSize = 12
	// TrailerSize is the size of the CRC-32C that ends a filter.
	TrailerSize = 4
)

// castagnoli is the CRC-32C table (Castagnoli, Bräuer and Herrmann 1993;
// the CRC of iSCSI, RFC 3720 §B.4).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// FormatError reports serialized filter bytes that Decode refuses.
// Typically this indicates a truncated or damaged cookie or storage entry,
// or bytes that are not a filter at all: make a new filter.
type FormatError struct {
	Offset int    // byte offset of the offending field
	Reason string // what was wrong
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("bloom: malformed filter: %s (at byte %d)", e.Reason, e.Offset)
}

func formatErr(off int, format string, args ...any) error {
	return &FormatError{Offset: off, Reason: fmt.Sprintf(format, args...)}
}

// Size returns the serialized size of a filter of m bits: HeaderSize + m/8
// + TrailerSize.
func Size(m int) int { return HeaderSize + m/8 + TrailerSize }

// MarshalBinary returns the serialized filter (package documentation,
// "Serialized form"). It never fails for a filter made by New or Decode.
func (f *Filter) MarshalBinary() ([]byte, error) {
	return f.AppendBinary(make([]byte, 0, Size(f.M())))
}

// AppendBinary appends the serialized filter to b and returns the extended
// slice.
func (f *Filter) AppendBinary(b []byte) ([]byte, error) {
	if len(f.words) == 0 || f.M() > MaxBits || f.k < 1 || f.k > MaxHashes {
		return b, fmt.Errorf("bloom: cannot serialize a filter of m = %d bits, k = %d (make filters with New or Decode)", f.M(), f.k)
	}
	start := len(b)
	b = append(b, Magic...)
	b = append(b, Version, byte(f.k), 0, 0)
	b = binary.LittleEndian.AppendUint32(b, uint32(f.M()))
	for _, w := range f.words {
		b = binary.LittleEndian.AppendUint64(b, w)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli)), nil
}

// Decode decodes a serialized filter. It checks, in this order: that b
// holds a header, the magic, the version, k in [1, MaxHashes], the reserved
// bytes zero, m in [MinBits, MaxBits] and a multiple of 64, the exact total
// length, and the CRC-32C. Every refusal is a *FormatError naming the first
// check that failed. Decode allocates only after all of them pass, never
// keeps a reference to b, and never panics.
func Decode(b []byte) (*Filter, error) {
	k, err := check(b)
	if err != nil {
		return nil, err
	}
	words := make([]uint64, (len(b)-HeaderSize-TrailerSize)/8)
	for i := range words {
		words[i] = binary.LittleEndian.Uint64(b[HeaderSize+8*i:])
	}
	return &Filter{words: words, k: k}, nil
}

// check makes Decode's checks of a serialized filter and returns its k.
func check(b []byte) (int, error) {
	if len(b) < HeaderSize {
		return 0, formatErr(0, "%d bytes, shorter than the %d-byte header", len(b), HeaderSize)
	}
	if string(b[:4]) != Magic {
		return 0, formatErr(0, "magic %q, want %q", b[:4], Magic)
	}
	if v := b[4]; v != Version {
		return 0, formatErr(4, "format version %d is not supported (this reader reads version %d)", v, Version)
	}
	k := int(b[5])
	if k < 1 || k > MaxHashes {
		return 0, formatErr(5, "k = %d hash functions, want 1 to %d", k, MaxHashes)
	}
	if b[6] != 0 || b[7] != 0 {
		return 0, formatErr(6, "reserved bytes 0x%02x 0x%02x, want zero", b[6], b[7])
	}
	m := binary.LittleEndian.Uint32(b[8:])
	if m < MinBits || m > MaxBits || m%64 != 0 {
		return 0, formatErr(8, "m = %d bits, want a multiple of 64 from %d to %d", m, MinBits, MaxBits)
	}
	if want := Size(int(m)); len(b) != want {
		return 0, formatErr(len(b), "%d bytes, want exactly %d for m = %d bits", len(b), want, m)
	}
	body := len(b) - TrailerSize
	if sum, stored := crc32.Checksum(b[:body], castagnoli), binary.LittleEndian.Uint32(b[body:]); sum != stored {
		return 0, formatErr(body, "stored checksum 0x%08x, computed 0x%08x: the filter is damaged", stored, sum)
	}
	return k, nil
}

// View is a serialized filter read where it lies: what a server does with
// the filter a request carries, whose bits it only tests, without a copy
// of them. It answers MayContain and EstimatedFPRate as the Filter
// Decode would return.
type View struct {
	bits []byte // bit j is bits[j/8] bit j%8: the words' little-endian bytes
	k    int
}

// NewView checks b as Decode does and returns a View of it, which keeps a
// reference to b: b must not change while the View is used.
func NewView(b []byte) (*View, error) {
	k, err := check(b)
	if err != nil {
		return nil, err
	}
	return &View{bits: b[HeaderSize : len(b)-TrailerSize], k: k}, nil
}

// M returns the number of bits m.
func (v *View) M() int { return 8 * len(v.bits) }

// MayContain is Filter.MayContain.
func (v *View) MayContain(id string) bool {
	m := uint64(len(v.bits)) * 8
	pos, step := probe(id, m)
	for range v.k {
		if v.bits[pos>>3]&(1<<(pos&7)) == 0 {
			return false
		}
		if pos += step; pos >= m {
			pos -= m
		}
	}
	return true
}

// EstimatedFPRate is Filter.EstimatedFPRate.
func (v *View) EstimatedFPRate() float64 {
	n := 0
	for i := 0; i < len(v.bits); i += 8 {
		n += bits.OnesCount64(binary.LittleEndian.Uint64(v.bits[i:]))
	}
	return fpRate(n, v.M(), v.k)
}

// UnmarshalBinary replaces f with the filter serialized in b (see Decode).
// On error f is unchanged.
func (f *Filter) UnmarshalBinary(b []byte) error {
	g, err := Decode(b)
	if err != nil {
		return err
	}
	*f = *g
	return nil
}
