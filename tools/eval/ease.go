package eval

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultLambdas is the λ grid [EASE] tunes over when Lambdas is empty.
var DefaultLambdas = []float64{50, 100, 200, 500, 1000, 2000}

// DefaultEASEMemory is the memory budget of one [EASE] fit when Memory is
// 0. The default catalog is every training item whose fit fits in it (see
// [EASEBytes]), at most [MaxEASEItems]: a fixed figure rather than a share
// of the machine's memory, so that the same data gives the same EASE on
// every machine.
const DefaultEASEMemory = 4 << 30

// MaxEASEItems bounds the catalog of [EASE]: its weights take n²·4 bytes,
// 1.6 GB at 20,000 items.
const MaxEASEItems = 20000

// EASETuneMetric is the validation metric EASE's λ maximizes.
const EASETuneMetric = "ndcg@10"

// EASE is the embarrassingly shallow autoencoder (Steck, "Embarrassingly
// Shallow Autoencoders for Sparse Data", WWW 2019): with X the binary
// user × item training matrix and G = XᵀX its Gram matrix,
//
//	P = (G + λI)⁻¹
//	B = I − P·diagMat(1/diag(P))   (Bᵢⱼ = −Pᵢⱼ/Pⱼⱼ, Bᵢᵢ = 0)
//	score(j) = Σ_{i ∈ history} Bᵢⱼ
//
// the closed-form minimizer of ‖X − XB‖²_F + λ‖B‖²_F with diag(B) = 0.
// P is computed in float64 on Workers goroutines, by whichever of two
// exact routes costs fewer multiply-adds:
//
//   - items: P = (G + λI)⁻¹ by Cholesky (invertSPD), about n³/2 for n
//     items;
//   - users (the Woodbury identity, when there are fewer users than
//     items): P = (I − Xᵀ(XXᵀ + λI)⁻¹X)/λ, inverting the u×u user Gram
//     matrix instead, about u³/2 + (u + n)·nnz(X).
//
// The user Gram (or item Gram) is built once per catalog and reused across
// the λ grid. B is kept in float32 (n²·4 bytes); the routes agree to
// rounding (TestEASERoutesAgree).
//
// λ is tuned on a validation split carved from the training part the same
// way as the test split ([TemporalSplit] of Split.Train at 0.9): EASE is
// fitted on the validation training part for each λ in Lambdas, the λ
// with the best [EASETuneMetric] on the validation users is kept (ties:
// the first in Lambdas), and EASE is refitted on the whole training part.
// A single λ is used as is. If the validation split has no test user,
// the middle value Lambdas[len(Lambdas)/2] is used and Describe says so.
//
// # Notes
//
// The catalog is every training item unless MaxItems is set or the fit
// would need more than Memory bytes ([EASEBytes]) or more than
// [MaxEASEItems] items: then only the most popular items (ties by id) that
// fit take part, history items outside them are ignored, and they rank
// below every item inside, by popularity. Describe reports when a cap
// applies.
type EASE struct {
	// Lambdas is the λ grid (empty: DefaultLambdas).
	Lambdas []float64
	// MaxItems caps the catalog (0: no cap beyond Memory and MaxEASEItems).
	MaxItems int
	// Memory is the budget of one fit in bytes (0: DefaultEASEMemory).
	Memory int64
	// Workers is the number of goroutines; 0 means GOMAXPROCS.
	Workers int
	// Log, if not nil, receives a line per λ tried.
	Log io.Writer

	// Set by Fit:
	Lambda     float64             // the λ of the final fit
	Validation map[float64]float64 // validation EASETuneMetric per λ tried
	Items      int                 // items in the final fit
	Catalog    int                 // training items
	Route      string              // "items" or "users": which matrix the final fit inverted
	Invert     time.Duration       // time of the final fit's solve (inverse and B)
	note       string
}

// Name returns "ease".
func (m *EASE) Name() string { return "ease" }

func (m *EASE) lambdas() []float64 {
	if len(m.Lambdas) == 0 {
		return DefaultLambdas
	}
	return m.Lambdas
}

func (m *EASE) memory() int64 {
	if m.Memory <= 0 {
		return DefaultEASEMemory
	}
	return m.Memory
}

// Fit tunes λ on a validation split of s.Train, then fits on s.Train.
func (m *EASE) Fit(s *Split) (Ranker, error) {
	grid := m.lambdas()
	m.Lambda, m.Validation, m.note = grid[0], nil, ""
	if m.MaxItems < 0 || m.MaxItems > MaxEASEItems {
		return nil, fmt.Errorf("ease: item cap %d outside [0, %d]", m.MaxItems, MaxEASEItems)
	}
	for _, l := range grid {
		if !(l > 0) || math.IsInf(l, 0) {
			return nil, fmt.Errorf("ease: λ = %v is not a positive number", l)
		}
	}
	if len(grid) > 1 {
		val, err := TemporalSplit(s.Train, 0.9)
		if err != nil {
			m.Lambda = grid[len(grid)/2]
			m.note = fmt.Sprintf("; no validation split (%v), λ = middle of the grid", err)
		} else {
			m.Validation = map[float64]float64{}
			vc := newCatalog(val)
			p := newEASEProblem(vc, m.MaxItems, m.memory(), m.Workers)
			best := math.Inf(-1)
			for _, l := range grid {
				start := time.Now()
				score, err := p.fit(l)
				if err != nil {
					return nil, err
				}
				v := Evaluate(val, vc.ranker(score)).Metrics[EASETuneMetric]
				m.Validation[l] = v
				if m.Log != nil {
					fmt.Fprintf(m.Log, "ease: λ = %g: validation %s %.4f (%d users, %d items by %s, %.1fs)\n", l, EASETuneMetric, v, len(val.Users), p.n, p.route(), time.Since(start).Seconds())
				}
				if v > best {
					best, m.Lambda = v, l
				}
			}
		}
	}
	c := newCatalog(s)
	p := newEASEProblem(c, m.MaxItems, m.memory(), m.Workers)
	start := time.Now()
	score, err := p.fit(m.Lambda)
	if err != nil {
		return nil, err
	}
	m.Items, m.Catalog, m.Route, m.Invert = p.n, len(c.ids), p.route(), time.Since(start)
	return c.ranker(score), nil
}

// Describe reports the λ chosen, the validation scores and the item cap.
func (m *EASE) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "λ = %g", m.Lambda)
	if len(m.Validation) > 0 {
		fmt.Fprintf(&b, " (validation %s:", EASETuneMetric)
		for _, l := range m.lambdas() {
			fmt.Fprintf(&b, " %g→%.4f", l, m.Validation[l])
		}
		b.WriteString(")")
	}
	b.WriteString(m.note)
	if m.Items < m.Catalog {
		fmt.Fprintf(&b, "; restricted to the %d most popular of %d items", m.Items, m.Catalog)
	} else {
		fmt.Fprintf(&b, "; all %d items", m.Items)
	}
	fmt.Fprintf(&b, "; final fit %.2fs (inverting the %s Gram matrix)", m.Invert.Seconds(), strings.TrimSuffix(m.Route, "s"))
	return b.String()
}

// EASEBytes is the memory an EASE fit over n items and u users with nnz
// training interactions needs, by the route it takes: B (n²·4 bytes) plus
// the float64 Gram matrix, kept for the λ grid, and its working copy that
// is inverted, 2·n²·8 (items) or 2·u²·8 + u·n·8 (users: the user Gram
// twice and K⁻¹X). A catalog is capped to the largest n whose fit stays
// within the budget.
func EASEBytes(n, u, nnz int) int64 {
	b := 4 * int64(n) * int64(n)
	if easeByUsers(n, u, nnz) {
		return b + 16*int64(u)*int64(u) + 8*int64(u)*int64(n)
	}
	return b + 16*int64(n)*int64(n)
}

// easeByUsers reports whether the Woodbury route (inverting the u×u user
// Gram) costs fewer multiply-adds than inverting the n×n item Gram.
func easeByUsers(n, u, nnz int) bool {
	cube := func(x int) float64 { return float64(x) * float64(x) * float64(x) }
	return cube(u)/2+float64(u+n)*float64(nnz) < cube(n)/2
}

// easeProblem is the λ-independent part of an EASE fit on the n most
// popular items of a catalog: the item Gram G = XᵀX, or (users route) the
// user Gram XXᵀ over the users with an item among the n.
type easeProblem struct {
	c       *catalog
	n       int
	workers int
	byUsers bool
	gram    []float64 // n×n item Gram, or u×u user Gram; λ not added
	users   []int32   // users route: catalog user of each Gram row
	cols    [][]int32 // users route: each item's users as Gram rows
}

// newEASEProblem sizes the catalog (maxItems if set, then the memory
// budget and MaxEASEItems) and builds its Gram matrix.
func newEASEProblem(c *catalog, maxItems int, memory int64, workers int) *easeProblem {
	n := min(len(c.ids), MaxEASEItems)
	if maxItems > 0 {
		n = min(n, maxItems)
	}
	// The largest n within the budget: interactions and users are those
	// of the n most popular items.
	fits := func(n int) bool {
		u, nnz := 0, 0
		for _, r := range c.userRows {
			k, _ := slices.BinarySearch(r, int32(n))
			if k > 0 {
				u++
				nnz += k
			}
		}
		return EASEBytes(n, u, nnz) <= memory
	}
	if !fits(n) {
		lo, hi := 0, n // fits(lo), !fits(hi)
		for hi-lo > 1 {
			mid := (lo + hi) / 2
			if fits(mid) {
				lo = mid
			} else {
				hi = mid
			}
		}
		n = lo
	}
	u, nnz := 0, 0
	for i := range n {
		nnz += len(c.itemCols[i])
	}
	for _, r := range c.userRows {
		if len(r) > 0 && int(r[0]) < n {
			u++
		}
	}
	return buildEASEProblem(c, n, workers, easeByUsers(n, u, nnz))
}

// buildEASEProblem builds the Gram matrix of the n most popular items of
// c for the route byUsers.
func buildEASEProblem(c *catalog, n, workers int, byUsers bool) *easeProblem {
	p := &easeProblem{c: c, n: n, workers: workers, byUsers: byUsers}
	local := make([]int32, len(c.userRows))
	for u, r := range c.userRows {
		local[u] = -1
		if len(r) > 0 && int(r[0]) < n {
			local[u] = int32(len(p.users))
			p.users = append(p.users, int32(u))
		}
	}
	if !byUsers {
		// G = XᵀX: Gᵢⱼ = |U(i) ∩ U(j)|. userRows are sorted, so items
		// past the cap end each row.
		p.gram = make([]float64, n*n)
		parallel(n, 16, workers, func(i int) {
			gi := row(p.gram, n, i)
			for _, u := range c.itemCols[i] {
				for _, j := range c.userRows[u] {
					if int(j) >= n {
						break
					}
					gi[j]++
				}
			}
		})
		return p
	}
	// K = XXᵀ over the kept users: K_vw = |I(v) ∩ I(w)| within the n items.
	u := len(p.users)
	p.cols = make([][]int32, n)
	for i := range n {
		p.cols[i] = make([]int32, len(c.itemCols[i]))
		for k, cu := range c.itemCols[i] {
			p.cols[i][k] = local[cu]
		}
	}
	p.gram = make([]float64, u*u)
	parallel(u, 16, workers, func(v int) {
		kv := row(p.gram, u, v)
		for _, i := range c.userRows[p.users[v]] {
			if int(i) >= n {
				break
			}
			for _, w := range p.cols[i] {
				kv[w]++
			}
		}
	})
	return p
}

// route names the matrix the fit inverts: "items" or "users".
func (p *easeProblem) route() string {
	if p.byUsers {
		return "users"
	}
	return "items"
}

// fit solves EASE for λ and returns its scorer.
func (p *easeProblem) fit(lambda float64) (scorer, error) {
	var b []float32
	var err error
	if p.byUsers {
		b, err = p.weightsByUsers(lambda)
	} else {
		b, err = p.weightsByItems(lambda)
	}
	if err != nil {
		return nil, err
	}
	n := p.n
	negInf := math.Inf(-1)
	return func(dst []float64, hist []int32) {
		for _, i := range hist {
			if int(i) >= n {
				continue
			}
			bi := b[int(i)*n : int(i)*n+n]
			d := dst[:n]
			for j, v := range bi {
				d[j] += float64(v)
			}
		}
		for j := n; j < len(dst); j++ {
			dst[j] = negInf
		}
	}, nil
}

// weightsByItems returns B (n×n, row-major) from P = (G + λI)⁻¹.
func (p *easeProblem) weightsByItems(lambda float64) ([]float32, error) {
	n := p.n
	a := slices.Clone(p.gram)
	for i := range n {
		a[i*n+i] += lambda
	}
	if err := invertSPD(a, n, p.workers); err != nil {
		return nil, fmt.Errorf("ease: inverting XᵀX + %gI: %w", lambda, err)
	}
	b := make([]float32, n*n)
	parallel(n, 64, p.workers, func(i int) {
		ai, bi := row(a, n, i), b[i*n:i*n+n]
		for j, v := range ai {
			bi[j] = float32(-v / a[j*n+j])
		}
		bi[i] = 0
	})
	return b, nil
}

// weightsByUsers returns B (n×n, row-major) by the Woodbury identity
// (G + λI)⁻¹ = (I − Xᵀ K⁻¹ X)/λ with K = XXᵀ + λI (u×u). With M = K⁻¹X
// and s_ij = Σ_{v ∈ U(i)} M_vj = (XᵀK⁻¹X)ᵢⱼ, λ·Pᵢⱼ = δᵢⱼ − s_ij, so
// Bᵢⱼ = −Pᵢⱼ/Pⱼⱼ = s_ij/(1 − s_jj) for i ≠ j.
func (p *easeProblem) weightsByUsers(lambda float64) ([]float32, error) {
	n, u := p.n, len(p.users)
	k := slices.Clone(p.gram)
	for v := range u {
		k[v*u+v] += lambda
	}
	if err := invertSPD(k, u, p.workers); err != nil {
		return nil, fmt.Errorf("ease: inverting XXᵀ + %gI: %w", lambda, err)
	}
	// M = K⁻¹X (u×n): M_vj = Σ_{w ∈ U(j)} (K⁻¹)_vw.
	m := make([]float64, u*n)
	parallel(u, 8, p.workers, func(v int) {
		kv, mv := row(k, u, v), m[v*n:v*n+n]
		for j, col := range p.cols[:n] {
			var s float64
			for _, w := range col {
				s += kv[w]
			}
			mv[j] = s
		}
	})
	k = nil
	// 1 − s_jj = λ·Pⱼⱼ > 0.
	d := make([]float64, n)
	for j, col := range p.cols[:n] {
		s := 0.0
		for _, v := range col {
			s += m[int(v)*n+j]
		}
		d[j] = 1 - s
		if !(d[j] > 0) {
			return nil, fmt.Errorf("ease: %w: λ·P[%d][%d] = %g", errNotSPD, j, j, d[j])
		}
	}
	b := make([]float32, n*n)
	acc := sync.Pool{New: func() any { return make([]float64, n) }}
	parallel(n, 16, p.workers, func(i int) {
		s := acc.Get().([]float64)
		clear(s)
		// Rows of M four at a time: one pass over s per four rows.
		col := p.cols[i]
		mrow := func(v int32) []float64 { return m[int(v)*n : int(v)*n+n : int(v)*n+n] }
		for ; len(col) >= 4; col = col[4:] {
			m0, m1, m2, m3 := mrow(col[0]), mrow(col[1]), mrow(col[2]), mrow(col[3])
			for j := range s {
				s[j] += (m0[j] + m1[j]) + (m2[j] + m3[j])
			}
		}
		for _, v := range col {
			for j, x := range mrow(v) {
				s[j] += x
			}
		}
		bi := b[i*n : i*n+n]
		for j, x := range s {
			bi[j] = float32(x / d[j])
		}
		bi[i] = 0
		acc.Put(s)
	})
	return b, nil
}
