package builder

import (
	"fmt"
	"math"
	"sort"

	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/tools/dataset"
	"github.com/edgerec/edgerec/tools/slim"
)

// Parameters of the candidate sources' data.
const (
	// CovisitWindow is how many following items of a user's history count
	// as co-visited with an item.
	CovisitWindow = 3
	// CovisitTop is how many co-visited neighbours are kept per item. It
	// and SlimTop share the neighbour budget per item that co-visitation
	// had alone before the slim source, so bundles do not grow per item.
	CovisitTop = 10
	// SlimTop is how many slim neighbours (the items an item recommends by
	// the learned item-to-item model) are kept per item.
	SlimTop = 10
	// PopularHalfLife and TrendingHalfLife are the half-lives, in days, of
	// the decayed counts behind the popular and trending lists.
	PopularHalfLife  = 30
	TrendingHalfLife = 3
	// ListLength is how many items a popular or trending list keeps.
	ListLength = 200
	// FreshDays is how recent a release counts as fresh.
	FreshDays = 30
)

// pipelineData computes the PIPE section from the interactions up to
// created: co-visitation and slim neighbours, popular and trending lists
// per region.
func pipelineData(ds *dataset.Dataset, row map[string]int32, n int, created int64, rules *Rules) (*bundle.Pipeline, error) {
	p := &bundle.Pipeline{FreshDays: FreshDays, Defaults: bundle.DefaultParams()}
	region := map[string]string{}
	for _, u := range ds.Users {
		region[u.ID] = u.Region
	}
	// Users' distinct items in time order (interactions are time-sorted).
	seqs := map[string][]int32{}
	times := map[string][]int64{}
	var order []string
	seen := map[[2]string]bool{}
	pop := map[string]map[int32]float64{}
	trend := map[string]map[int32]float64{}
	add := func(m map[string]map[int32]float64, reg string, r int32, v float64) {
		if m[reg] == nil {
			m[reg] = map[int32]float64{}
		}
		m[reg][r] += v
	}
	count := make([]float64, n)
	for _, in := range ds.Interactions {
		r, ok := row[in.Item]
		if !ok || in.Time > created {
			continue
		}
		k := [2]string{in.User, in.Item}
		if seen[k] {
			continue
		}
		seen[k] = true
		if _, ok := seqs[in.User]; !ok {
			order = append(order, in.User)
		}
		seqs[in.User] = append(seqs[in.User], r)
		times[in.User] = append(times[in.User], in.Time)
		count[r]++
		age := float64(created-in.Time) / 86400
		wp := math.Exp2(-age / PopularHalfLife)
		wt := math.Exp2(-age / TrendingHalfLife)
		for _, reg := range []string{"", region[in.User]} {
			add(pop, reg, r, wp)
			add(trend, reg, r, wt)
			if region[in.User] == "" {
				break
			}
		}
	}

	// Co-visitation: items within CovisitWindow positions of each other in
	// a user's history, weighted 1/distance, normalized by
	// √(count_a·count_b) so that popular items do not neighbour everything.
	co := make([]map[int32]float32, n)
	for _, u := range order {
		s := seqs[u]
		for i := range s {
			for j := i + 1; j < len(s) && j-i <= CovisitWindow; j++ {
				w := 1 / float32(j-i)
				a, b := s[i], s[j]
				if co[a] == nil {
					co[a] = map[int32]float32{}
				}
				if co[b] == nil {
					co[b] = map[int32]float32{}
				}
				co[a][b] += w
				co[b][a] += w
			}
		}
	}
	nb := &bundle.Neighbours{Offsets: make([]uint32, 1, n+1)}
	type pair struct {
		item int32
		w    float32
	}
	for a := 0; a < n; a++ {
		var ps []pair
		for b, w := range co[a] {
			ps = append(ps, pair{b, w / float32(math.Sqrt(count[a]*count[b]))})
		}
		sort.Slice(ps, func(i, j int) bool {
			if ps[i].w != ps[j].w {
				return ps[i].w > ps[j].w
			}
			return ps[i].item < ps[j].item
		})
		for _, q := range ps[:min(len(ps), CovisitTop)] {
			nb.Items = append(nb.Items, q.item)
			nb.Weights = append(nb.Weights, q.w)
		}
		nb.Offsets = append(nb.Offsets, uint32(len(nb.Items)))
	}
	sl, err := slimNeighbours(seqs, times, order, n)
	if err != nil {
		return nil, err
	}
	if p.Covisit, err = bundle.Pack(nb, n); err != nil {
		return nil, err
	}
	if p.Slim, err = bundle.Pack(sl, n); err != nil {
		return nil, err
	}
	p.Popular = regionLists(pop)
	p.Trending = regionLists(trend)
	if rules != nil {
		if err := rules.apply(p, row); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// slimNeighbours fits the learned item-to-item model (tools/slim) on the
// users' distinct items in time order, the sequences co-visitation counts,
// with λ chosen by slim.Choose on a temporal validation split of them, and
// keeps SlimTop neighbours per item.
func slimNeighbours(seqs map[string][]int32, times map[string][]int64, order []string, n int) (*bundle.Neighbours, error) {
	vs := make([]slim.Seq, 0, len(order))
	for _, u := range order {
		vs = append(vs, slim.Seq{Items: seqs[u], Times: times[u]})
	}
	cfg := slim.DefaultConfig()
	cfg.Top = SlimTop
	nb, _, err := slim.FitChosen(vs, n, cfg, slim.DefaultLambdas)
	if err != nil {
		return nil, fmt.Errorf("slim: %w", err)
	}
	return nb, nil
}

// regionLists turns per-region decayed counts into ranked lists, regions
// in sorted order ("" = all regions first).
func regionLists(m map[string]map[int32]float64) []bundle.RegionList {
	regions := make([]string, 0, len(m))
	for r := range m {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	var out []bundle.RegionList
	for _, reg := range regions {
		counts := m[reg]
		rows := make([]int32, 0, len(counts))
		for r := range counts {
			rows = append(rows, r)
		}
		sort.Slice(rows, func(i, j int) bool {
			if counts[rows[i]] != counts[rows[j]] {
				return counts[rows[i]] > counts[rows[j]]
			}
			return rows[i] < rows[j]
		})
		rows = rows[:min(len(rows), ListLength)]
		l := bundle.RegionList{Region: reg, Items: rows, Scores: make([]float32, len(rows))}
		for i, r := range rows {
			l.Scores[i] = float32(counts[r])
		}
		out = append(out, l)
	}
	return out
}
