package bundle

import (
	"fmt"
	"math"

	"github.com/edgerec/edgerec/core/api"
)

// TagPipeline names the optional section with the data and parameters of
// the candidate sources, business rules and experiments (FORMAT.md §5.8).
const TagPipeline = "PIPE"

// Pipeline is the content of section PIPE.
type Pipeline struct {
	// Covisit lists, per item row, its top co-visited items, best first.
	Covisit PackedNeighbours `msgpack:"-"`
	// Slim lists, per item row, the items it recommends by the learned
	// item-to-item model (tools/slim), best first; empty in bundles built
	// before the slim source.
	Slim PackedNeighbours `msgpack:"-"`
	// Popular and Trending hold one list per region ("" = all regions),
	// best first.
	Popular  []RegionList `msgpack:"popular"`
	Trending []RegionList `msgpack:"trending"`
	// FreshDays is how recent a release counts as fresh.
	FreshDays int `msgpack:"fresh_days"`
	// Rules are the business rules that apply to every request.
	Rules Rules `msgpack:"rules"`
	// Defaults are the parameters of requests outside any experiment arm.
	Defaults Params `msgpack:"defaults"`
	// Arms are experiment arms; a request's experiment key picks one by
	// hash, with probability proportional to Weight.
	Arms []Arm `msgpack:"arms"`
}

// Neighbours are per-item neighbour lists in their plain form: what the
// builders fill, and how format 1's PIPE and format 2's COVI and SLIM
// stored them. Item i's neighbours are Items[Offsets[i]:Offsets[i+1]],
// with Weights alike. Pack turns them into what a Pipeline holds.
type Neighbours struct {
	Offsets []uint32  `msgpack:"offsets"` // len = items + 1, or empty for none
	Items   []int32   `msgpack:"items"`
	Weights []float32 `msgpack:"weights"`
}

// Of returns item i's neighbours and weights.
func (n *Neighbours) Of(i int) ([]int32, []float32) {
	if len(n.Offsets) == 0 {
		return nil, nil
	}
	lo, hi := n.Offsets[i], n.Offsets[i+1]
	return n.Items[lo:hi], n.Weights[lo:hi]
}

// RegionList is a ranked list of items for one region.
type RegionList struct {
	Region string    `msgpack:"region"`
	Items  []int32   `msgpack:"items"`
	Scores []float32 `msgpack:"scores"`
}

// Rules are business rules as data.
type Rules struct {
	Exclude []int32 `msgpack:"exclude"` // never recommended
	Pinned  []Pin   `msgpack:"pinned"`  // placed at fixed positions when they pass the filters
	Boosted []Boost `msgpack:"boosted"` // relevance raised before ordering
}

// Pin places an item at a 0-based position.
type Pin struct {
	Item     int32 `msgpack:"item"`
	Position int   `msgpack:"position"`
}

// Boost adds Amount (in standard deviations of the candidates' relevance)
// to an item's relevance.
type Boost struct {
	Item   int32   `msgpack:"item"`
	Amount float32 `msgpack:"amount"`
}

// Params are the tunable parameters of one request's pipeline.
type Params struct {
	// Weights scales each source in the blend and the ranker's input; 0
	// disables a source. Params written before a source existed have
	// fewer entries: the reader fills the rest with 0, so that source is
	// off.
	Weights [api.NumSources]float32 `msgpack:"weights"`
	// Depth is how many candidates each source fetches before filtering.
	Depth [api.NumSources]int `msgpack:"depth"`
	// Ranker uses the bundle's ranker when there is one; otherwise the
	// candidates are ordered by the reciprocal-rank blend.
	Ranker bool `msgpack:"ranker"`
	// MMRLambda trades relevance (1) against diversity (0) in ordering.
	MMRLambda float32 `msgpack:"mmr_lambda"`
	// CategoryCap limits items per category in a response (0: no cap).
	CategoryCap int `msgpack:"category_cap"`
	// ExploreEvery makes every n-th position an exploration slot (0: none).
	ExploreEvery int `msgpack:"explore_every"`
	// Demote is how much an impression shown but not taken lowers an
	// item's relevance: Demote·ln(1+count)·2^(−days since shown/7), in
	// standard deviations.
	Demote float32 `msgpack:"demote"`
}

// Arm is one experiment arm.
type Arm struct {
	Name   string  `msgpack:"name"`
	Weight float32 `msgpack:"weight"`
	Params Params  `msgpack:"params"`
}

// DefaultParams are the parameters a bundle gets unless its builder says
// otherwise.
func DefaultParams() Params {
	return Params{
		Weights:      [api.NumSources]float32{1, 1, 0.5, 0.5, 0.5, 0.2, 1},
		Depth:        [api.NumSources]int{100, 50, 50, 30, 30, 20, 50},
		Ranker:       true,
		MMRLambda:    0.8,
		CategoryCap:  0,
		ExploreEvery: 0,
		Demote:       1,
	}
}

// Validate checks p's ranges.
func (p *Params) Validate() error {
	for s := range p.Weights {
		if !(p.Weights[s] >= 0) || p.Weights[s] > 100 {
			return fmt.Errorf("weight of source %s = %v out of [0, 100]", api.SourceNames[s], p.Weights[s])
		}
		if p.Depth[s] < 0 || p.Depth[s] > 10000 {
			return fmt.Errorf("depth of source %s = %d out of [0, 10000]", api.SourceNames[s], p.Depth[s])
		}
	}
	switch {
	case !(p.MMRLambda >= 0 && p.MMRLambda <= 1):
		return fmt.Errorf("mmr_lambda = %v out of [0, 1]", p.MMRLambda)
	case p.CategoryCap < 0 || p.ExploreEvery < 0 || p.ExploreEvery == 1:
		return fmt.Errorf("category_cap = %d and explore_every = %d must be ≥ 0 (explore_every ≠ 1)", p.CategoryCap, p.ExploreEvery)
	case !(p.Demote >= 0 && p.Demote <= 100):
		return fmt.Errorf("demote = %v out of [0, 100]", p.Demote)
	}
	return nil
}

// validate checks the section against a catalog of n items; a
// *FormatError names the section of lists that fail.
func (p *Pipeline) validate(n int) error {
	row := func(i int32) bool { return i >= 0 && int(i) < n }
	for _, nb := range []struct {
		tag, what string
		l         *PackedNeighbours
	}{{TagCovisit, "co-visitation", &p.Covisit}, {TagSlim, "slim", &p.Slim}} {
		if err := nb.l.validate(n, nb.what); err != nil {
			return formatErr(nb.tag, "%v", err)
		}
	}
	for _, lists := range [][]RegionList{p.Popular, p.Trending} {
		for _, l := range lists {
			if len(l.Items) != len(l.Scores) {
				return fmt.Errorf("list of region %q has %d items and %d scores", l.Region, len(l.Items), len(l.Scores))
			}
			for i, it := range l.Items {
				if !row(it) || !finite32(l.Scores[i]) {
					return fmt.Errorf("list of region %q: entry %d invalid", l.Region, i)
				}
			}
		}
	}
	if p.FreshDays < 0 || p.FreshDays > 3650 {
		return fmt.Errorf("fresh_days = %d out of [0, 3650]", p.FreshDays)
	}
	r := &p.Rules
	for _, it := range r.Exclude {
		if !row(it) {
			return fmt.Errorf("excluded item %d out of range", it)
		}
	}
	for _, pin := range r.Pinned {
		if !row(pin.Item) || pin.Position < 0 || pin.Position >= 500 {
			return fmt.Errorf("pin of item %d at %d out of range", pin.Item, pin.Position)
		}
	}
	for _, b := range r.Boosted {
		if !row(b.Item) || !finite32(b.Amount) || math.Abs(float64(b.Amount)) > 100 {
			return fmt.Errorf("boost of item %d by %v out of range", b.Item, b.Amount)
		}
	}
	if err := p.Defaults.Validate(); err != nil {
		return fmt.Errorf("defaults: %w", err)
	}
	for _, a := range p.Arms {
		if a.Name == "" || !(a.Weight > 0) || a.Weight > 1e6 {
			return fmt.Errorf("arm %q has weight %v", a.Name, a.Weight)
		}
		if err := a.Params.Validate(); err != nil {
			return fmt.Errorf("arm %s: %w", a.Name, err)
		}
	}
	return nil
}

// validate checks that l has no offsets (no lists) or holds the lists of n items with
// rows in range and finite weights; what names the lists in errors.
func (l *Neighbours) validate(n int, what string) error {
	if len(l.Offsets) == 0 {
		return nil
	}
	if len(l.Offsets) != n+1 || l.Offsets[0] != 0 || int(l.Offsets[n]) != len(l.Items) || len(l.Weights) != len(l.Items) {
		return fmt.Errorf("%s lists do not match %d items", what, n)
	}
	for i := 1; i <= n; i++ {
		if l.Offsets[i] < l.Offsets[i-1] {
			return fmt.Errorf("%s offsets decrease at item %d", what, i-1)
		}
	}
	for i, it := range l.Items {
		if it < 0 || int(it) >= n || !finite32(l.Weights[i]) {
			return fmt.Errorf("%s entry %d: item %d, weight %v", what, i, it, l.Weights[i])
		}
	}
	return nil
}

func finite32(x float32) bool { return !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0) }
