//go:build wasm

package bundle

import (
	"errors"
	"fmt"
)

// The module has no zstd codec (zstd.go says why): it refuses a bundle
// with a section stored compressed, naming the section, and writes none.

var errCompressed = errors.New("stored zstd-compressed, which the module does not read: " +
	"rewrite the bundle with `edgerec bundle upgrade`, or load it through a host that decompresses it (edgerec serve, host.Verify)")

type compressor struct{}

func newCompressor() (*compressor, error) {
	return nil, errors.New("bundle: the module writes no compressed sections")
}

func (*compressor) compress([]byte) []byte { return nil }
func (*compressor) close()                 {}

type decompressor struct{}

func newDecompressor(e Entry) (*decompressor, error) {
	return nil, fmt.Errorf("bundle: section %s is %w", e.Tag, errCompressed)
}

func (*decompressor) close() {}

func (*decompressor) decompress(e Entry, _ []byte) ([]byte, error) {
	return nil, fmt.Errorf("bundle: section %s is %w", e.Tag, errCompressed)
}
