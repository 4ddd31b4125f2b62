package builder

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle"
)

// Rules are business rules and experiment arms, naming items by id: the
// JSON file of `edgerec bundle build --rules`. Every field is optional.
//
//	{
//	  "exclude": ["i0042"],
//	  "pinned":  [{"item": "i0007", "position": 0}],
//	  "boosted": [{"item": "i0100", "amount": 1.5}],
//	  "defaults": {"weights": {"explore": 0}, "mmr_lambda": 0.7, "category_cap": 3},
//	  "arms": [{"name": "control", "weight": 1, "params": {}},
//	           {"name": "no-ranker", "weight": 1, "params": {"ranker": false}}]
//	}
//
// Params fields left out keep bundle.DefaultParams.
type Rules struct {
	Exclude  []string    `json:"exclude"`
	Pinned   []PinRule   `json:"pinned"`
	Boosted  []BoostRule `json:"boosted"`
	Defaults *ParamRules `json:"defaults"`
	Arms     []ArmRule   `json:"arms"`
}

// PinRule pins an item at a 0-based position.
type PinRule struct {
	Item     string `json:"item"`
	Position int    `json:"position"`
}

// BoostRule raises an item's relevance by Amount standard deviations.
type BoostRule struct {
	Item   string  `json:"item"`
	Amount float32 `json:"amount"`
}

// ParamRules overrides bundle.Params; sources are named as in
// api.SourceNames.
type ParamRules struct {
	Weights      map[string]float32 `json:"weights"`
	Depth        map[string]int     `json:"depth"`
	Ranker       *bool              `json:"ranker"`
	MMRLambda    *float32           `json:"mmr_lambda"`
	CategoryCap  *int               `json:"category_cap"`
	ExploreEvery *int               `json:"explore_every"`
	Demote       *float32           `json:"demote"`
}

// ArmRule is an experiment arm.
type ArmRule struct {
	Name   string     `json:"name"`
	Weight float32    `json:"weight"`
	Params ParamRules `json:"params"`
}

// LoadRules reads a rules file; unknown fields are an error.
func LoadRules(path string) (*Rules, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	var r Rules
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// params applies the overrides to the defaults.
func (pr *ParamRules) params() (bundle.Params, error) {
	p := bundle.DefaultParams()
	if pr == nil {
		return p, nil
	}
	source := func(name string) (int, error) {
		for s, n := range api.SourceNames {
			if n == name {
				return s, nil
			}
		}
		return 0, fmt.Errorf("unknown source %q (known: %v)", name, api.SourceNames)
	}
	for name, w := range pr.Weights {
		s, err := source(name)
		if err != nil {
			return p, err
		}
		p.Weights[s] = w
	}
	for name, d := range pr.Depth {
		s, err := source(name)
		if err != nil {
			return p, err
		}
		p.Depth[s] = d
	}
	if pr.Ranker != nil {
		p.Ranker = *pr.Ranker
	}
	if pr.MMRLambda != nil {
		p.MMRLambda = *pr.MMRLambda
	}
	if pr.CategoryCap != nil {
		p.CategoryCap = *pr.CategoryCap
	}
	if pr.ExploreEvery != nil {
		p.ExploreEvery = *pr.ExploreEvery
	}
	if pr.Demote != nil {
		p.Demote = *pr.Demote
	}
	return p, p.Validate()
}

// apply resolves the rules' ids to rows and sets them in p.
func (r *Rules) apply(p *bundle.Pipeline, row map[string]int32) error {
	lookup := func(what, id string) (int32, error) {
		i, ok := row[id]
		if !ok {
			return 0, fmt.Errorf("rules: %s item %q is not in the catalog", what, id)
		}
		return i, nil
	}
	for _, id := range r.Exclude {
		i, err := lookup("excluded", id)
		if err != nil {
			return err
		}
		p.Rules.Exclude = append(p.Rules.Exclude, i)
	}
	for _, pin := range r.Pinned {
		i, err := lookup("pinned", pin.Item)
		if err != nil {
			return err
		}
		p.Rules.Pinned = append(p.Rules.Pinned, bundle.Pin{Item: i, Position: pin.Position})
	}
	for _, b := range r.Boosted {
		i, err := lookup("boosted", b.Item)
		if err != nil {
			return err
		}
		p.Rules.Boosted = append(p.Rules.Boosted, bundle.Boost{Item: i, Amount: b.Amount})
	}
	var err error
	if p.Defaults, err = r.Defaults.params(); err != nil {
		return fmt.Errorf("rules: defaults: %w", err)
	}
	for _, a := range r.Arms {
		ap, err := a.Params.params()
		if err != nil {
			return fmt.Errorf("rules: arm %s: %w", a.Name, err)
		}
		p.Arms = append(p.Arms, bundle.Arm{Name: a.Name, Weight: a.Weight, Params: ap})
	}
	return nil
}
