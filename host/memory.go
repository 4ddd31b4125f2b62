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

// LoadFootprint is about the linear memory a guest holds once it has
// loaded a bundle of bundleBytes: the bundle, the Go runtime and the
// heap's headroom after a load (wasm/ABI.md) — what Options.PrefaultBytes
// is set to for the bundle about to load.
func LoadFootprint(bundleBytes int64) uint64 { return uint64(bundleBytes) + 8<<20 }

// prefault is a reservation being faulted in ahead of its instance
// (Options.PrefaultBytes); a nil one holds nothing.
type prefault struct {
	done chan struct{}
	buf  []byte // the whole reservation; nil if it failed
}

// take waits for the faulting to finish and returns the reservation, once.
func (p *prefault) take() []byte {
	if p == nil {
		return nil
	}
	<-p.done
	b := p.buf
	p.buf = nil
	return b
}

// NewBuffer returns a zeroed slice of n bytes for a bundle about to be
// read into it, its pages faulted in as huge pages where Linux allows
// (adviseHuge): a bundle read at start is the largest piece of fresh
// memory an edge node fills before its first answer. The slice is an
// ordinary Go slice, collected like any other.
func NewBuffer(n int) []byte {
	b := make([]byte, n)
	adviseHuge(b)
	return b
}
