package sign

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/bundle/bundletest"
)

// fixedKey returns a deterministic key pair (seed byte b).
func fixedKey(b byte) (ed25519.PublicKey, ed25519.PrivateKey) {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
	return priv.Public().(ed25519.PublicKey), priv
}

func TestSignVerify(t *testing.T) {
	unsigned := bundletest.Encoded(50, 8, 1)
	pub, priv := fixedKey(1)
	signed, err := Sign(unsigned, priv)
	if err != nil {
		t.Fatal(err)
	}
	st, err := Verify(signed, pub)
	if err != nil {
		t.Fatalf("Verify(signed): %v", err)
	}
	if !st.Signed || len(st.KeyID) != 2*KeyIDSize {
		t.Errorf("status %+v", st)
	}
	// The signed bundle keeps the unsigned one's minor version (at least
	// 1.1, the signature's) and decodes to the same content.
	h, err := bundle.ReadHeader(signed)
	if err != nil {
		t.Fatal(err)
	}
	hu, err := bundle.ReadHeader(unsigned)
	if err != nil {
		t.Fatal(err)
	}
	if h.Major != hu.Major || h.Minor != hu.Minor || h.Entries[len(h.Entries)-1].Tag != bundle.TagSignature {
		t.Errorf("signed bundle: minor %d, last section %s", h.Minor, h.Entries[len(h.Entries)-1].Tag)
	}
	a, err := bundle.Decode(unsigned)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Decode(signed)
	if err != nil {
		t.Fatalf("Decode(signed): %v", err)
	}
	if a.Manifest != b.Manifest || !slices.Equal(a.Items.IDs.Slice(), b.Items.IDs.Slice()) {
		t.Error("signing changed the content")
	}
	// The other sections' stored bytes are unchanged.
	_, before, _ := bundle.ReadStored(unsigned)
	_, after, _ := bundle.ReadStored(signed)
	if len(after) != len(before)+1 {
		t.Fatalf("%d sections after signing, %d before", len(after), len(before))
	}
	for i := range before {
		if before[i].Tag != after[i].Tag || !bytes.Equal(before[i].Data, after[i].Data) {
			t.Errorf("section %s changed", before[i].Tag)
		}
	}

	if _, err := Verify(unsigned, pub); !errors.Is(err, ErrUnsigned) {
		t.Errorf("Verify(unsigned): %v, want ErrUnsigned", err)
	}
	other, _ := fixedKey(2)
	if _, err := Verify(signed, other); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Verify with another key: %v, want ErrUnknownKey", err)
	}
}

// TestResignReplaces: signing a signed bundle replaces its signature.
func TestResignReplaces(t *testing.T) {
	_, priv1 := fixedKey(1)
	pub2, priv2 := fixedKey(2)
	s1, err := Sign(bundletest.Encoded(20, 8, 2), priv1)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := Sign(s1, priv2)
	if err != nil {
		t.Fatal(err)
	}
	if len(s2) != len(s1) {
		t.Errorf("re-signed bundle is %d bytes, first signature %d: the old SIGN was not replaced", len(s2), len(s1))
	}
	if _, err := Verify(s2, pub2); err != nil {
		t.Errorf("Verify after re-signing: %v", err)
	}
}

// TestTamper: changing any covered byte, even with valid checksums,
// breaks the signature.
func TestTamper(t *testing.T) {
	pub, priv := fixedKey(3)
	signed, err := Sign(bundletest.Encoded(20, 8, 3), priv)
	if err != nil {
		t.Fatal(err)
	}
	h, sections, err := bundle.ReadStored(signed)
	if err != nil {
		t.Fatal(err)
	}
	for i := range sections[:len(sections)-1] {
		t.Run(sections[i].Tag, func(t *testing.T) {
			mod := make([]bundle.Stored, len(sections))
			copy(mod, sections)
			data := bytes.Clone(mod[i].Data)
			data[len(data)/2] ^= 1
			mod[i].Data = data
			forged, err := bundle.Relayout(h.Major, h.Minor, mod)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Verify(forged, pub); !errors.Is(err, ErrBadSignature) {
				t.Errorf("Verify of a modified %s: %v, want ErrBadSignature", sections[i].Tag, err)
			}
			// Without the checksums (as host/server reads the signature
			// of a bundle it has decoded), the signature still catches it.
			if _, err := VerifyChecked(forged, pub); !errors.Is(err, ErrBadSignature) {
				t.Errorf("VerifyChecked of a modified %s: %v, want ErrBadSignature", sections[i].Tag, err)
			}
		})
	}
	t.Run("corrupt byte, checksums not checked", func(t *testing.T) {
		c := bytes.Clone(signed)
		c[len(c)/2] ^= 1
		if _, err := VerifyChecked(c, pub); !errors.Is(err, ErrBadSignature) {
			t.Errorf("VerifyChecked of a corrupt file: %v, want ErrBadSignature", err)
		}
		if st, err := InspectChecked(signed); err != nil || !st.Signed {
			t.Errorf("InspectChecked: %+v, %v", st, err)
		}
	})
	t.Run("dropped section", func(t *testing.T) {
		mod := append([]bundle.Stored{}, sections[:len(sections)-2]...)
		mod = append(mod, sections[len(sections)-1])
		forged, err := bundle.Relayout(h.Major, h.Minor, mod)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Verify(forged, pub); !errors.Is(err, ErrBadSignature) {
			t.Errorf("Verify without %s: %v, want ErrBadSignature", sections[len(sections)-2].Tag, err)
		}
	})
	t.Run("version", func(t *testing.T) {
		forged, err := bundle.Relayout(h.Major, h.Minor+1, sections)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Verify(forged, pub); !errors.Is(err, ErrBadSignature) {
			t.Errorf("Verify with another minor version: %v, want ErrBadSignature", err)
		}
	})
	t.Run("corrupt byte", func(t *testing.T) {
		c := bytes.Clone(signed)
		c[len(c)/2] ^= 1
		var fe *bundle.FormatError
		if _, err := Verify(c, pub); !errors.As(err, &fe) {
			t.Errorf("Verify of a corrupt file: %v, want a FormatError", err)
		}
	})
	t.Run("signature not last", func(t *testing.T) {
		mod := append([]bundle.Stored{sections[len(sections)-1]}, sections[:len(sections)-1]...)
		forged, err := bundle.Relayout(h.Major, h.Minor, mod)
		if err != nil {
			t.Fatal(err)
		}
		var fe *bundle.FormatError
		if _, err := Verify(forged, pub); !errors.As(err, &fe) {
			t.Errorf("Verify with SIGN first: %v, want a FormatError", err)
		}
	})
}

func TestKeyFiles(t *testing.T) {
	pub, priv, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pp, err := EncodePrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := EncodePublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "k.key"), pp, 0o600)
	os.WriteFile(filepath.Join(dir, "k.pub"), pb, 0o644)
	priv2, err := ReadPrivateKeyFile(filepath.Join(dir, "k.key"))
	if err != nil {
		t.Fatal(err)
	}
	pub2, err := ReadPublicKeyFile(filepath.Join(dir, "k.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if !priv.Equal(priv2) || !pub.Equal(pub2) {
		t.Error("keys differ after a round trip through PEM")
	}
	if _, err := ReadPublicKeyFile(filepath.Join(dir, "k.key")); err == nil {
		t.Error("a private key file read as a public key")
	}
	if _, err := ReadPublicKeyFile(filepath.Join(dir, "missing.pub")); err == nil {
		t.Error("a missing file gave no error")
	}
	if _, err := ParsePublicKey([]byte("not pem")); err == nil {
		t.Error("garbage parsed as a key")
	}
}

// FuzzVerify: no input makes parsing or verification panic, and only a
// bundle really signed by the key verifies.
func FuzzVerify(f *testing.F) {
	pub, priv := fixedKey(4)
	unsigned := bundletest.Encoded(5, 8, 4)
	signed, err := Sign(unsigned, priv)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(signed)
	f.Add(unsigned)
	f.Add(signed[:len(signed)-10])
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := Verify(b, pub)
		if err == nil && !st.Signed {
			t.Fatal("valid without a signature")
		}
		if _, err := Inspect(b); err != nil {
			return
		}
		if out, err := Sign(b, priv); err == nil {
			if _, err := Verify(out, pub); err != nil {
				t.Fatalf("a bundle Sign returned does not verify: %v", err)
			}
		}
	})
}

var update = flag.Bool("update", false, "rewrite core/bundle/testdata/v1.1-signed.bundle")

// goldenSigned is the golden file of format 1.1: core/bundle's 1.0 golden
// signed with fixedKey(1) (Ed25519 signatures are deterministic).
const goldenSigned = "../../core/bundle/testdata/v1.1-signed.bundle"

func TestGoldenSigned(t *testing.T) {
	unsigned, err := os.ReadFile("../../core/bundle/testdata/v1.0.bundle")
	if err != nil {
		t.Fatal(err)
	}
	pub, priv := fixedKey(1)
	got, err := Sign(unsigned, priv)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(goldenSigned, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(goldenSigned)
	if err != nil {
		t.Fatalf("%v (run go test ./host/sign -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("signing the 1.0 golden differs from %s; if the change is intended, bump the format version", goldenSigned)
	}
	if _, err := Verify(want, pub); err != nil {
		t.Errorf("Verify(%s): %v", goldenSigned, err)
	}
}
