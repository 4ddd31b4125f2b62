package api

import "fmt"

// Order overrides, for one request, the ordering parameters the bundle (or
// the request's experiment arm) sets in its pipeline section
// (bundles/FORMAT.md §5.8). A nil field keeps the bundle's value. Clients
// use it for knobs: a demo's diversity slider, an app's "surprise me".
type Order struct {
	// MMRLambda trades relevance (1) against diversity (0) in the MMR
	// re-ordering; in [0, 1].
	MMRLambda *float64 `msgpack:"mmr_lambda,omitempty" json:"mmr_lambda,omitempty"`
	// ExploreEvery makes every n-th position an exploration slot (0:
	// none); in [0, MaxK].
	ExploreEvery *int `msgpack:"explore_every,omitempty" json:"explore_every,omitempty"`
	// CategoryCap limits the items per category in the response (0: no
	// cap); in [0, MaxK].
	CategoryCap *int `msgpack:"category_cap,omitempty" json:"category_cap,omitempty"`
}

// Validate reports the first field out of range.
func (o *Order) Validate() error {
	switch {
	case o == nil:
		return nil
	case o.MMRLambda != nil && !(*o.MMRLambda >= 0 && *o.MMRLambda <= 1):
		return fmt.Errorf("order.mmr_lambda = %v is out of range [0, 1]", *o.MMRLambda)
	case o.ExploreEvery != nil && (*o.ExploreEvery < 0 || *o.ExploreEvery > MaxK):
		return fmt.Errorf("order.explore_every = %d is out of range [0, %d]", *o.ExploreEvery, MaxK)
	case o.CategoryCap != nil && (*o.CategoryCap < 0 || *o.CategoryCap > MaxK):
		return fmt.Errorf("order.category_cap = %d is out of range [0, %d]", *o.CategoryCap, MaxK)
	}
	return nil
}
