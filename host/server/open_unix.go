//go:build unix

package server

import (
	"os"
	"syscall"
)

// openFlags open the bundle file without blocking: opening a FIFO for
// reading would wait for a writer, wedging every reload behind it.
const openFlags = os.O_RDONLY | syscall.O_NONBLOCK
