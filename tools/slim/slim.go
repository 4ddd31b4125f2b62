// Package slim fits a sparse linear item-to-item model at bundle-build time:
// for each target item j, a ridge regression of j's column of the binary
// user × item matrix X on the columns of j's candidate neighbours,
//
//	w_j = argmin_w ‖X_j − X_C·w‖² + λ‖w‖²  ⇒  (G_CC + λI)·w = G_Cj
//
// with G = XᵀX the co-occurrence counts and C the Candidates items that
// co-occur with j most often. It is SLIM (Ning & Karypis, "SLIM: Sparse
// Linear Methods for Top-N Recommender Systems", ICDM 2011) with the
// sparsity fixed by a neighbourhood instead of an L1 penalty, as in
// fsSLIM, and without SLIM's non-negativity: the closed form is EASE's
// (Steck, WWW 2019) restricted to each item's neighbourhood, so the fit
// costs O(n·Candidates³) instead of EASE's O(n³) and scales to catalogs
// EASE cannot invert. A user's score for j is Σ_{i ∈ history} w_j[i].
//
// Serving reads the model the other way round, from a history item to the
// items it recommends: Fit returns, per item i, the Top items j with the
// largest positive w_j[i].
package slim

import (
	"cmp"
	"errors"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/edgerec/edgerec/core/bundle"
)

// Config sets the fit.
type Config struct {
	// Candidates is the neighbourhood size per target item.
	Candidates int
	// Top is how many neighbours each item keeps for serving.
	Top int
	// Lambda is the ridge penalty relative to the mean item count: λ =
	// Lambda·(interactions / items with any), so one setting fits data
	// sets of any density.
	Lambda float64
	// Window bounds the co-occurrences counted per user: only pairs at most
	// Window positions apart in the user's history (0: every pair), which
	// bounds the work of long histories.
	Window int
	// Workers is the number of goroutines; 0 means GOMAXPROCS.
	Workers int
}

// DefaultConfig is the configuration the bundle builder uses. Its
// neighbourhood of 128 candidates ranks closer to EASE than 64 did where
// the pipeline needed it most, at more than twice the fit (RATIONALE.md,
// "Slim's neighbourhood: 128 candidates").
func DefaultConfig() Config {
	return Config{Candidates: 128, Top: 20, Lambda: 1, Window: 200}
}

// Fit fits the model on users' distinct item rows (each in time order;
// rows in [0, n)) and returns each item's Top neighbours, best first.
func Fit(users [][]int32, n int, cfg Config) (*bundle.Neighbours, error) {
	nbs, err := FitLambdas(users, n, cfg, []float64{cfg.Lambda})
	if err != nil {
		return nil, err
	}
	return nbs[0], nil
}

// FitLambdas is Fit for each of lambdas in place of cfg.Lambda, the i-th
// result for lambdas[i]. The co-occurrence counts and each item's
// neighbourhood do not depend on λ, so they are gathered once and only the
// small solves are repeated: a λ search costs little more than one fit.
func FitLambdas(users [][]int32, n int, cfg Config, lambdas []float64) ([]*bundle.Neighbours, error) {
	if cfg.Candidates < 1 || cfg.Top < 1 || cfg.Window < 0 || len(lambdas) == 0 {
		return nil, errors.New("slim: candidates, top and lambda must be positive")
	}
	for _, l := range lambdas {
		if !(l > 0) {
			return nil, errors.New("slim: candidates, top and lambda must be positive")
		}
	}
	W := cfg.Workers
	if W <= 0 {
		W = runtime.GOMAXPROCS(0)
	}
	// Co-occurrence counts, one sparse row per item.
	co := make([]map[int32]float32, n)
	count := make([]float64, n)
	var events, used float64
	for _, s := range users {
		for i, a := range s {
			count[a]++
			events++
			hi := len(s)
			if cfg.Window > 0 {
				hi = min(hi, i+1+cfg.Window)
			}
			for _, b := range s[i+1 : hi] {
				if a == b {
					continue
				}
				if co[a] == nil {
					co[a] = map[int32]float32{}
				}
				if co[b] == nil {
					co[b] = map[int32]float32{}
				}
				co[a][b]++
				co[b][a]++
			}
		}
	}
	for _, c := range count {
		if c > 0 {
			used++
		}
	}
	block := newCoBlock(co, count, denseItems)
	L := len(lambdas)
	if used == 0 {
		out := make([]*bundle.Neighbours, L)
		for l := range out {
			out[l] = &bundle.Neighbours{}
		}
		return out, nil
	}

	// w_j for each target j and each λ, on W workers; then turn the
	// columns into per-source rows.
	type entry struct {
		target int32
		w      float32
	}
	cols := make([][][]entry, L) // cols[l][j]: (source i, w_j[i]) for lambdas[l]
	for l := range cols {
		cols[l] = make([][]entry, n)
	}
	var wg sync.WaitGroup
	for w := 0; w < W; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := cfg.Candidates
			g := make([]float64, m*m) // G_CC without the ridge
			gj := make([]float64, m)  // G_Cj
			a := make([]float64, m*m)
			rhs := make([]float64, m)
			at := make([]int32, m) // per candidate: its place in block, or -1
			for j := w; j < n; j += W {
				cand := topCandidates(co[j], m)
				k := len(cand)
				if k == 0 {
					continue
				}
				for x, c := range cand {
					at[x] = block.at[c]
				}
				// G_CC is symmetric (every pair counted both ways): half
				// the look-ups, from the dense block where both items are
				// in it.
				for x := 0; x < k; x++ {
					gj[x] = float64(co[j][cand[x]])
					g[x*k+x] = count[cand[x]]
					row := co[cand[x]]
					var dense []float32
					if hx := at[x]; hx >= 0 {
						dense = block.c[int(hx)*block.n : int(hx+1)*block.n]
					}
					for y := x + 1; y < k; y++ {
						var v float64
						if hy := at[y]; dense != nil && hy >= 0 {
							v = float64(dense[hy])
						} else {
							v = float64(row[cand[y]])
						}
						g[x*k+y], g[y*k+x] = v, v
					}
				}
				for l, rel := range lambdas {
					lambda := rel * events / used
					copy(a[:k*k], g[:k*k])
					for x := 0; x < k; x++ {
						a[x*k+x] += lambda
					}
					copy(rhs[:k], gj[:k])
					if !solveSPD(a[:k*k], rhs[:k], k) {
						continue
					}
					col := make([]entry, 0, k)
					for x := 0; x < k; x++ {
						if rhs[x] > 0 {
							col = append(col, entry{cand[x], float32(rhs[x])})
						}
					}
					cols[l][j] = col
				}
			}
		}()
	}
	wg.Wait()

	out := make([]*bundle.Neighbours, L)
	for l := range out {
		rows := make([][]entry, n) // rows[i]: (target j, w_j[i])
		for j, col := range cols[l] {
			for _, e := range col {
				rows[e.target] = append(rows[e.target], entry{int32(j), e.w})
			}
		}
		nb := &bundle.Neighbours{Offsets: make([]uint32, 1, n+1)}
		for i := range rows {
			r := rows[i]
			slices.SortFunc(r, func(x, y entry) int { return cmp.Or(cmp.Compare(y.w, x.w), cmp.Compare(x.target, y.target)) })
			for _, e := range r[:min(len(r), cfg.Top)] {
				nb.Items = append(nb.Items, e.target)
				nb.Weights = append(nb.Weights, e.w)
			}
			nb.Offsets = append(nb.Offsets, uint32(len(nb.Items)))
		}
		out[l] = nb
	}
	return out, nil
}

// denseItems bounds the items whose co-occurrences FitLambdas also keeps
// in a dense block (2 048² counts, 16 MiB).
var denseItems = 2048

// coBlock holds the co-occurrence counts among the most counted items as
// a dense matrix: most of an item's candidates are popular items, and the
// pairs among them are most of the look-ups that build each Gram matrix,
// which in maps were a third of a fit's time and here are an array read.
// Every count is the map's, so the fit is the same bit for bit
// (TestFitDenseBlockIsMaps).
type coBlock struct {
	at []int32   // per item: its place in the block, or -1
	n  int       // items in the block
	c  []float32 // n×n: c[a·n+b] = co[item a][item b]
}

// newCoBlock returns the block of the (at most) limit items with the
// largest counts, ties by row.
func newCoBlock(co []map[int32]float32, count []float64, limit int) *coBlock {
	var items []int32
	for i, c := range count {
		if c > 0 {
			items = append(items, int32(i))
		}
	}
	slices.SortFunc(items, func(x, y int32) int { return cmp.Or(cmp.Compare(count[y], count[x]), cmp.Compare(x, y)) })
	items = items[:min(limit, len(items))]
	b := &coBlock{at: make([]int32, len(count)), n: len(items), c: make([]float32, len(items)*len(items))}
	for i := range b.at {
		b.at[i] = -1
	}
	for h, it := range items {
		b.at[it] = int32(h)
	}
	for h, it := range items {
		row := b.c[h*b.n : (h+1)*b.n]
		for other, v := range co[it] {
			if o := b.at[other]; o >= 0 {
				row[o] = v
			}
		}
	}
	return b
}

// topCandidates returns the m items co-occurring most with an item (ties by
// row), in row order.
func topCandidates(row map[int32]float32, m int) []int32 {
	type kv struct {
		item int32
		c    float32
	}
	all := make([]kv, 0, len(row))
	for it, c := range row {
		all = append(all, kv{it, c})
	}
	slices.SortFunc(all, func(x, y kv) int { return cmp.Or(cmp.Compare(y.c, x.c), cmp.Compare(x.item, y.item)) })
	out := make([]int32, 0, min(m, len(all)))
	for _, e := range all[:min(m, len(all))] {
		out = append(out, e.item)
	}
	slices.Sort(out)
	return out
}

// solveSPD solves a·x = b for an exactly symmetric positive definite k×k
// a by Cholesky factorization a = UᵀU, leaving x in b; a is overwritten
// (U in its upper triangle, which is all it reads). It reports false when
// a is not positive definite.
//
// The factorization is right-looking: once row p of U is final, it is
// subtracted from every later row at once, so the inner loop runs along a
// row with no dependence between its steps. Each element still receives
// its subtractions in the order of p, as a dot product per element would
// give them, so the result is that of the textbook loop bit for bit
// (TestSolveSPDMatchesReference). A row update is subScaled, four lanes at
// a time where the CPU has AVX: the textbook loop, one dot product per
// element, can only wait on each subtraction before the next.
func solveSPD(a, b []float64, k int) bool {
	a, b = a[:k*k], b[:k]
	for p := 0; p < k; p++ {
		rp := a[p*k : (p+1)*k]
		s := rp[p]
		if !(s > 0) {
			return false
		}
		d := math.Sqrt(s)
		rp[p] = d
		tail := rp[p+1:]
		for i := range tail {
			tail[i] /= d
		}
		for j, u := range tail {
			subScaled(a[(p+1+j)*k+p+1+j:(p+2+j)*k], tail[j:], u)
		}
	}
	for i := 0; i < k; i++ { // Uᵀ·y = b, y in b
		ri := a[i*k : (i+1)*k]
		b[i] /= ri[i]
		subScaled(b[i+1:], ri[i+1:], b[i])
	}
	for i := k - 1; i >= 0; i-- { // U·x = y
		ri := a[i*k : (i+1)*k]
		s := b[i]
		for p := i + 1; p < k; p++ {
			s -= ri[p] * b[p]
		}
		b[i] = s / ri[i]
	}
	return true
}

// subScaledGo computes y[i] −= u·x[i] for every i < len(y) (len(x) ≥
// len(y)): subScaled's definition, and its form off amd64.
func subScaledGo(y, x []float64, u float64) {
	x = x[:len(y)]
	for i, v := range x {
		y[i] -= u * v
	}
}
