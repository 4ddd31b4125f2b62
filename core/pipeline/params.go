package pipeline

import (
	"fmt"
	"hash/fnv"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle"
)

// Params returns the pipeline parameters of a request: the bundle's
// defaults, or the arm its experiment key hashes to, with the request's
// source weights and ordering overrides (api.Order) on top; and the arm's name ("" outside experiments). A
// bundle without section PIPE serves retrieval alone: DefaultParams
// without MMR.
func (r *Recommender) Params(req *api.Request) (bundle.Params, string, error) {
	p := bundle.DefaultParams()
	p.MMRLambda = 1
	arm := ""
	if pipe := r.b.Pipeline; pipe != nil {
		p = pipe.Defaults
		if a := pickArm(pipe.Arms, req.ExperimentKey); a != nil {
			p, arm = a.Params, a.Name
		}
	}
	for name, w := range req.Sources {
		s := sourceIndex(name)
		if s < 0 {
			return p, arm, fmt.Errorf("unknown source %q in sources (known: %v)", name, api.SourceNames)
		}
		if !(w >= 0 && w <= 100) {
			return p, arm, fmt.Errorf("weight of source %s = %v out of [0, 100]", name, w)
		}
		p.Weights[s] = w
	}
	if o := req.Order; o != nil {
		if o.MMRLambda != nil {
			p.MMRLambda = float32(*o.MMRLambda)
		}
		if o.ExploreEvery != nil {
			p.ExploreEvery = *o.ExploreEvery
		}
		if o.CategoryCap != nil {
			p.CategoryCap = *o.CategoryCap
		}
	}
	return p, arm, nil
}

func sourceIndex(name string) int {
	for s, n := range api.SourceNames {
		if n == name {
			return s
		}
	}
	return -1
}

// pickArm hashes key to an arm with probability proportional to its
// weight: FNV-1a 64 of the key, scaled to [0, Σ weights). An empty key or
// no arms gives nil.
func pickArm(arms []bundle.Arm, key string) *bundle.Arm {
	if key == "" || len(arms) == 0 {
		return nil
	}
	var total float64
	for _, a := range arms {
		total += float64(a.Weight)
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	// FNV-1a's high bits barely move when keys differ only at the end
	// ("u0" … "u99" all fell in the first of two equal arms): mix every
	// bit into them (SplitMix64's finalizer) before scaling.
	x := h.Sum64()
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	x ^= x >> 31
	u := float64(x>>11) / (1 << 53) * total
	for i := range arms {
		if u -= float64(arms[i].Weight); u < 0 {
			return &arms[i]
		}
	}
	return &arms[len(arms)-1]
}
