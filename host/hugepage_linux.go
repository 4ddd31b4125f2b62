package host

import (
	"syscall"
	"unsafe"
)

// hugePage is the size of an x86-64 or arm64 transparent huge page.
const hugePage = 2 << 20

// madvHugepage is Linux's MADV_HUGEPAGE.
const madvHugepage = 14

// adviseHuge asks the kernel to back the 2 MiB-aligned part of b with
// transparent huge pages when it first faults in: one fault and one
// zeroing per 2 MiB instead of 512. Where the kernel gives huge pages only
// on request (transparent_hugepage "madvise", a common default) and a
// page fault is expensive, as on a virtual machine, that is most of the
// cost of filling fresh memory (RATIONALE.md, "Huge pages for the memory
// a start fills"). It changes nothing about b's contents or lifetime:
// with huge pages off or unavailable the kernel falls back to small pages,
// and the error is not worth reporting.
func adviseHuge(b []byte) {
	if len(b) < hugePage {
		return
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo := (p + hugePage - 1) &^ (hugePage - 1)
	hi := (p + uintptr(len(b))) &^ (hugePage - 1)
	if hi > lo {
		_ = syscall.Madvise(b[lo-p:hi-p], madvHugepage)
	}
}
