package eval

import (
	"fmt"

	"github.com/edgerec/edgerec/tools/slim"
)

// SLIM is the learned item-to-item model the bundle builder fits for the
// pipeline's slim source (package tools/slim: a ridge regression of each
// item on its most co-occurring items), scored as the module serves it:
// each history item adds its Top neighbours' weights,
//
//	score(j) = Σ_{i ∈ history, j ∈ N(i)} w_j[i]
//
// ties (and items no history item points to) by training popularity.
type SLIM struct {
	Config slim.Config // zero: slim.DefaultConfig
}

// Name returns "slim".
func (m *SLIM) Name() string { return "slim" }

func (m *SLIM) config() slim.Config {
	if m.Config.Candidates == 0 {
		return slim.DefaultConfig()
	}
	return m.Config
}

// Describe reports the configuration.
func (m *SLIM) Describe() string {
	c := m.config()
	return fmt.Sprintf("%d candidates, top %d kept per item, λ = %g × mean item count, window %d", c.Candidates, c.Top, c.Lambda, c.Window)
}

// Fit fits the model on s's training part.
func (m *SLIM) Fit(s *Split) (Ranker, error) {
	c := newCatalog(s)
	users := map[string]int{}
	var seqs [][]int32
	for _, in := range s.Train.Interactions {
		u, ok := users[in.User]
		if !ok {
			u = len(seqs)
			users[in.User] = u
			seqs = append(seqs, nil)
		}
		seqs[u] = append(seqs[u], c.index[in.Item])
	}
	nb, err := slim.Fit(seqs, len(c.ids), m.config())
	if err != nil {
		return nil, err
	}
	return c.ranker(func(dst []float64, hist []int32) {
		for _, i := range hist {
			items, ws := nb.Of(int(i))
			for k, j := range items {
				dst[j] += float64(ws[k])
			}
		}
	}), nil
}
