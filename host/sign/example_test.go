package sign_test

import (
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/edgerec/edgerec/core/bundle/bundletest"
	"github.com/edgerec/edgerec/host/sign"
)

// A release pipeline signs a bundle; an edge node verifies it with the
// public key before serving it.
func Example() {
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)) // sign.GenerateKey in real use
	pub := priv.Public().(ed25519.PublicKey)

	unsigned := bundletest.Encoded(10, 8, 1)
	signed, err := sign.Sign(unsigned, priv)
	if err != nil {
		panic(err)
	}
	st, err := sign.Verify(signed, pub)
	fmt.Println(st.Signed, err)

	_, err = sign.Verify(unsigned, pub)
	fmt.Println(errors.Is(err, sign.ErrUnsigned))
	// Output:
	// true <nil>
	// true
}
