//go:build !linux

package host

import "github.com/tetratelabs/wazero/experimental"

// reservedAllocator is nil off Linux: Options.ReserveMemory is ignored and
// instances use wazero's default memory (see memory_linux.go).
func reservedAllocator(*prefault) experimental.MemoryAllocator { return nil }

// startPrefault does nothing off Linux (Options.PrefaultBytes).
func startPrefault(size, n uint64) *prefault { return nil }

func (p *prefault) release() {}
