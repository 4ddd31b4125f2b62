package pipeline

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSortCandidatesMatchesComparison holds sortCandidates to a plain
// comparison sort by score (descending), then row, with many ties.
func TestSortCandidatesMatchesComparison(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for n := range 300 {
		cands := make([]Candidate, n)
		for i := range cands {
			cands[i] = newCandidate(int32(rng.IntN(1000)))
			cands[i].Score = float32(rng.IntN(5)) - 2 // ties, negatives and zero
			if rng.IntN(4) == 0 {
				cands[i].Score = float32(rng.NormFloat64())
			}
		}
		want := slices.Clone(cands)
		slices.SortStableFunc(want, func(a, b Candidate) int {
			switch {
			case a.Score > b.Score:
				return -1
			case a.Score < b.Score:
				return 1
			}
			return int(a.Row - b.Row)
		})
		sortCandidates(cands)
		for i := range cands {
			if cands[i].Row != want[i].Row || cands[i].Score != want[i].Score {
				t.Fatalf("n=%d: position %d holds row %d score %v, want row %d score %v", n, i, cands[i].Row, cands[i].Score, want[i].Row, want[i].Score)
			}
		}
	}
}
