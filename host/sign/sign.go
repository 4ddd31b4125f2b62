// Package sign signs edgerec bundles with Ed25519 and verifies them.
//
// The signature travels inside the bundle as its last section, SIGN
// (bundles/FORMAT.md §5.9): a msgpack map {alg: "ed25519", key_id: 8 bytes,
// sig: 64 bytes}. The signed message is a domain-separation string followed
// by the SHA-256 digest of the format version and of every other section's
// tag, flags, lengths and stored bytes, in table order (Message). Readers
// that do not know SIGN skip it, so a signed bundle loads unchanged in a
// module built before signing existed.
//
//	pub, priv, err := sign.GenerateKey()
//	signed, err := sign.Sign(bundleBytes, priv)
//	st, err := sign.Verify(signed, pub) // nil error: the signature is valid
//
// core/ never imports this package: the module does not verify bundles, the
// host that hands them to it does.
package sign

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/wire"
)

// Alg is the only signature algorithm of format 1.1 (FORMAT.md §5.9).
const Alg = "ed25519"

// Domain opens every signed message (FORMAT.md §5.9): it keeps a bundle
// signature from being valid as a signature of anything else made with the
// same key.
const Domain = "edgerec bundle signature v1\x00"

// KeyIDSize is the length of a key id: the first bytes of the SHA-256 of
// the 32-byte public key.
const KeyIDSize = 8

// Sentinel errors of Verify. Match them with errors.Is.
var (
	// ErrUnsigned: the bundle has no SIGN section.
	ErrUnsigned = errors.New("sign: bundle is not signed")
	// ErrUnknownKey: the bundle is signed by a key other than the one given
	// (its key id differs).
	ErrUnknownKey = errors.New("sign: bundle is signed by another key")
	// ErrBadSignature: the signature does not verify. Typically this
	// indicates a bundle modified after signing.
	ErrBadSignature = errors.New("sign: signature does not verify")
)

// Signature is the content of a SIGN section.
type Signature struct {
	Alg   string `msgpack:"alg"`
	KeyID []byte `msgpack:"key_id"`
	Sig   []byte `msgpack:"sig"`
}

// KeyID returns the key id of pub: the first 8 bytes of SHA-256(pub).
func KeyID(pub ed25519.PublicKey) []byte {
	h := sha256.Sum256(pub)
	return h[:KeyIDSize]
}

// parsed is a bundle split into the sections a signature covers and its
// signature, if any.
type parsed struct {
	header  *bundle.Header
	covered []bundle.Stored
	sig     *Signature // nil when unsigned
}

// parse checks b's container (header, table, every section's checksum,
// unless checked says a reader did) and its SIGN section: last,
// uncompressed, a well-formed Signature.
func parse(b []byte, checked bool) (*parsed, error) {
	read := bundle.ReadStored
	if checked {
		read = bundle.ReadStoredChecked
	}
	h, sections, err := read(b)
	if err != nil {
		return nil, err
	}
	p := &parsed{header: h, covered: sections}
	for i, s := range sections {
		if s.Tag != bundle.TagSignature {
			continue
		}
		if i != len(sections)-1 {
			return nil, &bundle.FormatError{Section: s.Tag, Reason: "the signature must be the last section"}
		}
		if s.Flags != 0 {
			return nil, &bundle.FormatError{Section: s.Tag, Reason: "the signature must be stored uncompressed"}
		}
		var sig Signature
		if err := wire.UnmarshalLimit(s.Data, &sig, 8); err != nil {
			return nil, &bundle.FormatError{Section: s.Tag, Reason: err.Error()}
		}
		if sig.Alg != Alg {
			return nil, &bundle.FormatError{Section: s.Tag, Reason: fmt.Sprintf("algorithm %q, want %q", sig.Alg, Alg)}
		}
		if len(sig.KeyID) != KeyIDSize || len(sig.Sig) != ed25519.SignatureSize {
			return nil, &bundle.FormatError{Section: s.Tag, Reason: fmt.Sprintf("key id of %d bytes and signature of %d, want %d and %d",
				len(sig.KeyID), len(sig.Sig), KeyIDSize, ed25519.SignatureSize)}
		}
		p.sig = &sig
		p.covered = sections[:i]
	}
	return p, nil
}

// message returns Domain followed by the digest of FORMAT.md §5.9: SHA-256
// over major (uint16), minor (uint16) and the number of covered sections
// (uint32), then per section its tag (4 bytes), flags (uint32), raw length
// (uint64), stored length (uint64) and stored bytes; integers
// little-endian.
func message(major, minor uint16, covered []bundle.Stored) []byte {
	h := sha256.New()
	var buf [24]byte
	binary.LittleEndian.PutUint16(buf[0:], major)
	binary.LittleEndian.PutUint16(buf[2:], minor)
	binary.LittleEndian.PutUint32(buf[4:], uint32(len(covered)))
	h.Write(buf[:8])
	for _, s := range covered {
		copy(buf[0:4], s.Tag)
		binary.LittleEndian.PutUint32(buf[4:], s.Flags)
		binary.LittleEndian.PutUint64(buf[8:], s.Raw)
		binary.LittleEndian.PutUint64(buf[16:], uint64(len(s.Data)))
		h.Write(buf[:24])
		h.Write(s.Data)
	}
	return h.Sum([]byte(Domain))
}

// Message returns the message a signature of b covers (Domain + digest) as
// b would be signed: with b's major version and the minor version Sign
// writes (signedMinor), over every section but SIGN. It checks b's
// container first.
func Message(b []byte) ([]byte, error) {
	p, err := parse(b, false)
	if err != nil {
		return nil, err
	}
	return message(p.header.Major, signedMinor(p.header), p.covered), nil
}

// signedMinor is the minor version of a signed bundle whose unsigned form
// has header h: in format 1 at least bundle.MinorSignedV1 (the signature
// section's), never lower than what the sections already need; in format
// 2, which has SIGN from its first minor, the bundle's own.
func signedMinor(h *bundle.Header) uint16 {
	if h.Major == 1 {
		return max(h.Minor, bundle.MinorSignedV1)
	}
	return h.Minor
}

// Sign returns b signed with priv: the same sections, stored bytes
// unchanged, followed by a SIGN section, at b's major version and the
// minor version signedMinor gives. A signature
// already present is replaced. b's container (header, table, checksums) is
// checked first; Sign does not decode the sections (bundle.Decode does).
func Sign(b []byte, priv ed25519.PrivateKey) ([]byte, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("sign: private key is %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
	}
	p, err := parse(b, false)
	if err != nil {
		return nil, err
	}
	pub := priv.Public().(ed25519.PublicKey)
	sig := Signature{Alg: Alg, KeyID: KeyID(pub),
		Sig: ed25519.Sign(priv, message(p.header.Major, signedMinor(p.header), p.covered))}
	data, err := wire.Marshal(&sig)
	if err != nil {
		return nil, fmt.Errorf("sign: encode signature: %w", err)
	}
	sections := append(p.covered[:len(p.covered):len(p.covered)],
		bundle.Stored{Entry: bundle.Entry{Tag: bundle.TagSignature, Raw: uint64(len(data))}, Data: data})
	return bundle.Relayout(p.header.Major, signedMinor(p.header), sections)
}

// Status describes a bundle's signature.
type Status struct {
	Signed bool   // the bundle has a SIGN section
	KeyID  string // hex key id of the signature, "" when unsigned
}

// Inspect checks b's container and reports its signature without verifying
// it.
func Inspect(b []byte) (Status, error) { return inspect(b, false) }

// InspectChecked is Inspect for bytes whose checksums bundle.Decode (or
// bundle.ReadStored) checked in this process: it does not check them
// again, a pass over every byte.
func InspectChecked(b []byte) (Status, error) { return inspect(b, true) }

func inspect(b []byte, checked bool) (Status, error) {
	p, err := parse(b, checked)
	if err != nil {
		return Status{}, err
	}
	if p.sig == nil {
		return Status{}, nil
	}
	return Status{Signed: true, KeyID: hex.EncodeToString(p.sig.KeyID)}, nil
}

// Verify checks b's container (header, table, every section's checksum),
// then its signature against pub. It returns the signature's status and nil
// when the signature is valid; ErrUnsigned, ErrUnknownKey or
// ErrBadSignature when it is not; a *bundle.FormatError (or
// *bundle.UnsupportedError) for a corrupt bundle.
func Verify(b []byte, pub ed25519.PublicKey) (Status, error) { return verify(b, pub, false) }

// VerifyChecked is Verify for bytes whose checksums bundle.Decode (or
// bundle.ReadStored) checked in this process: it does not check them
// again. The signature covers the stored bytes themselves, so it still
// proves them unchanged since signing.
func VerifyChecked(b []byte, pub ed25519.PublicKey) (Status, error) { return verify(b, pub, true) }

func verify(b []byte, pub ed25519.PublicKey, checked bool) (Status, error) {
	p, err := parse(b, checked)
	if err != nil {
		return Status{}, err
	}
	if p.sig == nil {
		return Status{}, ErrUnsigned
	}
	st := Status{Signed: true, KeyID: hex.EncodeToString(p.sig.KeyID)}
	if len(pub) != ed25519.PublicKeySize {
		return st, fmt.Errorf("sign: public key is %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	if !bytes.Equal(p.sig.KeyID, KeyID(pub)) {
		return st, fmt.Errorf("%w: key id %s, the public key's is %x", ErrUnknownKey, st.KeyID, KeyID(pub))
	}
	if !ed25519.Verify(pub, message(p.header.Major, p.header.Minor, p.covered), p.sig.Sig) {
		return st, ErrBadSignature
	}
	return st, nil
}

// GenerateKey returns a new Ed25519 key pair from crypto/rand.
func GenerateKey() (ed25519.PublicKey, ed25519.PrivateKey, error) {
	return ed25519.GenerateKey(rand.Reader)
}

// PEM block types of the key files: PKCS #8 for the private key, PKIX
// (SubjectPublicKeyInfo) for the public key, as openssl writes them.
const (
	pemPrivate = "PRIVATE KEY"
	pemPublic  = "PUBLIC KEY"
)

// EncodePrivateKey returns priv as a PEM "PRIVATE KEY" block (PKCS #8).
func EncodePrivateKey(priv ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("sign: encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPrivate, Bytes: der}), nil
}

// EncodePublicKey returns pub as a PEM "PUBLIC KEY" block (PKIX).
func EncodePublicKey(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("sign: encode public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPublic, Bytes: der}), nil
}

// ParsePrivateKey reads a PEM "PRIVATE KEY" block holding an Ed25519 key.
func ParsePrivateKey(data []byte) (ed25519.PrivateKey, error) {
	der, err := pemBlock(data, pemPrivate)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("sign: private key: %w", err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("sign: private key is a %T, not an Ed25519 key", k)
	}
	return priv, nil
}

// ParsePublicKey reads a PEM "PUBLIC KEY" block holding an Ed25519 key.
func ParsePublicKey(data []byte) (ed25519.PublicKey, error) {
	der, err := pemBlock(data, pemPublic)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("sign: public key: %w", err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("sign: public key is a %T, not an Ed25519 key", k)
	}
	return pub, nil
}

func pemBlock(data []byte, typ string) ([]byte, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("sign: no PEM block found; want a %q block (edgerec keygen writes one)", typ)
	}
	if block.Type != typ {
		return nil, fmt.Errorf("sign: PEM block %q, want %q", block.Type, typ)
	}
	return block.Bytes, nil
}

// ReadPrivateKeyFile reads a private key file written by edgerec keygen.
func ReadPrivateKeyFile(path string) (ed25519.PrivateKey, error) {
	data, err := readKey(path)
	if err != nil {
		return nil, err
	}
	k, err := ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// ReadPublicKeyFile reads a public key file written by edgerec keygen.
func ReadPublicKeyFile(path string) (ed25519.PublicKey, error) {
	data, err := readKey(path)
	if err != nil {
		return nil, err
	}
	k, err := ParsePublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

func readKey(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("sign: key file %s not found; create a key pair with `edgerec keygen --out NAME`", path)
	}
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	if fi.Size() > 64<<10 {
		return nil, fmt.Errorf("sign: key file %s is %d bytes, too large for a key", path, fi.Size())
	}
	return os.ReadFile(path)
}
