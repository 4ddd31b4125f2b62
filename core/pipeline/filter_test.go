package pipeline

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSortRows holds sortRows to slices.Sort, negative rows included.
func TestSortRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	for trial := 0; trial < 300; trial++ {
		rows := make([]int32, rng.IntN(200))
		for i := range rows {
			rows[i] = int32(rng.Uint32())
			if trial%2 == 0 {
				rows[i] = int32(rng.IntN(50))
			}
		}
		want := slices.Sorted(slices.Values(rows))
		sortRows(rows)
		if !slices.Equal(rows, want) {
			t.Fatalf("trial %d: %v, want %v", trial, rows, want)
		}
	}
}
