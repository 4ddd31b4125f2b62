package report

import "math"

// z95 is the standard normal quantile of 0.975: a two-sided 95 % interval.
const z95 = 1.959963984540054

// zPower80 is the standard normal quantile of 0.8: 80 % power.
const zPower80 = 0.8416212335729143

// Wilson returns the Wilson score interval of a proportion of x successes
// in n trials at the normal quantile z (z95 for 95 %):
//
//	centre = (x + z²/2) / (n + z²)
//	half   = z / (n + z²) · √(x(n − x)/n + z²/4)
//
// (E. B. Wilson, "Probable inference, the law of succession, and
// statistical inference", JASA 22, 1927; Newcombe 1998, method 3). Unlike
// the normal approximation it stays inside [0, 1] and is usable at 0 and
// n successes. n = 0 gives [0, 1]. It panics if x is not in [0, n].
func Wilson(x, n int, z float64) (lo, hi float64) {
	if x < 0 || x > n {
		panic("report: Wilson needs 0 ≤ x ≤ n")
	}
	if n == 0 {
		return 0, 1
	}
	fx, fn, z2 := float64(x), float64(n), z*z
	centre := (fx + z2/2) / (fn + z2)
	half := z / (fn + z2) * math.Sqrt(fx*(fn-fx)/fn+z2/4)
	return math.Max(0, centre-half), math.Min(1, centre+half)
}

// NewcombeDiff returns the interval of the difference p2 − p1 of two
// independent proportions x1/n1 and x2/n2 by Newcombe's hybrid score
// method, built from each proportion's Wilson interval [l, u]:
//
//	d − √((p2 − l2)² + (u1 − p1)²)  …  d + √((u2 − p2)² + (p1 − l1)²)
//
// (R. G. Newcombe, "Interval estimation for the difference between
// independent proportions: comparison of eleven methods", Statistics in
// Medicine 17, 1998, method 10). It panics as Wilson does.
func NewcombeDiff(x1, n1, x2, n2 int, z float64) (d, lo, hi float64) {
	l1, u1 := Wilson(x1, n1, z)
	l2, u2 := Wilson(x2, n2, z)
	p1, p2 := rate(x1, n1), rate(x2, n2)
	d = p2 - p1
	lo = d - math.Sqrt((p2-l2)*(p2-l2)+(u1-p1)*(u1-p1))
	hi = d + math.Sqrt((u2-p2)*(u2-p2)+(p1-l1)*(p1-l1))
	return d, lo, hi
}

// SampleSize returns the trials each of two arms needs to detect an
// absolute difference delta from a base rate p with a two-sided 95 % test
// at 80 % power:
//
//	n = (z₀.₉₇₅ + z₀.₈)² · (p(1 − p) + q(1 − q)) / delta²,  q = p + delta
//
// (the normal approximation for two proportions; e.g. Chow, Shao & Wang,
// "Sample Size Calculations in Clinical Research", §4.2). p is clamped so
// that q stays below 1.
func SampleSize(p, delta float64) int {
	if delta <= 0 {
		return math.MaxInt32
	}
	p = math.Min(math.Max(p, 0), 1-delta)
	q := p + delta
	k := z95 + zPower80
	return int(math.Ceil(k * k * (p*(1-p) + q*(1-q)) / (delta * delta)))
}

func rate(x, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(x) / float64(n)
}
