//go:build !linux

package host

// adviseHuge does nothing off Linux (see hugepage_linux.go).
func adviseHuge([]byte) {}
