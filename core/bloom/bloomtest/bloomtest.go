// Package bloomtest makes the consumed filters that adversarial tests
// send: filters no honest client would, built by code. The generators are
// tools/benchdata's, which edgerec bench sends too.
package bloomtest

import (
	"github.com/edgerec/edgerec/core/bloom"
	"github.com/edgerec/edgerec/tools/benchdata"
)

// Full returns the serialized filter of m bits and k hash functions with
// every bit set (benchdata.FullFilter).
func Full(m, k int) []byte { return benchdata.FullFilter(m, k) }

// Below returns a filter filled until its estimated false-positive rate
// reaches rate (benchdata.FilterBelow).
func Below(n int, rate float64, seed uint64) *bloom.Filter {
	return benchdata.FilterBelow(n, rate, seed)
}
