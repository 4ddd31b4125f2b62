package report

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestWilson checks the interval against values computed independently:
// Newcombe (1998), Table I, method 3 (Wilson score without continuity
// correction) for his worked examples, which bisection on the score test
// reproduces to four places, and the closed form at 0 and n.
func TestWilson(t *testing.T) {
	for _, tc := range []struct {
		x, n   int
		lo, hi float64
	}{
		// Newcombe 1998, Table I, method 3.
		{81, 263, 0.2553, 0.3662},
		{15, 148, 0.0624, 0.1605},
		{0, 20, 0, 0.1611},
		{1, 29, 0.0061, 0.1718},
	} {
		lo, hi := Wilson(tc.x, tc.n, z95)
		assert.InDelta(t, tc.lo, lo, 5e-5, "%d/%d low", tc.x, tc.n)
		assert.InDelta(t, tc.hi, hi, 5e-5, "%d/%d high", tc.x, tc.n)
	}
	// At x = 0 the upper bound is z²/(n + z²), at x = n the lower is n/(n + z²).
	for _, n := range []int{1, 10, 1000} {
		z2 := z95 * z95
		_, hi := Wilson(0, n, z95)
		assert.InDelta(t, z2/(float64(n)+z2), hi, 1e-12)
		lo, _ := Wilson(n, n, z95)
		assert.InDelta(t, float64(n)/(float64(n)+z2), lo, 1e-12)
	}
	lo, hi := Wilson(0, 0, z95)
	assert.Equal(t, [2]float64{0, 1}, [2]float64{lo, hi})
	assert.Panics(t, func() { Wilson(3, 2, z95) })
}

// TestNewcombeDiff checks the difference interval against Newcombe's
// (1998) example (a), 56/70 − 48/80 (Table II, method 10: 0.0524 to
// 0.3339), and against values computed independently from Wilson bounds
// found by bisection on the score test (|p̂ − p| = z·√(p(1 − p)/n)) rather
// than by the closed form.
func TestNewcombeDiff(t *testing.T) {
	for _, tc := range []struct {
		x1, n1, x2, n2 int
		d, lo, hi      float64
	}{
		{48, 80, 56, 70, 0.2, 0.052431, 0.333873},
		{3, 15, 9, 10, 0.7, 0.305110, 0.853365},
		{0, 10, 6, 7, 0.857143, 0.394407, 0.974320},
		{120, 1000, 150, 1000, 0.03, 0.000014, 0.060008},
	} {
		d, lo, hi := NewcombeDiff(tc.x1, tc.n1, tc.x2, tc.n2, z95)
		assert.InDelta(t, tc.d, d, 1e-6)
		assert.InDelta(t, tc.lo, lo, 1e-6, "%d/%d vs %d/%d low", tc.x2, tc.n2, tc.x1, tc.n1)
		assert.InDelta(t, tc.hi, hi, 1e-6, "%d/%d vs %d/%d high", tc.x2, tc.n2, tc.x1, tc.n1)
		// Swapping the arms negates the interval.
		d2, lo2, hi2 := NewcombeDiff(tc.x2, tc.n2, tc.x1, tc.n1, z95)
		assert.InDelta(t, -d, d2, 1e-12)
		assert.InDelta(t, -hi, lo2, 1e-12)
		assert.InDelta(t, -lo, hi2, 1e-12)
	}
}

// TestSampleSize checks the closed form against a value worked by hand:
// p = 0.10, delta = 0.01: (1.95996 + 0.84162)² · (0.09 + 0.0979) / 0.0001
// = 7.848878 · 0.1879 / 0.0001 = 14748.05 → 14749.
func TestSampleSize(t *testing.T) {
	assert.Equal(t, 14749, SampleSize(0.10, 0.01))
	assert.Greater(t, SampleSize(0.5, 0.01), SampleSize(0.05, 0.01), "variance is largest at one half")
	assert.Equal(t, math.MaxInt32, SampleSize(0.1, 0))
}
