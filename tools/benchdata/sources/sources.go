// Package sources makes the candidate sources of a bundle (its PIPE
// section, bundles/FORMAT.md) at random but valid, for `edgerec bench` and
// for the random bundles of core/bundle/bundletest: what the co-visitation,
// slim, popular, trending and fresh sources cost in the pipeline, without
// a data set to build them from.
package sources

import (
	"math/rand/v2"

	"github.com/edgerec/edgerec/core/bundle"
)

// Neighbours per item of Random's lists: the builder's defaults
// (tools/builder's CovisitTop and SlimTop), so that what a bench measures
// per item is what a built bundle holds.
const (
	CovisitTop = 10
	SlimTop    = 10
)

// Random returns a valid PIPE section for n items: CovisitTop random
// co-visited and SlimTop random slim neighbours per item, popular and
// trending lists for all regions and for "eu" (100 items each), 30 fresh
// days and bundle.DefaultParams.
func Random(n int, seed uint64) *bundle.Pipeline {
	p := &bundle.Pipeline{FreshDays: 30, Defaults: bundle.DefaultParams()}
	// Slim's lists from a stream of their own, so the other sections stay
	// what they were before the slim source.
	p.Covisit = randomLists(n, CovisitTop, rand.New(rand.NewPCG(seed, 2)), func(k int) float32 { return float32(CovisitTop - k) })
	p.Slim = randomLists(n, SlimTop, rand.New(rand.NewPCG(seed, 3)), func(k int) float32 { return 0.5 / float32(k+1) })
	list := func(region string, stride int) bundle.RegionList {
		l := bundle.RegionList{Region: region}
		for i := 0; i < n && len(l.Items) < 100; i += stride {
			l.Items = append(l.Items, int32(i))
			l.Scores = append(l.Scores, float32(n-i))
		}
		return l
	}
	p.Popular = []bundle.RegionList{list("", 1), list("eu", 3)}
	p.Trending = []bundle.RegionList{list("", 7), list("eu", 5)}
	return p
}

// randomLists returns up to top random neighbours per item of n (never
// the item itself), the k-th weighing weight(k).
func randomLists(n, top int, rng *rand.Rand, weight func(k int) float32) bundle.PackedNeighbours {
	l := bundle.Neighbours{Offsets: []uint32{0}}
	for i := 0; i < n; i++ {
		for k := 0; k < min(top, n-1); k++ {
			j := int32(rng.IntN(n))
			if int(j) == i {
				continue
			}
			l.Items = append(l.Items, j)
			l.Weights = append(l.Weights, weight(k))
		}
		l.Offsets = append(l.Offsets, uint32(len(l.Items)))
	}
	p, err := bundle.Pack(&l, n)
	if err != nil {
		panic(err) // rows in range and finite weights by construction
	}
	return p
}
