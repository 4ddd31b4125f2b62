package eval

import (
	"fmt"

	"github.com/edgerec/edgerec/tools/builder"
	"github.com/edgerec/edgerec/tools/slim"
)

// SLIM is the learned item-to-item model the bundle builder fits for the
// pipeline's slim source (package tools/slim: a ridge regression of each
// item on its most co-occurring items, λ chosen by slim.Choose on a
// temporal split of the training part, as the builder does), scored as the
// module serves it: each history item adds its Top neighbours' weights,
//
//	score(j) = Σ_{i ∈ history, j ∈ N(i)} w_j[i]
//
// ties (and items no history item points to) by training popularity.
type SLIM struct {
	Config slim.Config // zero: slim.DefaultConfig with the builder's Top
	Lambda float64     // set by Fit: the λ chosen
}

// Name returns "slim".
func (m *SLIM) Name() string { return "slim" }

func (m *SLIM) config() slim.Config {
	if m.Config.Candidates == 0 {
		c := slim.DefaultConfig()
		c.Top = builder.SlimTop
		return c
	}
	return m.Config
}

// Describe reports the configuration.
func (m *SLIM) Describe() string {
	c := m.config()
	return fmt.Sprintf("%d candidates, top %d kept per item, λ = %g × mean item count (chosen on a validation split), window %d", c.Candidates, c.Top, m.Lambda, c.Window)
}

// Fit fits the model on s's training part.
func (m *SLIM) Fit(s *Split) (Ranker, error) {
	c := newCatalog(s)
	users := map[string]int{}
	var seqs []slim.Seq
	for _, in := range s.Train.Interactions {
		u, ok := users[in.User]
		if !ok {
			u = len(seqs)
			users[in.User] = u
			seqs = append(seqs, slim.Seq{})
		}
		seqs[u].Items = append(seqs[u].Items, c.index[in.Item])
		seqs[u].Times = append(seqs[u].Times, in.Time)
	}
	nb, lambda, err := slim.FitChosen(seqs, len(c.ids), m.config(), slim.DefaultLambdas)
	if err != nil {
		return nil, err
	}
	m.Lambda = lambda
	return c.ranker(func(dst []float64, hist []int32) {
		for _, i := range hist {
			items, ws := nb.Of(int(i))
			for k, j := range items {
				dst[j] += float64(ws[k])
			}
		}
	}), nil
}
