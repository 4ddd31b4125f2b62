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
// content) and returns it as Verified, its sections stored raw as the
// guest reads them (bundle.Uncompressed: b itself unless a section is
// compressed). b must not be modified afterwards.
func Verify(b []byte) (*Verified, error) {
	if _, err := bundle.Decode(b); err != nil {
		return nil, err
	}
	raw, err := bundle.Uncompressed(b)
	if err != nil {
		return nil, err
	}
	return &Verified{data: raw}, nil
}

// Bytes returns the bundle's bytes as the guest loads them, every section
// raw: b as given to Verify when none was compressed. The caller must
// not modify them.
func (v *Verified) Bytes() []byte { return v.data }
