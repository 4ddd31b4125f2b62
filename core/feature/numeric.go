package feature

import (
	"math"
	"sort"
)

// Quantiles normalizes a numeric feature by its empirical distribution
// (quantile normalization, as in Covington et al., "Deep Neural Networks for
// YouTube Recommendations", RecSys 2016, §4.2): Bounds are increasing
// quantiles of the training values, and Normalize maps x to its
// interpolated rank in [0, 1].
type Quantiles struct {
	Bounds []float32 `msgpack:"bounds"`
}

// FitQuantiles returns the n+1 quantiles 0, 1/n, …, 1 of values (n ≥ 1),
// with repeated bounds merged. Non-finite values are ignored.
func FitQuantiles(values []float64, n int) Quantiles {
	v := make([]float64, 0, len(values))
	for _, x := range values {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			v = append(v, x)
		}
	}
	if len(v) == 0 || n < 1 {
		return Quantiles{}
	}
	sort.Float64s(v)
	var q Quantiles
	for i := 0; i <= n; i++ {
		b := float32(v[min(len(v)-1, i*(len(v)-1)/n)])
		if len(q.Bounds) == 0 || b > q.Bounds[len(q.Bounds)-1] {
			q.Bounds = append(q.Bounds, b)
		}
	}
	return q
}

// Normalize returns the interpolated rank of x among the bounds: 0 at or
// below the first, 1 at or above the last, linear in between. NaN maps to 0.
// A Quantiles with fewer than two bounds maps everything to 0.
func (q *Quantiles) Normalize(x float32) float32 {
	b := q.Bounds
	if len(b) < 2 || !(x > b[0]) {
		return 0
	}
	if x >= b[len(b)-1] {
		return 1
	}
	i := sort.Search(len(b), func(i int) bool { return b[i] > x }) - 1 // b[i] ≤ x < b[i+1]
	frac := (x - b[i]) / (b[i+1] - b[i])
	return (float32(i) + frac) / float32(len(b)-1)
}

// Valid reports whether the bounds are finite and strictly increasing.
func (q *Quantiles) Valid() bool {
	for i, b := range q.Bounds {
		if math.IsNaN(float64(b)) || math.IsInf(float64(b), 0) || (i > 0 && !(b > q.Bounds[i-1])) {
			return false
		}
	}
	return true
}

// PowerWidth is the number of inputs Powers writes per numeric feature.
const PowerWidth = 3

// Powers writes the normalized value and its super- and sub-linear
// variants, dst = [q, q², √q] (Covington et al. 2016, §4.2).
func Powers(dst []float32, q float32) {
	dst[0] = q
	dst[1] = q * q
	dst[2] = float32(math.Sqrt(float64(q)))
}
