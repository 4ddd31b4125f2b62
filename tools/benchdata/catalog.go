// Package benchdata generates the synthetic inputs that `edgerec bench` and
// the tests and benchmarks of retrieval and serving measure with: item
// embeddings with the structure of trained ones (clustered, anisotropic,
// with skewed cluster sizes) and users whose queries look like tastes
// rather than uniform noise; the recall of a search against them; and the
// consumed filters no honest client would send (filter.go).
//
// It imports only the standard library and core/bloom, so that core/ann's
// own tests can use it (through core/ann/anntest) without an import cycle;
// the random candidate sources of a bundle, which need core/bundle, are in
// the sub-package sources.
//
// # The model
//
// Latent vectors z ∈ ℝᴰ have a decaying spectrum: coordinate j has
// standard deviation σⱼ = 1/√(1 + j/4) (trained embeddings spend most of
// their variance in a few directions). A global offset μ (all items share
// a common direction), 32 genre centres g and n/500 sub-genre centres
// s = g + 0.7·ε + μ are drawn from that spectrum; sub-genre sizes follow
// a Zipf law with exponent 0.8 (shuffled), and each sub-genre has its own
// spread ρ ∈ [0.35, 0.8]. An item of sub-genre s is x = normalize(R·(s +
// ρ·ε)) with ε ~ N(0, diag σ²) and R a random rotation, so no coordinate
// axis is special.
//
// A user picks 1 to 3 sub-genres (by size) and has interacted with items
// drawn from them; the query is the normalized projection of the mean of
// those items on the top History dimensions of the latent space,
// q = normalize(Pᵀ·P·mean(x)) with P = the first History rows of Rᵀ: what
// a linear query tower over History-dim item rows gives.
package benchdata

import (
	"math"
	"math/rand/v2"
	"sort"
)

// Genres is the number of top-level clusters.
const Genres = 32

// Catalog is a synthetic catalog's embeddings.
type Catalog struct {
	N, Dim int
	// Vectors holds N unit vectors of Dim floats, row-major.
	Vectors []float32
	// Cluster is each item's sub-genre; Members lists each sub-genre's
	// items; Weight its share of users' attention.
	Cluster []int32
	Members [][]int32
	Weight  []float64
	// History is the width of Proj; Proj (History×Dim, orthonormal rows)
	// maps an item to the latent coordinates a query tower pools.
	History int
	Proj    []float32

	cum []float64 // cumulative Weight over non-empty sub-genres
}

// Row returns item i's vector.
func (c *Catalog) Row(i int) []float32 { return c.Vectors[i*c.Dim : (i+1)*c.Dim] }

// Clustered returns a catalog of n items with dim-wide embeddings and a
// history projection of width hist (≤ dim), drawn from seed.
func Clustered(n, dim, hist int, seed uint64) *Catalog {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	spec := make([]float64, dim)
	for j := range spec {
		spec[j] = 1 / math.Sqrt(1+float64(j)/4)
	}
	gauss := func(dst []float64, s float64) {
		for j := range dst {
			dst[j] = s * spec[j] * rng.NormFloat64()
		}
	}
	subs := max(Genres, n/500)
	mean := make([]float64, dim)
	gauss(mean, 0.8)
	genre := make([][]float64, Genres)
	for g := range genre {
		genre[g] = make([]float64, dim)
		gauss(genre[g], 1)
	}
	centre := make([][]float64, subs)
	spread := make([]float64, subs)
	w := make([]float64, subs)
	for s := range centre {
		centre[s] = make([]float64, dim)
		gauss(centre[s], 0.7)
		g := genre[rng.IntN(Genres)]
		for j := range centre[s] {
			centre[s][j] += g[j] + mean[j]
		}
		spread[s] = 0.35 + 0.45*rng.Float64()
		w[s] = 1 / math.Pow(float64(s+1), 0.8)
	}
	rng.Shuffle(len(w), func(i, j int) { w[i], w[j] = w[j], w[i] })
	cum := make([]float64, subs)
	var total float64
	for s := range w {
		total += w[s]
		cum[s] = total
	}
	rot := rotation(rng, dim)
	c := &Catalog{N: n, Dim: dim, Vectors: make([]float32, n*dim), Cluster: make([]int32, n),
		Members: make([][]int32, subs), Weight: w, History: hist}
	z := make([]float64, dim)
	for i := 0; i < n; i++ {
		s := min(sort.SearchFloat64s(cum, rng.Float64()*total), subs-1)
		c.Cluster[i] = int32(s)
		c.Members[s] = append(c.Members[s], int32(i))
		gauss(z, spread[s])
		for j := range z {
			z[j] += centre[s][j]
		}
		x := c.Row(i)
		for r := range x {
			var v float64
			for j, rv := range rot[r*dim : (r+1)*dim] {
				v += rv * z[j]
			}
			x[r] = float32(v)
		}
		normalize(x)
	}
	// x = R·z, so latent coordinate k is (Rᵀx)_k: row k of Rᵀ, column k of R.
	c.Proj = make([]float32, hist*dim)
	for k := 0; k < hist; k++ {
		for r := 0; r < dim; r++ {
			c.Proj[k*dim+r] = float32(rot[r*dim+k])
		}
	}
	c.cum = make([]float64, subs)
	var t float64
	for s, m := range c.Members {
		if len(m) > 0 {
			t += w[s]
		}
		c.cum[s] = t
	}
	return c
}

// User draws a user's history: hist items from 1 to 3 sub-genres picked by
// weight.
func (c *Catalog) User(rng *rand.Rand, hist int) []int32 {
	total := c.cum[len(c.cum)-1]
	subs := make([]int, 1+rng.IntN(3))
	for g := range subs {
		s := min(sort.SearchFloat64s(c.cum, rng.Float64()*total), len(c.cum)-1)
		for len(c.Members[s]) == 0 {
			s = (s + 1) % len(c.Members)
		}
		subs[g] = s
	}
	rows := make([]int32, 0, hist)
	for i := 0; len(rows) < hist; i++ {
		m := c.Members[subs[i%len(subs)]]
		rows = append(rows, m[rng.IntN(len(m))])
	}
	return rows
}

// Project writes P·x, item x's History latent coordinates, into dst.
func (c *Catalog) Project(dst, x []float32) {
	for k := range dst[:c.History] {
		var s float32
		for j, p := range c.Proj[k*c.Dim : (k+1)*c.Dim] {
			s += p * x[j]
		}
		dst[k] = s
	}
}

// Query returns the query of a user with the given history:
// normalize(Pᵀ·P·mean(x)).
func (c *Catalog) Query(history []int32) []float32 {
	mean := make([]float32, c.Dim)
	for _, r := range history {
		for j, v := range c.Row(int(r)) {
			mean[j] += v
		}
	}
	p := make([]float32, c.History)
	c.Project(p, mean)
	q := make([]float32, c.Dim)
	for k, pk := range p {
		for j, v := range c.Proj[k*c.Dim : (k+1)*c.Dim] {
			q[j] += v * pk
		}
	}
	normalize(q)
	return q
}

func normalize(x []float32) {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	if s == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range x {
		x[i] *= inv
	}
}

// rotation returns a d×d orthogonal matrix, row-major: Gram–Schmidt on
// Gaussian rows.
func rotation(rng *rand.Rand, d int) []float64 {
	m := make([]float64, d*d)
	for i := range m {
		m[i] = rng.NormFloat64()
	}
	for i := 0; i < d; i++ {
		r := m[i*d : (i+1)*d]
		for k := 0; k < i; k++ {
			p := m[k*d : (k+1)*d]
			var dot float64
			for j := range r {
				dot += r[j] * p[j]
			}
			for j := range r {
				r[j] -= dot * p[j]
			}
		}
		var s float64
		for _, v := range r {
			s += v * v
		}
		s = 1 / math.Sqrt(s)
		for j := range r {
			r[j] *= s
		}
	}
	return m
}
