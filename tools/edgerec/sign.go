package main

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/host/sign"
)

func runKeygen(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("keygen", "keygen --out NAME [--force]", `
Create an Ed25519 key pair for signing bundles: NAME.key, the private key
(PEM PKCS #8, mode 0600: keep it secret, in the release pipeline only) and
NAME.pub, the public key (PEM PKIX) that serving nodes verify with
(edgerec serve --public-key NAME.pub). Prints the key id, the first 8 bytes
of SHA-256 of the public key, which signed bundles carry.`)
	out := fs.String("out", "", "path and base name of the key files (NAME.key and NAME.pub)")
	force := fs.Bool("force", false, "overwrite existing key files")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "out"); err != nil {
		return err
	}
	keyPath, pubPath := *out+".key", *out+".pub"
	if !*force {
		for _, p := range []string{keyPath, pubPath} {
			if _, err := os.Stat(p); err == nil {
				return fmt.Errorf("%s exists; refusing to overwrite a key (pass --force to replace it)", p)
			}
		}
	}
	pub, priv, err := sign.GenerateKey()
	if err != nil {
		return err
	}
	privPEM, err := sign.EncodePrivateKey(priv)
	if err != nil {
		return err
	}
	pubPEM, err := sign.EncodePublicKey(pub)
	if err != nil {
		return err
	}
	// Remove first so that 0600 applies even when --force replaces a file
	// with a wider mode.
	os.Remove(keyPath)
	if err := os.WriteFile(keyPath, privPEM, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(pubPath, pubPEM, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "private key %s (keep it secret)\npublic key  %s\nkey id      %x\n", keyPath, pubPath, sign.KeyID(pub))
	return nil
}

func runBundleSign(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bundle sign", "bundle sign --key FILE [--out FILE] BUNDLE", `
Sign a bundle with an Ed25519 private key (edgerec keygen). The signature is
appended as the bundle's last section, SIGN (bundles/FORMAT.md §5.9); the
other sections' bytes are copied unchanged and the format version stays
the bundle's (a 1.0 bundle becomes 1.1, the minor that added SIGN), so
every reader that loaded it still does. A signature already present is
replaced. The bundle is validated completely
before it is signed. Without --out the file is replaced (atomically).`)
	keyPath := fs.String("key", "", "private key file (PEM PKCS #8, from edgerec keygen)")
	out := fs.String("out", "", "write the signed bundle here instead of replacing BUNDLE")
	file, err := parseFile(fs, args, "sign")
	if err != nil {
		return err
	}
	if err := required(fs, "key"); err != nil {
		return err
	}
	priv, err := sign.ReadPrivateKeyFile(*keyPath)
	if err != nil {
		return err
	}
	data, err := readBundleFile(file)
	if err != nil {
		return err
	}
	if _, err := bundle.Decode(data); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	signed, err := sign.Sign(data, priv)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	dst := file
	if *out != "" {
		dst = *out
	}
	if err := writeFileAtomic(dst, signed); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "signed %s (%d bytes, key id %x)\n", dst, len(signed), sign.KeyID(priv.Public().(ed25519.PublicKey)))
	return nil
}

// verification is what `bundle verify --json` prints.
type verification struct {
	File   string `json:"file"`
	Valid  bool   `json:"valid"`
	Signed bool   `json:"signed"`
	KeyID  string `json:"key_id,omitempty"`
	Format string `json:"format,omitempty"`
	Error  string `json:"error,omitempty"`
}

func runBundleVerify(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bundle verify", "bundle verify [--public-key FILE] [--json] BUNDLE", `
Check a bundle completely (header, section checksums, decompression,
semantic checks) and its signature. With --public-key the bundle must be
signed by that key: exit status 0 when it is, 1 when it is unsigned, signed
by another key, modified after signing or corrupt. Without --public-key the
bundle's structure is checked and its signature, if any, only reported.`)
	pubPath := fs.String("public-key", "", "public key file (PEM PKIX, from edgerec keygen)")
	asJSON := fs.Bool("json", false, "print JSON")
	file, err := parseFile(fs, args, "verify")
	if err != nil {
		return err
	}
	var pub ed25519.PublicKey
	if *pubPath != "" {
		if pub, err = sign.ReadPublicKeyFile(*pubPath); err != nil {
			return err
		}
	}
	data, err := readBundleFile(file)
	if err != nil {
		return err
	}
	v := verification{File: file}
	check := func() error {
		b, err := bundle.Decode(data)
		if err != nil {
			return err
		}
		v.Format = b.Format
		st, err := sign.Inspect(data)
		if err != nil {
			return err
		}
		v.Signed, v.KeyID = st.Signed, st.KeyID
		if pub == nil {
			return nil
		}
		_, err = sign.Verify(data, pub)
		return err
	}
	verr := check()
	v.Valid = verr == nil
	if verr != nil {
		v.Error = verr.Error()
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return err
		}
	} else if verr == nil {
		switch {
		case pub != nil:
			fmt.Fprintf(stdout, "%s: valid, signed by key %s (format %s)\n", file, v.KeyID, v.Format)
		case v.Signed:
			fmt.Fprintf(stdout, "%s: structure valid, signed by key %s (not verified: pass --public-key)\n", file, v.KeyID)
		default:
			fmt.Fprintf(stdout, "%s: structure valid, unsigned (format %s)\n", file, v.Format)
		}
	}
	if verr != nil {
		if *asJSON {
			return errSilent
		}
		return fmt.Errorf("%s: %w", file, verr)
	}
	return nil
}

// errSilent fails a command whose output already said why (exit 1).
var errSilent = errors.New("failed (see output)")
