// Package compact trains the compact mode's retrieval codes on the host:
// an inverted file whose rows are product-quantization codes of their
// residual to the list's centroid (core/ann.IVFPQ, scored in the module
// by core/quant.PQTable). Training is host-only work — k-means over the
// item embeddings and the nearest centroid of every sub-vector — and
// stays out of core/, which ships inside the module.
//
// core/quant/MEASUREMENTS.md ("Compact mode") has the recall and the
// speed these codes reach and what was measured to choose them.
package compact

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"sync"

	"github.com/edgerec/edgerec/core/ann"
	"github.com/edgerec/edgerec/core/quant"
	"github.com/edgerec/edgerec/core/vec"
)

// Options configure Train. The zero value is usable.
type Options struct {
	// Lists is the number of inverted lists; 0 means DefaultLists(rows).
	Lists int
	// M is the number of subspaces, the bytes of a code; 0 means 32. It
	// must divide the dimension.
	M int
	// Sample is how many residuals train the codebooks; 0 means 32 768
	// (128 per centroid), all rows when fewer.
	Sample int
	// Iters is the number of Lloyd iterations of each codebook; 0 means 12.
	Iters int
	// Seed picks the samples and the initial centroids.
	Seed uint64
	// Workers run in parallel; 0 means GOMAXPROCS. The result does not
	// depend on it.
	Workers int
	// Eta weighs a code's error along its vector against the error across
	// it (encodeAniso); 0 means DefaultEta, 1 the Euclidean code.
	Eta float64
	// Progress, if not nil, is called with a stage name ("lists",
	// "assign", "codebooks", "encode") and the work done and total in it.
	Progress func(stage string, done, total int)
}

// DefaultLists returns the number of lists for n rows, ⌈4·√n⌉: more than
// the int8 index's ⌈2·√n⌉ (ann.DefaultLists) because a finer partition
// leaves smaller residuals for the codes to describe
// (core/quant/MEASUREMENTS.md, "Compact mode").
func DefaultLists(n int) int {
	return min(max(int(math.Ceil(4*math.Sqrt(float64(n)))), 1), ann.MaxLists)
}

// DefaultEta is Options.Eta's default.
const DefaultEta = 8

// Train builds the compact index of the n = len(x)/dim vectors x
// (row-major float32 item embeddings): spherical k-means lists
// (ann.KMeans on a sample of the normalized rows, every row then assigned
// by ann.Clusters.Assign), each list's centroid the mean of its members
// stored in int8, and a product quantizer of the residuals x − centroid
// (Lloyd's k-means per subspace on Sample residuals, score-aware codes:
// encodeAniso). It returns the index, whose row r is input row perm[r]
// (rows grouped by list, in input order within a list), and perm. NProbe
// is set to ⌈Lists/40⌉, about recall@100 0.905 against float32 on the
// bench's catalogs at 100k and 1M (core/quant/MEASUREMENTS.md); Tune
// chooses it on the queries the bundle will serve.
//
// The result depends only on x, dim and the options other than Workers
// and Progress.
func Train(x []float32, dim int, opts Options) (ix *ann.IVFPQ, perm []int32, err error) {
	if dim <= 0 || len(x)%dim != 0 || len(x) == 0 {
		return nil, nil, fmt.Errorf("compact: cannot train on %d floats of dimension %d", len(x), dim)
	}
	n := len(x) / dim
	m := opts.M
	if m <= 0 {
		m = 32
	}
	if dim%m != 0 || dim > quant.MaxPQDim {
		return nil, nil, fmt.Errorf("compact: %d subspaces do not divide dimension %d", m, dim)
	}
	for _, v := range x {
		if v != v || v > math.MaxFloat32 || v < -math.MaxFloat32 {
			return nil, nil, errors.New("compact: an embedding holds a NaN or an infinity")
		}
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	progress := func(stage string, done, total int) {
		if opts.Progress != nil {
			opts.Progress(stage, done, total)
		}
	}
	lists := opts.Lists
	if lists <= 0 {
		lists = DefaultLists(n)
	}
	lists = min(lists, n, ann.MaxLists)

	// Lists: spherical k-means on a sample, as the int8 index trains.
	rng := rand.New(rand.NewPCG(opts.Seed, 0xc0de))
	sample := min(max(ann.SamplePerList*lists, lists), n)
	rows := rng.Perm(n)[:sample]
	sort.Ints(rows)
	xs := make([]float32, sample*dim)
	for s, r := range rows {
		v := xs[s*dim : (s+1)*dim]
		copy(v, x[r*dim:(r+1)*dim])
		vec.L2Normalize(v)
	}
	cl := ann.KMeans(xs, dim, lists, ann.KMeansOptions{Seed: opts.Seed, Workers: workers,
		Progress: func(done, total int) { progress("lists", done, total) }})
	lists = cl.K()
	xs = nil

	assign := make([]int32, n)
	const chunk = 1 << 14
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		parallel(hi-lo, workers, func(a, b int) {
			v := make([]float32, dim)
			for i := lo + a; i < lo+b; i++ {
				copy(v, x[i*dim:(i+1)*dim])
				vec.L2Normalize(v)
				assign[i] = int32(cl.Assign(v))
			}
		})
		progress("assign", hi, n)
	}
	offsets := make([]uint32, lists+1)
	for _, a := range assign {
		offsets[a+1]++
	}
	for l := range lists {
		offsets[l+1] += offsets[l]
	}
	perm = make([]int32, n)
	next := append([]uint32(nil), offsets[:lists]...)
	for i, a := range assign {
		perm[next[a]] = int32(i)
		next[a]++
	}
	// Each list's centroid is its members' mean: the point that leaves
	// the smallest residuals (the k-means centroid is a unit direction).
	cent := make([]float32, lists*dim)
	sum := make([]float64, dim)
	for l := range lists {
		clear(sum)
		for _, i := range perm[offsets[l]:offsets[l+1]] {
			for j, v := range x[int(i)*dim : (int(i)+1)*dim] {
				sum[j] += float64(v)
			}
		}
		if c := offsets[l+1] - offsets[l]; c > 0 {
			for j := range sum {
				cent[l*dim+j] = float32(sum[j] / float64(c))
			}
		}
	}
	// Stored in int8; the residuals are taken against the decoded
	// centroid, which is then exactly what the module adds back.
	cq := quant.NewInt8(lists, dim)
	for l := range lists {
		cq.Set(l, cent[l*dim:(l+1)*dim])
		cq.Decode(cent[l*dim:(l+1)*dim], l)
	}
	residual := func(dst []float32, r int) {
		l := assign[r]
		for j, v := range x[r*dim : (r+1)*dim] {
			dst[j] = v - cent[int(l)*dim+j]
		}
	}

	// Codebooks: k-means per subspace on a sample of residuals.
	ns := opts.Sample
	if ns <= 0 {
		ns = 128 * quant.PQCentroids
	}
	ns = min(ns, n)
	srows := rng.Perm(n)[:ns]
	sort.Ints(srows)
	rs := make([]float32, ns*dim)
	for s, r := range srows {
		residual(rs[s*dim:(s+1)*dim], r)
	}
	iters := opts.Iters
	if iters <= 0 {
		iters = 12
	}
	pq := trainCodebooks(rs, dim, m, iters, opts.Seed, workers, func(done int) { progress("codebooks", done, m) })
	rs = nil

	eta := float32(opts.Eta)
	if eta <= 0 {
		eta = DefaultEta
	}

	codes := make([]byte, n*m)
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		parallel(hi-lo, workers, func(a, b int) {
			v := make([]float32, dim)
			work := make([]float32, 2*dim)
			for r := lo + a; r < lo+b; r++ {
				i := int(perm[r])
				residual(v, i)
				encodeAniso(pq, codes[r*m:(r+1)*m], v, x[i*dim:(i+1)*dim], eta, 2, work)
			}
		})
		progress("encode", hi, n)
	}
	ix = &ann.IVFPQ{PQ: pq, Centroids: cq, Offsets: offsets, Codes: codes, NProbe: max(1, (lists+39)/40)}
	if err := ix.Validate(); err != nil {
		return nil, nil, err
	}
	ix.Prepare()
	return ix, perm, nil
}

// trainCodebooks returns a product quantizer of m subspaces for the
// sample rows rs (of dim floats each): each subspace's codebook by
// Lloyd's k-means (lloydL2, iters iterations) on that subspace of the
// sample, the subspaces in parallel; progress, if not nil, hears how many
// are done.
func trainCodebooks(rs []float32, dim, m, iters int, seed uint64, workers int, progress func(done int)) *quant.PQ {
	ns := len(rs) / dim
	pq := &quant.PQ{Dim: dim, M: m, Codebooks: make([]float32, quant.PQCentroids*dim)}
	sub := dim / m
	done := 0
	var mu sync.Mutex
	parallel(m, workers, func(a, b int) {
		part := make([]float32, ns*sub)
		for sp := a; sp < b; sp++ {
			for s := range ns {
				copy(part[s*sub:(s+1)*sub], rs[s*dim+sp*sub:s*dim+(sp+1)*sub])
			}
			cb := lloydL2(part, sub, quant.PQCentroids, iters, seed+uint64(sp)*0x9e37)
			copy(pq.Codebooks[sp*quant.PQCentroids*sub:], cb)
			if progress != nil {
				mu.Lock()
				done++
				progress(done)
				mu.Unlock()
			}
		}
	})
	return pq
}

// lloydL2 clusters the n = len(x)/d points x into k centroids by Lloyd's
// k-means in Euclidean distance, from k distinct random points; a
// centroid left empty moves to a random point. It returns k·d floats (the
// points themselves, zero-padded, when n < k).
func lloydL2(x []float32, d, k, iters int, seed uint64) []float32 {
	n := len(x) / d
	c := make([]float32, k*d)
	rng := rand.New(rand.NewPCG(seed, 0x11d))
	if n <= k {
		copy(c, x)
		return c
	}
	for i, r := range rng.Perm(n)[:k] {
		copy(c[i*d:(i+1)*d], x[r*d:(r+1)*d])
	}
	assign := make([]int, n)
	sum := make([]float64, k*d)
	cnt := make([]int, k)
	for range iters {
		for i := range n {
			assign[i] = nearestL2(c, d, x[i*d:(i+1)*d])
		}
		clear(sum)
		clear(cnt)
		for i, a := range assign {
			cnt[a]++
			for j, v := range x[i*d : (i+1)*d] {
				sum[a*d+j] += float64(v)
			}
		}
		for a := range k {
			if cnt[a] == 0 {
				r := rng.IntN(n)
				copy(c[a*d:(a+1)*d], x[r*d:(r+1)*d])
				continue
			}
			for j := range d {
				c[a*d+j] = float32(sum[a*d+j] / float64(cnt[a]))
			}
		}
	}
	return c
}

// nearestL2 returns the index of the centroid of c (rows of d floats)
// nearest x in Euclidean distance, ties to the lower index.
func nearestL2(c []float32, d int, x []float32) int {
	best, bd := 0, float32(math.Inf(1))
	if d == 2 {
		x0, x1 := x[0], x[1]
		for k := 0; k+1 < len(c); k += 2 {
			e0, e1 := x0-c[k], x1-c[k+1]
			if dd := e0*e0 + e1*e1; dd < bd {
				best, bd = k/2, dd
			}
		}
		return best
	}
	for k := 0; k < len(c)/d; k++ {
		var dd float32
		for j, v := range c[k*d : (k+1)*d] {
			e := x[j] - v
			dd += e * e
		}
		if dd < bd {
			best, bd = k, dd
		}
	}
	return best
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

// encodeAniso writes into dst the code of residual r (of the vector x)
// that minimizes the score-aware loss of Guo et al. ("Accelerating
// Large-Scale Inference with Anisotropic Vector Quantization", ICML 2020)
//
//	ℓ(e) = ‖e‖² + (η−1)·⟨e, u⟩²,  e = r − r̂,  u = x/‖x‖
//
// by coordinate descent over the subspaces from the Euclidean code. An
// error along x moves the scores of the queries near x most, and those
// are the queries whose top k the item belongs to; η > 1 weighs it more
// than the error across x. η = 1 is the Euclidean code. work holds 2·Dim
// floats of scratch.
func encodeAniso(pq *quant.PQ, dst []byte, r, x []float32, eta float32, passes int, work []float32) {
	pq.Encode(dst, r)
	if eta == 1 {
		return
	}
	d, sub := pq.Dim, pq.Sub()
	u, e := work[:d], work[d:2*d]
	copy(u, x)
	if vec.L2Normalize(u) == 0 {
		return
	}
	var E, P float32
	for m := range pq.M {
		c := pq.Codebooks[(m*quant.PQCentroids+int(dst[m]))*sub:]
		for j := m * sub; j < (m+1)*sub; j++ {
			e[j] = r[j] - c[j-m*sub]
			E += e[j] * e[j]
			P += e[j] * u[j]
		}
	}
	w := eta - 1
	for range passes {
		changed := false
		for m := range pq.M {
			em, um, rm := e[m*sub:(m+1)*sub], u[m*sub:(m+1)*sub], r[m*sub:(m+1)*sub]
			var em2, emu float32
			for j := range em {
				em2 += em[j] * em[j]
				emu += em[j] * um[j]
			}
			E0, P0 := E-em2, P-emu
			cb := pq.Codebooks[m*quant.PQCentroids*sub : (m+1)*quant.PQCentroids*sub]
			best, bl := int(dst[m]), float32(math.Inf(1))
			var bd2, bdu float32
			if sub == 2 {
				r0, r1, u0, u1 := rm[0], rm[1], um[0], um[1]
				for k := range quant.PQCentroids {
					d0, d1 := r0-cb[2*k], r1-cb[2*k+1]
					d2 := d0*d0 + d1*d1
					du := d0*u0 + d1*u1
					p := P0 + du
					if l := E0 + d2 + w*p*p; l < bl {
						best, bl, bd2, bdu = k, l, d2, du
					}
				}
			} else {
				for k := range quant.PQCentroids {
					var d2, du float32
					for j, c := range cb[k*sub : (k+1)*sub] {
						dj := rm[j] - c
						d2 += dj * dj
						du += dj * um[j]
					}
					p := P0 + du
					if l := E0 + d2 + w*p*p; l < bl {
						best, bl, bd2, bdu = k, l, d2, du
					}
				}
			}
			if best != int(dst[m]) {
				changed = true
				dst[m] = byte(best)
			}
			c := cb[best*sub : (best+1)*sub]
			for j := range em {
				em[j] = rm[j] - c[j]
			}
			E, P = E0+bd2, P0+bdu
		}
		if !changed {
			break
		}
	}
}
