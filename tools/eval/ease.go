package eval

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// DefaultLambdas is the λ grid [EASE] tunes over when Lambdas is empty.
var DefaultLambdas = []float64{50, 100, 200, 500, 1000, 2000}

// DefaultEASEMaxItems is the catalog cap of [EASE] when MaxItems is 0.
// Inverting the n×n Gram matrix costs about n³/2 multiply-adds and n²·8
// bytes; BenchmarkInvertSPD on 2 cores: 0.33 s at n = 1,700 (MovieLens
// 100K's catalog, 23 MB), 2.1 s at 3,000 (72 MB), 5.5 s at 4,000 (128 MB).
// The λ search inverts once per λ plus once for the refit, so on
// MovieLens latest-small (8,600 training items) the whole fit takes about
// 15 s at this cap and 80 s at 4,000.
const DefaultEASEMaxItems = 3000

// MaxEASEItems bounds MaxItems: the Gram matrix of 20,000 items takes
// 3.2 GB.
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
// the closed-form minimizer of ‖X − XB‖²_F + λ‖B‖²_F with diag(B) = 0. The
// inverse is computed in float64 by Cholesky factorization (invertSPD), on
// Workers goroutines.
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
// Only the MaxItems most popular training items (ties by id) take part:
// history items outside them are ignored, and they rank below every item
// inside, by popularity. Describe reports when the cap applies.
type EASE struct {
	// Lambdas is the λ grid (empty: DefaultLambdas).
	Lambdas []float64
	// MaxItems caps the catalog (0: DefaultEASEMaxItems).
	MaxItems int
	// Workers is the number of goroutines; 0 means GOMAXPROCS.
	Workers int
	// Log, if not nil, receives a line per λ tried.
	Log io.Writer

	// Set by Fit:
	Lambda     float64             // the λ of the final fit
	Validation map[float64]float64 // validation EASETuneMetric per λ tried
	Items      int                 // items in the final fit
	Catalog    int                 // training items
	Invert     time.Duration       // time of the final fit's inversion
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

func (m *EASE) maxItems() int {
	if m.MaxItems <= 0 {
		return DefaultEASEMaxItems
	}
	return m.MaxItems
}

// Fit tunes λ on a validation split of s.Train, then fits on s.Train.
func (m *EASE) Fit(s *Split) (Ranker, error) {
	grid := m.lambdas()
	m.Lambda, m.Validation, m.note = grid[0], nil, ""
	if m.MaxItems > MaxEASEItems {
		return nil, fmt.Errorf("ease: item cap %d above %d", m.MaxItems, MaxEASEItems)
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
			best := math.Inf(-1)
			for _, l := range grid {
				start := time.Now()
				score, _, _, err := easeScorer(vc, l, m.maxItems(), m.Workers)
				if err != nil {
					return nil, err
				}
				v := Evaluate(val, vc.ranker(score)).Metrics[EASETuneMetric]
				m.Validation[l] = v
				if m.Log != nil {
					fmt.Fprintf(m.Log, "ease: λ = %g: validation %s %.4f (%d users, %.1fs)\n", l, EASETuneMetric, v, len(val.Users), time.Since(start).Seconds())
				}
				if v > best {
					best, m.Lambda = v, l
				}
			}
		}
	}
	c := newCatalog(s)
	score, items, inv, err := easeScorer(c, m.Lambda, m.maxItems(), m.Workers)
	if err != nil {
		return nil, err
	}
	m.Items, m.Catalog, m.Invert = items, len(c.ids), inv
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
	fmt.Fprintf(&b, "; final inversion %.2fs", m.Invert.Seconds())
	return b.String()
}

// easeScorer fits EASE with λ on the maxItems most popular items of c and
// returns its scorer, the number of items used and the inversion's time.
func easeScorer(c *catalog, lambda float64, maxItems, workers int) (scorer, int, time.Duration, error) {
	n := min(len(c.ids), maxItems)
	b := make([]float64, n*n)
	// G = XᵀX: Gᵢⱼ = |U(i) ∩ U(j)|. userRows are sorted, so items past the
	// cap end each row.
	parallel(n, 16, workers, func(i int) {
		gi := row(b, n, i)
		for _, u := range c.itemCols[i] {
			for _, j := range c.userRows[u] {
				if int(j) >= n {
					break
				}
				gi[j]++
			}
		}
		gi[i] += lambda
	})
	start := time.Now()
	if err := invertSPD(b, n, workers); err != nil {
		return nil, 0, 0, fmt.Errorf("ease: inverting XᵀX + %gI: %w", lambda, err)
	}
	inv := time.Since(start)
	diag := make([]float64, n)
	for j := range n {
		diag[j] = b[j*n+j]
	}
	parallel(n, 64, workers, func(i int) {
		bi := row(b, n, i)
		for j := range bi {
			bi[j] /= -diag[j]
		}
		bi[i] = 0
	})
	negInf := math.Inf(-1)
	return func(dst []float64, hist []int32) {
		for _, i := range hist {
			if int(i) >= n {
				continue
			}
			bi := row(b, n, int(i))
			for j, v := range bi {
				dst[j] += v
			}
		}
		for j := n; j < len(dst); j++ {
			dst[j] = negInf
		}
	}, n, inv, nil
}
