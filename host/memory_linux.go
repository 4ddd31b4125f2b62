package host

import (
	"bytes"
	"os"
	"syscall"

	"github.com/tetratelabs/wazero/experimental"
)

// reservedAllocator returns the allocator of Options.ReserveMemory: each
// linear memory is one anonymous mapping of its maximum size, reserved up
// front (MAP_NORESERVE: the kernel backs a page when the guest first
// touches it), so growing the memory never moves or copies it.
//
// # Notes
//
// Measured with edgerec bench at 100k items, alternating with the default
// memory in one series (three runs each): loading 365–373 ms against
// 599–804, recommend p50 1.91–1.95 ms against 1.87–1.89. Reallocate
// touches each new page as it grows the view, as the default memory does
// by zeroing: left to fault in one by one during later calls, the pages
// made requests 7 % slower (p50 2.01–2.03 ms). A Go slice allocated at its
// full capacity up front (wazero's WithMemoryCapacityFromMax, 1.97–2.02
// ms) and a slice that doubles (1.98–2.01 ms) showed the same cost of
// untouched pages. The mapping asks for transparent huge pages
// (adviseHuge): faulting memory in a 4 KiB page at a time is most of a
// load's cost on a virtual machine (RATIONALE.md, "Huge pages for the
// memory a start fills").
//
// spare, when not nil, is a reservation faulted in ahead
// (Options.PrefaultBytes): the memory takes it if it is of the size
// wanted, else releases it.
func reservedAllocator(spare *prefault) experimental.MemoryAllocator {
	if strictOvercommit() {
		spare.release()
		return nil
	}
	return experimental.MemoryAllocatorFunc(func(capacity, max uint64) experimental.LinearMemory {
		if b := spare.take(); b != nil {
			if uint64(len(b)) == max {
				return &reservedMemory{buf: b[:0]}
			}
			_ = syscall.Munmap(b)
		}
		if b, err := reserve(max); err == nil {
			return &reservedMemory{buf: b[:0]}
		}
		// No maximum, or no address space to reserve: grow by copying.
		return &sliceMemory{buf: make([]byte, 0, capacity), limit: max}
	})
}

// strictOvercommit reports vm.overcommit_memory = 2: strict accounting
// ignores MAP_NORESERVE, so each reservation would be charged in full
// against the commit limit.
func strictOvercommit() bool {
	b, err := os.ReadFile("/proc/sys/vm/overcommit_memory")
	return err == nil && bytes.HasPrefix(bytes.TrimSpace(b), []byte("2"))
}

// reserve maps size bytes of address space, backed on first touch, in
// huge pages where the kernel has them.
func reserve(size uint64) ([]byte, error) {
	if size == 0 || size > 1<<32 {
		return nil, syscall.EINVAL
	}
	b, err := syscall.Mmap(-1, 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err == nil {
		adviseHuge(b)
	}
	return b, err
}

// startPrefault reserves size bytes and faults the first n in, in the
// background.
func startPrefault(size, n uint64) *prefault {
	if strictOvercommit() {
		return nil
	}
	p := &prefault{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		b, err := reserve(size)
		if err != nil {
			return
		}
		head := b[:min(n+4095, size)&^4095]
		if !populate(head) {
			for i := 0; i < len(head); i += 4096 {
				head[i] = 0
			}
		}
		p.buf = b
	}()
	return p
}

// release unmaps a reservation nobody took; nil does nothing.
func (p *prefault) release() {
	if b := p.take(); b != nil {
		_ = syscall.Munmap(b)
	}
}

// reservedMemory is a linear memory in a reserved mapping.
type reservedMemory struct{ buf []byte }

// Reallocate implements experimental.LinearMemory: it extends the view of
// the mapping, or returns nil past the reservation (memory.grow fails).
func (m *reservedMemory) Reallocate(size uint64) []byte {
	if size > uint64(cap(m.buf)) {
		return nil
	}
	old := len(m.buf)
	m.buf = m.buf[:size]
	// Fault the new pages in now, as wazero's default memory does by
	// zeroing them, rather than one by one in later calls: in one system
	// call where the kernel can (Linux 5.14), else by touching each page,
	// a fault each. Memory the process had before (a reload, a replaced
	// instance) comes back twice as fast that way; memory new to the
	// process costs the same either way (BenchmarkGrow).
	if old < len(m.buf) && !populate(m.buf[old:]) {
		for i := old; i < len(m.buf); i += 4096 {
			m.buf[i] = 0
		}
	}
	return m.buf
}

// madvPopulateWrite is Linux's MADV_POPULATE_WRITE (5.14): fault a range
// in, writable, in one call.
const madvPopulateWrite = 23

// populate faults the pages of b in, reporting whether the kernel did.
func populate(b []byte) bool { return syscall.Madvise(b, madvPopulateWrite) == nil }

// Free implements experimental.LinearMemory.
func (m *reservedMemory) Free() {
	if m.buf != nil {
		_ = syscall.Munmap(m.buf[:cap(m.buf)])
		m.buf = nil
	}
}
