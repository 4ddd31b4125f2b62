package train

import (
	"math"
	"math/rand/v2"
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

func (r *rowsStep) accumulate(g *towerGrad, l list, loss string) {
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

// rankLists returns n lists of depth candidates (randomLists' features),
// the last ones shorter, so that a trainer's batch sees lists of every
// length it is grown to and below.
func rankLists(n, depth int, rng *rand.Rand) []list {
	var out []list
	for k := range n {
		l := list{}
		for range max(depth-3*k, 2) {
			x := make([]float32, len(rank.Raw))
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			x[coldAt] = 0
			l.x = append(l.x, x)
			l.y = append(l.y, x[0]+x[1]+float32(rng.NormFloat64()) > 2)
		}
		l.y[0] = true
		out = append(out, l)
	}
	return out
}

// TestRankBatchMatchesRows: the gradients a list's batch accumulates are
// those of one candidate at a time, for every loss and with and without
// cross layers, within float32 rounding of sums taken in another order;
// and the batch's logits are Score's.
func TestRankBatchMatchesRows(t *testing.T) {
	for _, cross := range []int{0, 1, 2} {
		for _, loss := range Losses {
			rng := rand.New(rand.NewPCG(7, uint64(cross)))
			cfg := DefaultRankerConfig()
			cfg.Cross = cross
			m := NewRanker(cfg, rng)
			require.NoError(t, m.Validate())
			lists := rankLists(4, 200, rng)
			tr := newRankTrainer(m)
			want := towerGrad{cross: newCrossGrad(m.Cross), mlp: newMLPGrad(&m.MLP)}
			rows := newRowsStep(m)
			for _, l := range lists {
				tr.accumulate(l, loss, 0, nil)
				rows.accumulate(&want, l, loss)
				s := m.NewScratch()
				for i, x := range l.x {
					got, ref := tr.b.acts[len(tr.b.acts)-1][i], m.Score(s, x)
					require.InDelta(t, ref, got, 1e-5*(1+math.Abs(float64(ref))), "cross %d, %s: logit of row %d", cross, loss, i)
				}
			}
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
			require.Positive(t, scale, "cross %d, %s: no gradient to compare", cross, loss)
			for k := range ref {
				for j := range ref[k] {
					require.InDelta(t, ref[k][j], got[k][j], 1e-4*scale, "cross %d, %s: tensor %d, weight %d", cross, loss, k, j)
				}
			}
		}
	}
}

// BenchmarkRankerAccumulate measures one list of the default depth through
// the ranker's forward and backward passes: one candidate at a time (the
// reference) and as one batch (what training runs).
func BenchmarkRankerAccumulate(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	cfg := DefaultRankerConfig()
	m := NewRanker(cfg, rng)
	lists := rankLists(1, cfg.Depth, rng)
	b.Run("impl=rows", func(b *testing.B) {
		g := towerGrad{cross: newCrossGrad(m.Cross), mlp: newMLPGrad(&m.MLP)}
		r := newRowsStep(m)
		for b.Loop() {
			r.accumulate(&g, lists[0], LossListwise)
		}
	})
	b.Run("impl=batch", func(b *testing.B) {
		tr := newRankTrainer(m)
		for b.Loop() {
			tr.accumulate(lists[0], LossListwise, 0, nil)
		}
	})
}
