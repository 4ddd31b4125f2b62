package api

import "fmt"

// Source is a candidate source of stage 1. Its name is what responses
// report (Item.Source), what a request's source weights are keyed by
// (Request.Sources) and what the ranker's per-source features are named
// after (core/rank). Bundles store per-source parameters in this order: a
// new source is appended, never inserted, so that parameters and rankers
// written before it keep their meaning (bundles/FORMAT.md §5.8).
type Source uint8

const (
	SourceTwoTower Source = iota // two-tower ANN on the query embedding
	SourceCovisit                // neighbours of the seed and recent history items by co-visitation
	SourcePopular                // popular in the user's region (slowly decayed counts)
	SourceTrending               // trending in the user's region (quickly decayed counts)
	SourceFresh                  // released recently, scored by the query embedding
	SourceExplore                // a seeded sample from the long tail
	SourceSlim                   // neighbours of the seed and recent history items by the learned item-to-item model
	NumSources
)

// SourceNames names the sources, indexed by Source.
var SourceNames = [NumSources]string{"twotower", "covisit", "popular", "trending", "fresh", "explore", "slim"}

// SourcePinned is the source a response reports for an item a pin rule
// placed; it is not a candidate source.
const SourcePinned = "pinned"

// String returns the source's name.
func (s Source) String() string {
	if s < NumSources {
		return SourceNames[s]
	}
	return fmt.Sprintf("source(%d)", s)
}

// ParseSource returns the source named name.
func ParseSource(name string) (Source, bool) {
	for s, n := range SourceNames {
		if n == name {
			return Source(s), true
		}
	}
	return 0, false
}
