package pipeline

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestMedianMatchesSort holds the quickselect median to the median of the
// sorted values, with ties and both parities.
func TestMedianMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	for n := 1; n < 300; n++ {
		s := make([]float64, n)
		for i := range s {
			s[i] = float64(rng.IntN(7)) - 3
			if rng.IntN(2) == 0 {
				s[i] = rng.NormFloat64()
			}
		}
		sorted := slices.Sorted(slices.Values(s))
		want := sorted[n/2]
		if n%2 == 0 {
			want = (sorted[n/2-1] + sorted[n/2]) / 2
		}
		if got := median(s); got != want {
			t.Fatalf("n=%d: median %v, want %v", n, got, want)
		}
	}
}
