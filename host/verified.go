package host

import "github.com/edgerec/edgerec/core/bundle"

// Verified is a bundle that core/bundle.Decode accepted in this process:
// Instance.LoadVerified loads it into a guest that then checks only what
// keeps its reads within the bytes. Checking once natively and loading
// many instances this way costs a pool one full check instead of one per
// instance, each many times slower in WebAssembly than natively.
type Verified struct {
	data []byte
}

// Verify checks b completely (bundle.Decode: checksums, structure and
// content) and returns it as Verified. b must not be modified afterwards.
func Verify(b []byte) (*Verified, error) {
	if _, err := bundle.Decode(b); err != nil {
		return nil, err
	}
	return &Verified{data: b}, nil
}

// Bytes returns the bundle's bytes; the caller must not modify them.
func (v *Verified) Bytes() []byte { return v.data }
