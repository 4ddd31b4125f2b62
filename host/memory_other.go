//go:build !linux

package host

import "github.com/tetratelabs/wazero/experimental"

// reservedAllocator is nil off Linux: Options.ReserveMemory is ignored and
// instances use wazero's default memory (see memory_linux.go).
func reservedAllocator() experimental.MemoryAllocator { return nil }
