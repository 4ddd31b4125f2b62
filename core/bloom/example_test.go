package bloom_test

import (
	"fmt"
	"testing"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bloom"
)

func Example() {
	f, err := bloom.New(1000, 0.01)
	if err != nil {
		panic(err)
	}
	f.Add("tt0111161")
	b, _ := f.MarshalBinary()
	g, err := bloom.Decode(b)
	if err != nil {
		panic(err)
	}
	fmt.Println(f.M(), f.K(), len(b), g.MayContain("tt0111161"))
	// Output: 9600 7 1216 true
}

// TestMaxBytes holds the largest serialized filter to the request's limit
// for a consumed filter, so that every filter New makes fits in a request.
func TestMaxBytes(t *testing.T) {
	if bloom.MaxBytes != api.MaxConsumedBytes {
		t.Errorf("bloom.MaxBytes = %d, api.MaxConsumedBytes = %d; keep them equal", bloom.MaxBytes, api.MaxConsumedBytes)
	}
	if got := bloom.Size(bloom.MaxBits); got != bloom.MaxBytes {
		t.Errorf("Size(MaxBits) = %d, want MaxBytes = %d", got, bloom.MaxBytes)
	}
	if api.MaxBloomOpBytes > api.MaxRequestBytes {
		t.Errorf("api.MaxBloomOpBytes = %d exceeds api.MaxRequestBytes = %d", api.MaxBloomOpBytes, api.MaxRequestBytes)
	}
}
