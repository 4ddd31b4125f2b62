package train

import (
	"math"
	"math/rand/v2"

	"github.com/edgerec/edgerec/core/nn"
	"github.com/edgerec/edgerec/core/tower"
	"github.com/edgerec/edgerec/core/vec"
	"github.com/edgerec/edgerec/tools/model"
)

// qslot holds one batch row's query activations and gradients.
type qslot struct {
	in     tower.QueryInput
	s      *tower.Scratch
	target int32
	du     []float32   // ∂L/∂u, then ∂L/∂(MLP output)
	dh     []float32   // ∂L/∂(MLP input)
	dx     []float32   // ∂L/∂(input vector)
	tmpx   []float32   // cross backward scratch
	tmp    [][]float32 // MLP backward scratch
	p      []float32   // the softmax row, then dS
	pool   []float32   // pooling weights
}

// islot holds one batch column's item activations and gradients.
type islot struct {
	row  int32 // item row (the id, before dropout)
	in   tower.ItemInput
	s    *tower.Scratch
	dv   []float32
	dh   []float32
	dx   []float32
	tmpx []float32
	tmp  [][]float32
}

// towerGrad accumulates one tower's dense gradients.
type towerGrad struct {
	cross crossGrad
	mlp   mlpGrad
}

func (g *towerGrad) zero() { g.cross.zero(); g.mlp.zero() }

func (g *towerGrad) add(o *towerGrad) { g.cross.add(&o.cross); g.mlp.add(&o.mlp) }

// workerGrad holds one worker's gradient sums.
type workerGrad struct {
	q, i              towerGrad
	ids, cats, tokens *sparseGrad
	fields            []*sparseGrad
	loss              float64
}

func (g *workerGrad) reset() {
	g.q.zero()
	g.i.zero()
	g.ids.reset()
	g.cats.reset()
	g.tokens.reset()
	for _, f := range g.fields {
		f.reset()
	}
	g.loss = 0
}

// dense is one dense parameter tensor with its Adam state and the way to
// find its gradient in a workerGrad.
type dense struct {
	w    []float32
	a    *adam
	grad func(*workerGrad) []float32
}

// sparse is one embedding table with its Adam state.
type sparse struct {
	t    *nn.Table
	a    *adam
	grad func(*workerGrad) *sparseGrad
}

type trainer struct {
	m      *model.Model
	c      *corpus
	cfg    *Config
	qs     []qslot
	is     []islot
	wg     []*workerGrad
	logQ   []float32 // per item row: log q(item), or 0 without LogQ
	step_  int       // Adam step count
	dense  []dense
	sparse []sparse
}

func newTrainer(m *model.Model, c *corpus, cfg *Config, ex []example) *trainer {
	t := &trainer{m: m, c: c, cfg: cfg}
	q, it := &m.Query, &m.Item
	B, N := cfg.Batch, cfg.Batch+cfg.Negatives
	t.qs = make([]qslot, B)
	for i := range t.qs {
		s := &t.qs[i]
		s.s = q.NewScratch()
		s.du = make([]float32, cfg.Dim)
		s.dh = make([]float32, q.InputDim())
		s.dx = make([]float32, q.InputDim())
		s.tmpx = make([]float32, q.InputDim())
		s.tmp = q.MLP.NewActs()
		s.p = make([]float32, N)
		s.pool = make([]float32, cfg.MaxHistory)
	}
	t.is = make([]islot, N)
	for j := range t.is {
		s := &t.is[j]
		s.s = it.NewScratch()
		s.dv = make([]float32, cfg.Dim)
		s.dh = make([]float32, it.InputDim())
		s.dx = make([]float32, it.InputDim())
		s.tmpx = make([]float32, it.InputDim())
		s.tmp = it.MLP.NewActs()
	}
	for w := 0; w < cfg.workers(); w++ {
		g := &workerGrad{
			q:   towerGrad{cross: newCrossGrad(q.Cross), mlp: newMLPGrad(&q.MLP)},
			i:   towerGrad{cross: newCrossGrad(it.Cross), mlp: newMLPGrad(&it.MLP)},
			ids: newSparseGrad(it.IDs.Dim), cats: newSparseGrad(it.Categories.Dim), tokens: newSparseGrad(max(it.Tokens.Dim, 1)),
		}
		for f := range q.Fields {
			g.fields = append(g.fields, newSparseGrad(q.Fields[f].Table.Dim))
		}
		t.wg = append(t.wg, g)
	}

	// log q(item) for the mixture of in-batch positives and uniform draws.
	t.logQ = make([]float32, len(c.items))
	if cfg.LogQ {
		counts := make([]int, len(c.items))
		for _, e := range ex {
			counts[c.target(e)]++
		}
		nItems := float64(len(c.items) - 1)
		inBatch := float64(cfg.Batch) / float64(N)
		for r := 1; r < len(counts); r++ {
			qr := inBatch*float64(counts[r])/float64(len(ex)) + (1-inBatch)/nItems
			t.logQ[r] = float32(math.Log(qr))
		}
	}

	// The parameter registry for Adam.
	addTower := func(cross nn.Stack, mlp *nn.MLP, g func(*workerGrad) *towerGrad) {
		for l := range cross {
			t.dense = append(t.dense,
				dense{cross[l].W, newAdam(len(cross[l].W)), func(w *workerGrad) []float32 { return g(w).cross.W[l] }},
				dense{cross[l].B, newAdam(len(cross[l].B)), func(w *workerGrad) []float32 { return g(w).cross.B[l] }})
		}
		for l := range mlp.Layers {
			t.dense = append(t.dense,
				dense{mlp.Layers[l].W, newAdam(len(mlp.Layers[l].W)), func(w *workerGrad) []float32 { return g(w).mlp.W[l] }},
				dense{mlp.Layers[l].B, newAdam(len(mlp.Layers[l].B)), func(w *workerGrad) []float32 { return g(w).mlp.B[l] }})
		}
	}
	addTower(q.Cross, &q.MLP, func(w *workerGrad) *towerGrad { return &w.q })
	addTower(it.Cross, &it.MLP, func(w *workerGrad) *towerGrad { return &w.i })
	addSparse := func(tb *nn.Table, g func(*workerGrad) *sparseGrad) {
		t.sparse = append(t.sparse, sparse{tb, newAdam(len(tb.Data)), g})
	}
	addSparse(&it.IDs, func(w *workerGrad) *sparseGrad { return w.ids })
	addSparse(&it.Categories, func(w *workerGrad) *sparseGrad { return w.cats })
	if it.Buckets > 0 {
		addSparse(&it.Tokens, func(w *workerGrad) *sparseGrad { return w.tokens })
	}
	for f := range q.Fields {
		addSparse(&q.Fields[f].Table, func(w *workerGrad) *sparseGrad { return w.fields[f] })
	}
	return t
}

// step trains on one batch and returns its mean loss.
func (t *trainer) step(batch []example, rng *rand.Rand) float64 {
	t.prepare(batch, rng)
	loss := t.gradients(len(batch))
	t.update()
	return loss
}

// prepare fills the slots for batch: queries, positives, and uniform
// negatives with their id dropout decided here, in order, for
// reproducibility.
func (t *trainer) prepare(batch []example, rng *rand.Rand) {
	c, cfg := t.c, t.cfg
	q, it := &t.m.Query, &t.m.Item
	B := len(batch)
	for i, e := range batch {
		s := &t.qs[i]
		ctx := c.context(e, cfg.MaxHistory)
		s.in = q.Prepare(&ctx, c.history(e, cfg.MaxHistory), -1)
		s.target = c.target(e)
		t.is[i].row = s.target
		t.is[i].in = c.itemInput(it, s.target, ctx.Time, rng.Float32() < cfg.IDDropout)
	}
	nItems := len(c.items) - 1
	for j := B; j < B+cfg.Negatives; j++ {
		r := int32(1 + rng.IntN(nItems))
		t.is[j].row = r
		t.is[j].in = c.itemInput(it, r, c.time(batch[(j-B)%B]), rng.Float32() < cfg.IDDropout)
	}
}

// gradients runs the forward and backward passes on the prepared batch of B
// rows, leaves the summed gradients in t.wg[0] and returns the mean loss.
func (t *trainer) gradients(B int) float64 {
	q, it, cfg := &t.m.Query, &t.m.Item, t.cfg
	N := B + cfg.Negatives
	W := len(t.wg)
	invTau := 1 / cfg.Temperature

	// Forward both towers.
	parallel(W, B, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			q.Embed(t.qs[i].s, &it.IDs, t.qs[i].in)
		}
	})
	parallel(W, N, func(_, lo, hi int) {
		for j := lo; j < hi; j++ {
			it.Embed(t.is[j].s, t.is[j].in)
		}
	})

	// Softmax of each row over the N columns; dS = (P − Y)/B.
	parallel(W, B, func(w, lo, hi int) {
		g := t.wg[w]
		g.loss = 0
		for i := lo; i < hi; i++ {
			s := &t.qs[i]
			p := s.p[:N]
			u := s.s.Unit
			mx := float32(math.Inf(-1))
			for j := 0; j < N; j++ {
				if j != i && cfg.HitMask && t.is[j].row == s.target {
					p[j] = float32(math.Inf(-1))
					continue
				}
				p[j] = vec.Dot(u, t.is[j].s.Unit)*invTau - t.logQ[t.is[j].row]
				mx = max(mx, p[j])
			}
			var z float64
			for j := range p {
				z += math.Exp(float64(p[j] - mx))
			}
			g.loss += -float64(p[i]-mx) + math.Log(z)
			clear(s.du)
			for j := range p {
				pj := float32(math.Exp(float64(p[j]-mx)) / z)
				if j == i {
					pj--
				}
				p[j] = pj / float32(B)
				if p[j] != 0 {
					vec.Axpy(s.du, p[j]*invTau, t.is[j].s.Unit)
				}
			}
		}
	})
	var loss float64
	for _, g := range t.wg {
		loss += g.loss
	}
	parallel(W, N, func(_, lo, hi int) {
		for j := lo; j < hi; j++ {
			dv := t.is[j].dv
			clear(dv)
			for i := 0; i < B; i++ {
				if d := t.qs[i].p[j]; d != 0 {
					vec.Axpy(dv, d*invTau, t.qs[i].s.Unit)
				}
			}
		}
	})

	// Backward through both towers into per-worker gradients.
	parallel(W, B, func(w, lo, hi int) {
		g := t.wg[w]
		g.reset()
		for i := lo; i < hi; i++ {
			t.backwardQuery(g, &t.qs[i])
		}
	})
	parallel(W, N, func(w, lo, hi int) {
		g := t.wg[w]
		for j := lo; j < hi; j++ {
			t.backwardItem(g, &t.is[j])
		}
	})

	// Sum the workers' gradients in order.
	g0 := t.wg[0]
	for _, g := range t.wg[1:] {
		g0.q.add(&g.q)
		g0.i.add(&g.i)
		g0.ids.merge(g.ids)
		g0.cats.merge(g.cats)
		g0.tokens.merge(g.tokens)
		for f := range g.fields {
			g0.fields[f].merge(g.fields[f])
		}
	}
	return loss / float64(B)
}

// backwardTower propagates ∂L/∂unit (du) through L2, the MLP and the cross
// stack, leaving ∂L/∂input in dx.
func backwardTower(g *towerGrad, cross nn.Stack, mlp *nn.MLP, s *tower.Scratch, du, dh, dx, tmpx []float32, tmp [][]float32) {
	backwardL2(du, s.Unit, s.Norm)
	h := s.X
	if len(cross) > 0 {
		h = s.CrossOut[len(cross)-1]
	}
	backwardMLP(mlp, &g.mlp, h, s.Acts, du, dh, tmp)
	backwardCross(cross, &g.cross, s.X, s.CrossOut, s.CrossLin, dh, dx, tmpx)
}

func (t *trainer) backwardQuery(g *workerGrad, s *qslot) {
	q := &t.m.Query
	backwardTower(&g.q, q.Cross, &q.MLP, s.s, s.du, s.dh, s.dx, s.tmpx, s.tmp)
	H, off := q.HistoryDim, 0
	hist := s.in.History
	for _, d := range q.Decays {
		block := s.dx[off : off+H]
		for j, w := range tower.PoolWeights(s.pool, len(hist), d) {
			vec.Axpy(g.ids.row(hist[j]), w, block)
		}
		off += H
	}
	if q.Seed {
		if s.in.Seed >= 0 {
			vec.Axpy(g.ids.row(s.in.Seed), 1, s.dx[off:off+H])
		}
		off += H
	}
	for f, r := range s.in.Fields {
		d := q.Fields[f].Table.Dim
		vec.Axpy(g.fields[f].row(r), 1, s.dx[off:off+d])
		off += d
	}
}

func (t *trainer) backwardItem(g *workerGrad, s *islot) {
	it := &t.m.Item
	backwardTower(&g.i, it.Cross, &it.MLP, s.s, s.dv, s.dh, s.dx, s.tmpx, s.tmp)
	off := it.IDs.Dim
	vec.Axpy(g.ids.row(s.in.ID), 1, s.dx[:off])
	meanBackward(g.cats, s.in.Categories, s.dx[off:off+it.Categories.Dim])
	off += it.Categories.Dim
	if it.Buckets > 0 {
		meanBackward(g.tokens, s.in.Tokens, s.dx[off:off+it.Tokens.Dim])
	}
}

// meanBackward spreads the gradient of a mean of rows over the rows.
func meanBackward(g *sparseGrad, rows []int32, d []float32) {
	if len(rows) == 0 {
		return
	}
	w := 1 / float32(len(rows))
	for _, r := range rows {
		vec.Axpy(g.row(r), w, d)
	}
}

// update takes an Adam step with the gradients in t.wg[0].
func (t *trainer) update() {
	g0 := t.wg[0]
	t.step_++
	lr := t.cfg.LR
	for _, d := range t.dense {
		d.a.step(d.w, 0, d.grad(g0), lr, t.step_)
	}
	for _, s := range t.sparse {
		g := s.grad(g0)
		for i, r := range g.rows {
			s.a.step(s.t.Data, int(r)*g.dim, g.data[i*g.dim:(i+1)*g.dim], lr, t.step_)
		}
	}
}
