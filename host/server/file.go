package server

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/host"
)

// Sentinel errors of reading a bundle file. Their messages name no path:
// they reach GET /v1/bundle, /readyz and POST /admin/reload; the logs
// carry the path.
var (
	// ErrNotRegular: the bundle path is not a regular file (a directory, a
	// FIFO, a device, a socket), so it is not read at all.
	ErrNotRegular = errors.New("the bundle file is not a regular file")
	// ErrMissing: nothing exists at the bundle path.
	ErrMissing = errors.New("the bundle file does not exist")
)

// fileStamp identifies a version of the bundle file cheaply.
type fileStamp struct {
	size int64
	mod  time.Time
}

// readBundle reads a bundle file: it opens it without blocking, checks on
// the open file that it is a regular file no larger than any bundle, and
// reads exactly the size it had then. A FIFO, a device (a symlink to
// /dev/zero) or a directory is refused without a read.
func readBundle(path string) (fileStamp, []byte, error) {
	f, err := os.OpenFile(path, openFlags, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return fileStamp{}, nil, ErrMissing
	}
	if err != nil {
		return fileStamp{}, nil, fmt.Errorf("opening the bundle file: %w", unwrapPath(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fileStamp{}, nil, fmt.Errorf("the bundle file: %w", unwrapPath(err))
	}
	stamp := fileStamp{fi.Size(), fi.ModTime()}
	if !fi.Mode().IsRegular() {
		return stamp, nil, fmt.Errorf("%w (%s)", ErrNotRegular, kind(fi.Mode()))
	}
	if uint64(fi.Size()) > bundle.MaxBundleBytes {
		return stamp, nil, fmt.Errorf("the bundle file is %d bytes, larger than any valid bundle (%d)", fi.Size(), uint64(bundle.MaxBundleBytes))
	}
	data := host.NewBuffer(int(fi.Size()))
	if _, err := io.ReadFull(f, data); err != nil {
		return stamp, nil, fmt.Errorf("the bundle file changed while it was read: %w", unwrapPath(err))
	}
	return stamp, data, nil
}

// unwrapPath drops the path of an *fs.PathError.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

// kind names a file type that is not a regular file.
func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "mode " + m.Type().String()
}

// lastGoodPath is the last known-good bundle in the state directory.
func (s *Server) lastGoodPath() string { return filepath.Join(s.cfg.StateDir, LastGoodFile) }

// saveLastGood keeps data, a bundle that verified and loaded, as the last
// known-good bundle: written beside it and renamed over it, so that a
// crash leaves the previous copy or this one, never half of one. A failure
// is logged: serving goes on.
func (s *Server) saveLastGood(data []byte, digest string) {
	if s.cfg.StateDir == "" || digest == s.lastGood {
		return
	}
	err := os.MkdirAll(s.cfg.StateDir, 0o755)
	if err == nil {
		err = host.WriteFileAtomic(s.lastGoodPath(), data, 0o644)
	}
	if err != nil {
		s.log.Warn("could not keep the last known-good bundle", "state_dir", s.cfg.StateDir, "err", err)
		return
	}
	s.lastGood = digest
}
