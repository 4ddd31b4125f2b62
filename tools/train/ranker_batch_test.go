package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/rank"
)

// rowsStep is rankTrainer.accumulate one candidate at a time, as training
// ran before it took a list as one batch: Score for each row, then
// backwardMLP and backwardCross for each, in list order. It is the
// reference the batched step is checked and measured against.
type rowsStep struct {
	m             *rank.Model
	s             []*rank.Scratch
	dy, dh, dx, t []float32
	tmp           [][]float32
}

func newRowsStep(m *rank.Model) *rowsStep {
	nf := len(m.Features)
	return &rowsStep{m: m, dy: make([]float32, 1), dh: make([]float32, nf), dx: make([]float32, nf), t: make([]float32, nf), tmp: m.MLP.NewActs()}
}

func (r *rowsStep) accumulate(g *netGrad, l list, loss string) {
	m, n := r.m, len(l.y)
	for len(r.s) < n {
		r.s = append(r.s, m.NewScratch())
	}
	s := r.s
	scores := make([]float64, n)
	for i := range l.y {
		scores[i] = float64(m.Score(s[i], l.x[i]))
	}
	dy, dh, dx, tmpx, tmp := r.dy, r.dh, r.dx, r.t, r.tmp
	for i, d := range lossGrad(loss, scores, l.y, l.w) {
		if d == 0 {
			continue
		}
		dy[0] = float32(d)
		h := s[i].X
		if len(m.Cross) > 0 {
			h = s[i].CrossOut[len(m.Cross)-1]
		}
		backwardMLP(&m.MLP, &g.mlp, h, s[i].Acts, dy, dh, tmp)
		backwardCross(m.Cross, &g.cross, s[i].X, s[i].CrossOut, s[i].CrossLin, dh, dx, tmpx)
	}
}

// rankLists returns n lists over rank.Raw whose positives lean on the
// first two features: the first list half as deep as depth, the second
// depth (so a trainer's batch is grown past its first size), the others
// shorter again; every other list weighs its positives, as logged lists do.
func rankLists(n, depth int, rng *rand.Rand) []list {
	var out []list
	for k := range n {
		size := depth / 2
		if k > 0 {
			size = max(depth-3*(k-1), 2)
		}
		l := list{}
		for range size {
			x := make([]float32, len(rank.Raw))
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			x[coldAt] = 0
			l.x = append(l.x, x)
			l.y = append(l.y, x[0]+x[1]+float32(rng.NormFloat64()) > 2)
		}
		l.y[0] = true
		if k%2 == 1 {
			l.w = make([]float32, size)
			for i, y := range l.y {
				if y {
					l.w[i] = 0.5 + rng.Float32()
				}
			}
		}
		out = append(out, l)
	}
	return out
}

// presentCold returns l with the cold flag set on the rows accumulate
// presents as cold when it draws from rng with coldDrop: the same draws,
// in the same order.
func presentCold(l list, coldDrop float64, rng *rand.Rand) list {
	c := l
	c.x = nil
	for _, x := range l.x {
		if rng.Float64() < coldDrop {
			x = slices.Clone(x)
			x[coldAt] = 1
		}
		c.x = append(c.x, x)
	}
	return c
}

// TestRankBatchMatchesRows: the gradients a list's batch accumulates are
// those of one candidate at a time, for every loss, with zero to two
// cross layers and one or two hidden layers, weighted lists and rows
// presented as cold, within float32 rounding of sums taken in another
// order; and the batch's logits are Score's.
func TestRankBatchMatchesRows(t *testing.T) {
	for _, hidden := range [][]int{{32, 16}, {8}} {
		for _, cross := range []int{0, 1, 2} {
			for _, loss := range Losses {
				name := fmt.Sprintf("hidden %v, cross %d, %s", hidden, cross, loss)
				rng := rand.New(rand.NewPCG(7, uint64(cross)))
				cfg := DefaultRankerConfig()
				cfg.Cross, cfg.Hidden = cross, hidden
				m := NewRanker(cfg, rng)
				require.NoError(t, m.Validate())
				lists := rankLists(4, 200, rng)
				tr := newRankTrainer(m, 2)
				want := netGrad{cross: newCrossGrad(m.Cross), mlp: newMLPGrad(&m.MLP)}
				rows := newRowsStep(m)
				const coldDrop = 0.3
				drawBatch, drawRows := rand.New(rand.NewPCG(3, 3)), rand.New(rand.NewPCG(3, 3))
				for _, l := range lists {
					tr.accumulate(l, loss, coldDrop, drawBatch)
					cold := presentCold(l, coldDrop, drawRows)
					rows.accumulate(&want, cold, loss)
					s := m.NewScratch()
					for i, x := range cold.x {
						got, ref := tr.b.acts[len(tr.b.acts)-1][i], m.Score(s, x)
						require.InDelta(t, ref, got, 1e-5*(1+math.Abs(float64(ref))), "%s: logit of row %d", name, i)
					}
				}
				require.Equal(t, 200, tr.b.rows(), "the batch grew to the deepest list")
				got := tr.grads()
				ref := (&rankTrainer{g: want}).grads()
				require.Len(t, got, len(ref))
				// One scale for all: a gradient that sums to about zero over
				// the list (the output bias under the listwise loss) differs
				// by the rounding of its terms, not of itself.
				var scale float64
				for k := range ref {
					for _, v := range ref[k] {
						scale = max(scale, math.Abs(float64(v)))
					}
				}
				require.Positive(t, scale, "%s: no gradient to compare", name)
				for k := range ref {
					for j := range ref[k] {
						require.InDelta(t, ref[k][j], got[k][j], 1e-4*scale, "%s: tensor %d, weight %d", name, k, j)
					}
				}
			}
		}
	}
	tr := newRankTrainer(NewRanker(DefaultRankerConfig(), rand.New(rand.NewPCG(1, 1))), 1)
	tr.accumulate(list{}, LossListwise, 0, nil)
	for _, g := range tr.grads() {
		for _, v := range g {
			require.Zero(t, v, "an empty list adds no gradient")
		}
	}
}

// BenchmarkRankerAccumulate measures one list of the default depth through
// the ranker's forward and backward passes on one goroutine: one candidate
// at a time (the reference) and as one batch (what training runs).
func BenchmarkRankerAccumulate(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	cfg := DefaultRankerConfig()
	m := NewRanker(cfg, rng)
	l := rankLists(2, cfg.Depth, rng)[1] // the default depth, unweighted
	b.Run("impl=rows", func(b *testing.B) {
		g := netGrad{cross: newCrossGrad(m.Cross), mlp: newMLPGrad(&m.MLP)}
		r := newRowsStep(m)
		for b.Loop() {
			r.accumulate(&g, l, LossListwise)
		}
	})
	b.Run("impl=batch", func(b *testing.B) {
		tr := newRankTrainer(m, 1)
		for b.Loop() {
			tr.accumulate(l, LossListwise, 0, nil)
		}
	})
}
