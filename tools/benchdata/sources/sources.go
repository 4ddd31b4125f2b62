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

// Random returns a valid PIPE section for n items: 5 random co-visited and
// 3 random slim neighbours per item, popular and trending lists for all
// regions and for "eu" (100 items each), 30 fresh days and
// bundle.DefaultParams.
func Random(n int, seed uint64) *bundle.Pipeline {
	rng := rand.New(rand.NewPCG(seed, 2))
	p := &bundle.Pipeline{FreshDays: 30, Defaults: bundle.DefaultParams()}
	p.Covisit.Offsets = []uint32{0}
	for i := 0; i < n; i++ {
		for k := 0; k < min(5, n-1); k++ {
			j := int32(rng.IntN(n))
			if int(j) == i {
				continue
			}
			p.Covisit.Items = append(p.Covisit.Items, j)
			p.Covisit.Weights = append(p.Covisit.Weights, float32(5-k))
		}
		p.Covisit.Offsets = append(p.Covisit.Offsets, uint32(len(p.Covisit.Items)))
	}
	// Slim's lists from a stream of their own, so the other sections stay
	// what they were before the slim source.
	srng := rand.New(rand.NewPCG(seed, 3))
	p.Slim.Offsets = []uint32{0}
	for i := 0; i < n; i++ {
		for k := 0; k < min(3, n-1); k++ {
			j := int32(srng.IntN(n))
			if int(j) == i {
				continue
			}
			p.Slim.Items = append(p.Slim.Items, j)
			p.Slim.Weights = append(p.Slim.Weights, 0.5/float32(k+1))
		}
		p.Slim.Offsets = append(p.Slim.Offsets, uint32(len(p.Slim.Items)))
	}
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
