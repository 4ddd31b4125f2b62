package eval

import (
	"fmt"
	"math"
	"slices"
)

// DefaultNeighbours is the number of neighbours [ItemKNN] keeps per item
// when Neighbours is 0.
const DefaultNeighbours = 100

// ItemKNN is item-based k-nearest-neighbour collaborative filtering
// (Sarwar et al., "Item-Based Collaborative Filtering Recommendation
// Algorithms", WWW 2001; Deshpande & Karypis, "Item-Based Top-N
// Recommendation Algorithms", TOIS 2004) on the binary user × item
// training matrix X:
//
//	sim(i, j) = |U(i) ∩ U(j)| / √(|U(i)|·|U(j)|)   (cosine of X's columns)
//	score(i)  = Σ_{j ∈ history, i ∈ N(j)} sim(i, j)
//
// U(i) is the set of users of item i and N(j) the Neighbours items most
// similar to j (ties by popularity). Items are ranked by score, ties (and
// items without any similar history item) by training popularity.
//
// # Notes
//
// Building the neighbour lists costs Σ_u |history(u)|² operations, split
// over Workers goroutines.
type ItemKNN struct {
	// Neighbours is |N(j)|: 0 means DefaultNeighbours, a negative value
	// keeps every item with a positive similarity.
	Neighbours int
	// Workers is the number of goroutines; 0 means GOMAXPROCS.
	Workers int
}

// Name returns "itemknn".
func (m *ItemKNN) Name() string { return "itemknn" }

// Describe reports the neighbourhood size.
func (m *ItemKNN) Describe() string {
	if m.neighbours() < 0 {
		return "cosine on the binary matrix, all neighbours"
	}
	return fmt.Sprintf("cosine on the binary matrix, %d neighbours per item", m.neighbours())
}

func (m *ItemKNN) neighbours() int {
	if m.Neighbours == 0 {
		return DefaultNeighbours
	}
	return m.Neighbours
}

// neighbour is one entry of an item's neighbour list.
type neighbour struct {
	item int32
	sim  float64
}

// Fit computes the neighbour lists of s's training items.
func (m *ItemKNN) Fit(s *Split) (Ranker, error) {
	c := newCatalog(s)
	nbrs := knnNeighbours(c, m.neighbours(), m.Workers)
	return c.ranker(func(dst []float64, hist []int32) {
		for _, j := range hist {
			for _, nb := range nbrs[j] {
				dst[nb.item] += nb.sim
			}
		}
	}), nil
}

// knnNeighbours returns, for each catalog item, its keep most similar
// other items by cosine (all with a positive similarity if keep < 0),
// most similar first, ties by lower index.
func knnNeighbours(c *catalog, keep, workers int) [][]neighbour {
	n := len(c.ids)
	nbrs := make([][]neighbour, n)
	type scratch struct {
		co      []int32
		touched []int32
	}
	pool := make(chan *scratch, max(workers, 1)*2+2)
	get := func() *scratch {
		select {
		case sc := <-pool:
			return sc
		default:
			return &scratch{co: make([]int32, n)}
		}
	}
	parallel(n, 16, workers, func(i int) {
		sc := get()
		// co[j] = |U(i) ∩ U(j)|.
		for _, u := range c.itemCols[i] {
			for _, j := range c.userRows[u] {
				if sc.co[j] == 0 {
					sc.touched = append(sc.touched, j)
				}
				sc.co[j]++
			}
		}
		list := make([]neighbour, 0, len(sc.touched))
		ni := float64(c.count[i])
		for _, j := range sc.touched {
			if int(j) != i {
				list = append(list, neighbour{j, float64(sc.co[j]) / math.Sqrt(ni*float64(c.count[j]))})
			}
			sc.co[j] = 0
		}
		sc.touched = sc.touched[:0]
		slices.SortFunc(list, func(a, b neighbour) int {
			if a.sim != b.sim {
				if a.sim > b.sim {
					return -1
				}
				return 1
			}
			return int(a.item - b.item)
		})
		if keep >= 0 && len(list) > keep {
			list = slices.Clip(list[:keep])
		}
		nbrs[i] = list
		select {
		case pool <- sc:
		default:
		}
	})
	return nbrs
}
