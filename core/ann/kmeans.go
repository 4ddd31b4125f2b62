package ann

import (
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"sync"

	"github.com/edgerec/edgerec/core/vec"
)

// KMeansOptions configure KMeans. The zero value is usable.
type KMeansOptions struct {
	// Iters is the number of Lloyd iterations at each level; 0 means 10.
	Iters int
	// Seed picks the initial centroids.
	Seed uint64
	// Workers is the number of goroutines for the assignment steps; 0 means
	// GOMAXPROCS. The result does not depend on it.
	Workers int
	// Progress, if not nil, is called after each fine cell with the number
	// of cells done and their total.
	Progress func(done, total int)
}

// flatMax is the largest k that KMeans clusters in one level.
const flatMax = 64

// assignProbe is how many coarse cells Clusters.Assign searches.
const assignProbe = 4

// Clusters are k unit centroids found by KMeans, grouped under coarse cells
// so that assigning a vector costs about √k·(1+assignProbe) inner products
// instead of k.
type Clusters struct {
	Dim int
	// Centroids holds K() unit vectors of Dim floats, row-major, grouped by
	// coarse cell.
	Centroids []float32
	coarse    []float32 // coarse centroids; nil when one level
	cells     [][2]int  // fine centroid range of each coarse cell
}

// K returns the number of centroids.
func (c *Clusters) K() int { return len(c.Centroids) / c.Dim }

// Centroid returns centroid l.
func (c *Clusters) Centroid(l int) []float32 { return c.Centroids[l*c.Dim : (l+1)*c.Dim] }

// Assign returns the centroid with the highest inner product with x among
// the fine centroids of the assignProbe best coarse cells (all centroids
// when there is one level); ties go to the lower index.
func (c *Clusters) Assign(x []float32) int {
	if c.coarse == nil {
		return nearest(c.Centroids, c.Dim, x, 0, c.K())
	}
	var best [assignProbe]int
	var score [assignProbe]float32
	n := 0
	for j := 0; j < len(c.cells); j++ {
		s := vec.Dot(c.coarse[j*c.Dim:(j+1)*c.Dim], x)
		if n < assignProbe {
			best[n], score[n] = j, s
			n++
		} else if s > score[n-1] {
			best[n-1], score[n-1] = j, s
		} else {
			continue
		}
		for i := n - 1; i > 0 && score[i] > score[i-1]; i-- {
			best[i], best[i-1] = best[i-1], best[i]
			score[i], score[i-1] = score[i-1], score[i]
		}
	}
	bi, bs := -1, float32(math.Inf(-1))
	for _, j := range best[:n] {
		r := c.cells[j]
		if r[1] == r[0] {
			continue
		}
		l := nearest(c.Centroids, c.Dim, x, r[0], r[1])
		if s := vec.Dot(c.Centroid(l), x); s > bs || s == bs && l < bi {
			bi, bs = l, s
		}
	}
	if bi < 0 { // the best cells hold no centroid
		return nearest(c.Centroids, c.Dim, x, 0, c.K())
	}
	return bi
}

// nearest returns the index in [lo, hi) of the row of cs with the highest
// inner product with x (the lowest index on ties).
func nearest(cs []float32, dim int, x []float32, lo, hi int) int {
	bi, bs := lo, float32(math.Inf(-1))
	for l := lo; l < hi; l++ {
		if s := vec.Dot(cs[l*dim:(l+1)*dim], x); s > bs {
			bi, bs = l, s
		}
	}
	return bi
}

// KMeans clusters the unit vectors x (n rows of dim floats) into at most k
// unit centroids by spherical k-means: Lloyd's iterations with the inner
// product as similarity and each centroid the normalized mean of its
// members (Dhillon & Modha, "Concept Decompositions for Large Sparse Text
// Data Using Clustering", Machine Learning 42, 2001), which maximizes
// Σᵢ ⟨xᵢ, c(i)⟩ — the score an inverted file ranks lists by.
//
// For k > 64 it works in two levels, as hierarchical k-means (Nistér &
// Stewénius, "Scalable Recognition with a Vocabulary Tree", CVPR 2006):
// ⌈√k⌉ coarse cells, then each cell's members into a share of k
// proportional to their number. Clustering a sample of s points then costs
// about 2·s·√k·dim multiply-adds per iteration instead of s·k·dim.
//
// Initial centroids are distinct random points; a centroid left empty is
// moved to the point worst served by its centroid. The result depends only
// on x, dim, k, Iters and Seed.
//
// KMeans panics if dim ≤ 0 or len(x) is not a multiple of dim.
func KMeans(x []float32, dim, k int, opts KMeansOptions) *Clusters {
	if dim <= 0 || len(x)%dim != 0 {
		panic("ann: KMeans: bad shape")
	}
	if opts.Iters <= 0 {
		opts.Iters = 10
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	n := len(x) / dim
	k = min(k, n)
	if k <= 0 {
		return &Clusters{Dim: dim}
	}
	if k <= flatMax {
		c := &Clusters{Dim: dim, Centroids: lloyd(x, dim, k, opts, opts.Seed)}
		if opts.Progress != nil {
			opts.Progress(1, 1)
		}
		return c
	}
	nc := int(math.Ceil(math.Sqrt(float64(k))))
	coarse := lloyd(x, dim, nc, opts, opts.Seed)
	assign := make([]int32, n)
	parallel(n, opts.Workers, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			assign[i] = int32(nearest(coarse, dim, x[i*dim:(i+1)*dim], 0, nc))
		}
	})
	members := make([][]int32, nc)
	for i, a := range assign {
		members[a] = append(members[a], int32(i))
	}
	share := apportion(members, k)
	c := &Clusters{Dim: dim, coarse: coarse, cells: make([][2]int, nc)}
	for j, m := range members {
		lo := c.K()
		if share[j] > 0 {
			sub := make([]float32, 0, len(m)*dim)
			for _, i := range m {
				sub = append(sub, x[int(i)*dim:(int(i)+1)*dim]...)
			}
			c.Centroids = append(c.Centroids, lloyd(sub, dim, share[j], opts, opts.Seed+uint64(j)+1)...)
		}
		c.cells[j] = [2]int{lo, c.K()}
		if opts.Progress != nil {
			opts.Progress(j+1, nc)
		}
	}
	return c
}

// apportion splits k among the cells in proportion to their members by
// largest remainders (Hamilton's method), never giving a cell more than
// its members.
func apportion(members [][]int32, k int) []int {
	n := 0
	for _, m := range members {
		n += len(m)
	}
	share := make([]int, len(members))
	type rem struct {
		cell int
		frac float64
	}
	var rs []rem
	given := 0
	for j, m := range members {
		f := float64(k) * float64(len(m)) / float64(n)
		share[j] = min(int(f), len(m))
		given += share[j]
		rs = append(rs, rem{j, f - math.Floor(f)})
	}
	sort.SliceStable(rs, func(a, b int) bool { return rs[a].frac > rs[b].frac })
	for changed := true; given < k && changed; {
		changed = false
		for _, r := range rs {
			if given < k && share[r.cell] < len(members[r.cell]) {
				share[r.cell]++
				given++
				changed = true
			}
		}
	}
	return share
}

// lloyd runs spherical k-means with k ≤ n centroids on the n rows of x.
func lloyd(x []float32, dim, k int, opts KMeansOptions, seed uint64) []float32 {
	n := len(x) / dim
	rng := rand.New(rand.NewPCG(seed, 0x6b6d))
	c := make([]float32, k*dim)
	for l, i := range rng.Perm(n)[:k] {
		copy(c[l*dim:(l+1)*dim], x[i*dim:(i+1)*dim])
	}
	assign := make([]int32, n)
	sim := make([]float32, n)
	sum := make([]float64, k*dim)
	count := make([]int, k)
	for it := 0; it < opts.Iters; it++ {
		parallel(n, opts.Workers, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				xi := x[i*dim : (i+1)*dim]
				a := nearest(c, dim, xi, 0, k)
				assign[i], sim[i] = int32(a), vec.Dot(c[a*dim:(a+1)*dim], xi)
			}
		})
		clear(sum)
		clear(count)
		for i, a := range assign {
			count[a]++
			s := sum[int(a)*dim : (int(a)+1)*dim]
			for j, v := range x[i*dim : (i+1)*dim] {
				s[j] += float64(v)
			}
		}
		// Empty centroids move to the points their centroids serve worst.
		var worst []int
		for l := 0; l < k; l++ {
			if count[l] == 0 {
				if worst == nil {
					worst = make([]int, n)
					for i := range worst {
						worst[i] = i
					}
					sort.SliceStable(worst, func(a, b int) bool { return sim[worst[a]] < sim[worst[b]] })
				}
				i := worst[0]
				worst = worst[1:]
				copy(sum[l*dim:(l+1)*dim], float64s(x[i*dim:(i+1)*dim]))
				count[l] = 1
			}
			s := sum[l*dim : (l+1)*dim]
			var norm float64
			for _, v := range s {
				norm += v * v
			}
			if norm == 0 {
				continue // members cancel out: keep the old centroid
			}
			inv := 1 / math.Sqrt(norm)
			for j, v := range s {
				c[l*dim+j] = float32(v * inv)
			}
		}
	}
	return c
}

func float64s(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// parallel runs f over [0, n) split into contiguous ranges, one per worker.
func parallel(n, workers int, f func(lo, hi int)) {
	if workers <= 1 || n < 2 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += chunk {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			f(lo, hi)
		}(lo, min(lo+chunk, n))
	}
	wg.Wait()
}
