package host

// sliceMemory is a linear memory in a Go slice that grows by copying into
// one of twice the capacity: Options.ReserveMemory's fallback when no
// address space can be reserved.
type sliceMemory struct {
	buf   []byte
	limit uint64 // the memory's maximum length, 0 unknown
}

// Reallocate implements experimental.LinearMemory. Bytes past the old
// length are zero: a fresh slice's, or never written below its capacity
// (a linear memory only grows).
func (m *sliceMemory) Reallocate(size uint64) []byte {
	if size > uint64(cap(m.buf)) {
		c := max(size, 2*uint64(cap(m.buf)))
		if m.limit > 0 {
			c = max(size, min(c, m.limit))
		}
		grown := make([]byte, size, c)
		copy(grown, m.buf)
		m.buf = grown
	}
	m.buf = m.buf[:size]
	return m.buf
}

// Free implements experimental.LinearMemory.
func (m *sliceMemory) Free() { m.buf = nil }
