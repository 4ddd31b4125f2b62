package report

import (
	"math/rand/v2"
	"slices"
)

// cluster is one user's impressions and takes in one arm.
type cluster struct{ impressions, takes int }

// bootstrapDiff returns the percentile interval (2.5 %, 97.5 %) of the
// difference of take rates a − base over reps resamples of users with
// replacement, drawn within each arm (a cluster bootstrap: impressions of
// one user move together, so the interval widens with how much users
// differ; B. Efron and R. Tibshirani, "An Introduction to the Bootstrap",
// 1993, §13.3, and for clustered resampling A. C. Davison and D. V.
// Hinkley, "Bootstrap Methods and their Application", 1997, §3.8).
func bootstrapDiff(a, base []cluster, reps int, seed uint64) (lo, hi float64) {
	rng := rand.New(rand.NewPCG(seed, 0x65646765726563))
	d := make([]float64, reps)
	for r := range d {
		d[r] = resampleRate(a, rng) - resampleRate(base, rng)
	}
	slices.Sort(d)
	return percentile(d, 0.025), percentile(d, 0.975)
}

// bootstrapRate is bootstrapDiff's interval for one arm's take rate.
func bootstrapRate(a []cluster, reps int, seed uint64) (lo, hi float64) {
	rng := rand.New(rand.NewPCG(seed, 0x72617465))
	d := make([]float64, reps)
	for r := range d {
		d[r] = resampleRate(a, rng)
	}
	slices.Sort(d)
	return percentile(d, 0.025), percentile(d, 0.975)
}

func resampleRate(cs []cluster, rng *rand.Rand) float64 {
	var imp, take int
	for range cs {
		c := cs[rng.IntN(len(cs))]
		imp += c.impressions
		take += c.takes
	}
	return rate(take, imp)
}

// percentile returns the q-quantile of sorted by linear interpolation
// between order statistics (Hyndman and Fan's type 7, R's default).
func percentile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	h := q * float64(len(sorted)-1)
	i := int(h)
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[i] + (h-float64(i))*(sorted[i+1]-sorted[i])
}
