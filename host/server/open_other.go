//go:build !unix

package server

import "os"

// openFlags open the bundle file (open_unix.go adds O_NONBLOCK).
const openFlags = os.O_RDONLY
