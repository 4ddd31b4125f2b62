package bundle

import (
	"fmt"
	"unsafe"
)

// Strings is a column of strings as a bundle lays it out (FORMAT.md §5.3):
// n+1 offsets into one blob, string i being blob[offsets[i]:offsets[i+1]].
// A decoded column aliases the bundle's bytes: At makes no copy, and
// loading makes none either.
type Strings struct {
	offsets []uint32
	blob    []byte
}

// NewStrings lays out s as a column.
func NewStrings(s []string) Strings {
	total := 0
	for _, v := range s {
		total += len(v)
	}
	c := Strings{offsets: make([]uint32, len(s)+1), blob: make([]byte, 0, total)}
	for i, v := range s {
		c.blob = append(c.blob, v...)
		c.offsets[i+1] = uint32(len(c.blob))
	}
	return c
}

// Len returns the number of strings.
func (s Strings) Len() int { return max(len(s.offsets)-1, 0) }

// At returns string i. The string shares the column's bytes.
func (s Strings) At(i int) string {
	a, b := s.offsets[i], s.offsets[i+1]
	if a == b {
		return ""
	}
	return unsafe.String(&s.blob[a], int(b-a))
}

// Slice returns the strings as a slice (sharing the column's bytes).
func (s Strings) Slice() []string {
	out := make([]string, s.Len())
	for i := range out {
		out[i] = s.At(i)
	}
	return out
}

// check validates the offsets against the blob: offsets[0] = 0,
// non-decreasing, ending at the blob's length.
func (s Strings) check() error {
	if len(s.offsets) == 0 {
		return fmt.Errorf("no offsets")
	}
	if s.offsets[0] != 0 || int(s.offsets[len(s.offsets)-1]) != len(s.blob) {
		return fmt.Errorf("offsets span %d..%d, the blob holds %d bytes", s.offsets[0], s.offsets[len(s.offsets)-1], len(s.blob))
	}
	for i := 1; i < len(s.offsets); i++ {
		if s.offsets[i] < s.offsets[i-1] {
			return fmt.Errorf("offsets decrease at string %d", i-1)
		}
	}
	return nil
}
