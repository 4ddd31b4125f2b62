package train

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/tower"
	"github.com/edgerec/edgerec/core/vec"
)

// referenceGradients is the per-example form of trainer.gradients, the
// trainer before its batched matrix products: each query and item through
// core/tower's Embed, each logit a dot product, each backward pass one row
// at a time (backwardMLP, backwardCross). It returns the mean loss and the
// gradients, for the batch t.prepare left.
func referenceGradients(t *trainer, B int) (float64, *workerGrad) {
	q, it, cfg := &t.m.Query, &t.m.Item, t.cfg
	N := t.columns(B)
	invTau := 1 / cfg.Temperature
	g := newWorkerGrad(t.m)
	qs := make([]*tower.Scratch, B)
	for i := range qs {
		qs[i] = q.NewScratch()
		q.Embed(qs[i], &it.IDs, t.qin[i])
	}
	is := make([]*tower.Scratch, N)
	for j := range is {
		is[j] = it.NewScratch()
		it.Embed(is[j], t.iin[j])
	}
	du := make([][]float32, B)
	dv := make([][]float32, N)
	for j := range dv {
		dv[j] = make([]float32, cfg.Dim)
	}
	var loss float64
	for i := 0; i < B; i++ {
		p := make([]float64, N)
		pos := int(t.pos[i])
		mx := math.Inf(-1)
		for j := range p {
			if j != pos && cfg.HitMask && t.cols[j] == t.target[i] {
				p[j] = math.Inf(-1)
				continue
			}
			p[j] = float64(vec.Dot(qs[i].Unit, is[j].Unit)*invTau - t.logQ[t.cols[j]])
			mx = max(mx, p[j])
		}
		var z float64
		for _, s := range p {
			z += math.Exp(s - mx)
		}
		loss += math.Log(z) - (p[pos] - mx)
		du[i] = make([]float32, cfg.Dim)
		for j, s := range p {
			d := math.Exp(s-mx) / z
			if j == pos {
				d--
			}
			d /= float64(B)
			vec.Axpy(du[i], float32(d)*invTau, is[j].Unit)
			vec.Axpy(dv[j], float32(d)*invTau, qs[i].Unit)
		}
	}
	for i := 0; i < B; i++ {
		s := qs[i]
		in := q.InputDim()
		dh, dx, tmpx := make([]float32, in), make([]float32, in), make([]float32, in)
		backwardL2(du[i], s.Unit, s.Norm)
		h := s.X
		if len(q.Cross) > 0 {
			h = s.CrossOut[len(q.Cross)-1]
		}
		backwardMLP(&q.MLP, &g.q.mlp, h, s.Acts, du[i], dh, q.MLP.NewActs())
		backwardCross(q.Cross, &g.q.cross, s.X, s.CrossOut, s.CrossLin, dh, dx, tmpx)
		t.backwardQuery(g, make([]float32, len(cfg.Decays)*cfg.MaxHistory), t.qin[i], dx)
	}
	for j := 0; j < N; j++ {
		s := is[j]
		in := it.InputDim()
		dh, dx, tmpx := make([]float32, in), make([]float32, in), make([]float32, in)
		backwardL2(dv[j], s.Unit, s.Norm)
		h := s.X
		if len(it.Cross) > 0 {
			h = s.CrossOut[len(it.Cross)-1]
		}
		backwardMLP(&it.MLP, &g.i.mlp, h, s.Acts, dv[j], dh, it.MLP.NewActs())
		backwardCross(it.Cross, &g.i.cross, s.X, s.CrossOut, s.CrossLin, dh, dx, tmpx)
		t.backwardItem(g, t.iin[j], dx)
	}
	return loss / float64(B), g
}

// TestGradientsMatchReference holds the batched gradients to the
// per-example reference, for sampled and full softmax, with two and three
// cross layers, two hidden layers, every input kind and a batch shorter
// than Config.Batch.
func TestGradientsMatchReference(t *testing.T) {
	for _, full := range []bool{false, true} {
		name := "sampled"
		if full {
			name = "full"
		}
		t.Run(name, func(t *testing.T) {
			cfg := tinyConfig()
			cfg.Hidden = []int{7, 5}
			cfg.QueryCross, cfg.ItemCross = 2, 3
			if full {
				cfg.FullSoftmax = 100
			}
			c, tr, rng := tinyTrainer(t, cfg, 5, 6)
			require.Equal(t, full, tr.full)
			batch := c.train[3:8] // shorter than cfg.Batch, as an epoch's last
			tr.prepare(batch, rng)
			loss := tr.gradients(len(batch))
			refLoss, ref := referenceGradients(tr, len(batch))
			assert.InDelta(t, refLoss, loss, 1e-4*math.Abs(refLoss)+1e-6, "loss")
			got := tr.wg[0]
			close := func(what string, want, got []float32) {
				t.Helper()
				require.Equal(t, len(want), len(got), what)
				for k := range want {
					if math.Abs(float64(want[k]-got[k])) > 1e-4+1e-3*math.Abs(float64(want[k])) {
						t.Errorf("%s[%d]: batched %v, reference %v", what, k, got[k], want[k])
						return
					}
				}
			}
			for l := range ref.q.mlp.W {
				close("query W", ref.q.mlp.W[l], got.q.mlp.W[l])
				close("query b", ref.q.mlp.B[l], got.q.mlp.B[l])
			}
			for l := range ref.i.mlp.W {
				close("item W", ref.i.mlp.W[l], got.i.mlp.W[l])
				close("item b", ref.i.mlp.B[l], got.i.mlp.B[l])
			}
			for l := range ref.q.cross.W {
				close("query cross W", ref.q.cross.W[l], got.q.cross.W[l])
				close("query cross b", ref.q.cross.B[l], got.q.cross.B[l])
			}
			for l := range ref.i.cross.W {
				close("item cross W", ref.i.cross.W[l], got.i.cross.W[l])
				close("item cross b", ref.i.cross.B[l], got.i.cross.B[l])
			}
			sparse := func(what string, want, got *sparseGrad) {
				t.Helper()
				require.ElementsMatch(t, want.rows, got.rows, what+" rows")
				for _, r := range want.rows {
					close(what, want.row(r), got.row(r))
				}
			}
			sparse("ids", ref.ids, got.ids)
			sparse("categories", ref.cats, got.cats)
			sparse("tokens", ref.tokens, got.tokens)
			for f := range ref.fields {
				sparse("field", ref.fields[f], got.fields[f])
			}
		})
	}
}

// TestUpdateIsSerialAdam holds update, which splits the tensors and the
// touched embedding rows over the workers, to the serial loop it replaced:
// adam.step on each dense tensor, then on each touched row of each table,
// with the same parameters to the bit after three steps.
func TestUpdateIsSerialAdam(t *testing.T) {
	cfg := tinyConfig()
	cfg.WeightDecay = 0.1
	c, tr, rng := tinyTrainer(t, cfg, 8, 9)
	const lr = 0.01
	for step := 1; step <= 3; step++ {
		batch := c.train[step : step+cfg.Batch]
		tr.prepare(batch, rng)
		tr.gradients(len(batch))
		g0 := tr.wg[0]
		var want, got [][]float32
		for _, d := range tr.dense {
			w, a := slices.Clone(d.w), &adam{m: slices.Clone(d.a.m), v: slices.Clone(d.a.v)}
			a.step(w, 0, d.grad(g0), lr, cfg.WeightDecay, tr.step_+1)
			want = append(want, w)
		}
		for _, s := range tr.sparse {
			w, a := slices.Clone(s.t.Data), &adam{m: slices.Clone(s.a.m), v: slices.Clone(s.a.v)}
			g := s.grad(g0)
			for i, r := range g.rows {
				a.step(w, int(r)*g.dim, g.data[i*g.dim:(i+1)*g.dim], lr, cfg.WeightDecay, tr.step_+1)
			}
			want = append(want, w)
		}
		tr.update(lr)
		for _, d := range tr.dense {
			got = append(got, d.w)
		}
		for _, s := range tr.sparse {
			got = append(got, s.t.Data)
		}
		require.Len(t, got, len(want))
		for k := range want {
			assert.Equalf(t, want[k], got[k], "step %d, tensor %d", step, k)
		}
	}
}

// tinyTrainer returns tinyDataset's corpus (no validation) and a trainer
// for cfg over it, its model initialized from a generator seeded (s1, s2),
// which it returns too.
func tinyTrainer(t *testing.T, cfg Config, s1, s2 uint64) (*corpus, *trainer, *rand.Rand) {
	t.Helper()
	require.NoError(t, cfg.Validate())
	c, err := newCorpus(tinyDataset(), 0)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(s1, s2))
	m := initModel(c, &cfg, c.train, rng)
	return c, newTrainer(m, c, &cfg, c.train), rng
}
