package pipeline

import (
	"math"
	"testing"
)

// TestStandardizeIgnoresOutliers: one wild score (a ranker extrapolating)
// leaves the other candidates' relevance on a unit scale, as without it.
func TestStandardizeIgnoresOutliers(t *testing.T) {
	mk := func(scores ...float32) []Candidate {
		c := make([]Candidate, len(scores))
		for i, s := range scores {
			c[i] = newCandidate(int32(i))
			c[i].Score = s
		}
		return c
	}
	var base []float32
	for i := range 21 {
		base = append(base, float32(i)/10)
	}
	clean := standardize(mk(base...))
	wild := standardize(mk(append(append([]float32(nil), base...), -500)...))
	spread := func(r []float32) float64 { return float64(r[20] - r[0]) }
	t.Logf("spread of 21 scores: %.2f alone, %.2f beside a score of -500", spread(clean), spread(wild))
	if spread(clean) < 2 || math.Abs(spread(wild)-spread(clean)) > 0.25*spread(clean) {
		t.Errorf("relevance spread %.2f alone, %.2f with an outlier", spread(clean), spread(wild))
	}
	if wild[21] > -50 {
		t.Errorf("the outlier's relevance %.1f is not far below the rest", wild[21])
	}
	// Equal scores: relevance 0, no division by zero.
	for _, r := range standardize(mk(2, 2, 2)) {
		if r != 0 {
			t.Errorf("equal scores: relevance %v", r)
		}
	}
}
