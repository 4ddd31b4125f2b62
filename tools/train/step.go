package train

import (
	"math"
	"math/rand/v2"

	"github.com/edgerec/edgerec/core/nn"
	"github.com/edgerec/edgerec/core/tower"
	"github.com/edgerec/edgerec/core/vec"
	"github.com/edgerec/edgerec/tools/model"
)

// netGrad accumulates one network's dense gradients (a tower's or the ranker's).
type netGrad struct {
	cross crossGrad
	mlp   mlpGrad
}

func (g *netGrad) zero() { g.cross.zero(); g.mlp.zero() }

// workerGrad holds gradient sums: the dense ones of both towers (used in
// wg[0] only: the matrix products sum over the whole batch) and one
// worker's share of the sparse embedding rows.
type workerGrad struct {
	q, i              netGrad
	ids, cats, tokens *sparseGrad
	fields            []*sparseGrad
	loss              float64
}

// newWorkerGrad returns zeroed gradient sums shaped for m's towers.
func newWorkerGrad(m *model.Model) *workerGrad {
	q, it := &m.Query, &m.Item
	g := &workerGrad{
		q:   netGrad{cross: newCrossGrad(q.Cross), mlp: newMLPGrad(&q.MLP)},
		i:   netGrad{cross: newCrossGrad(it.Cross), mlp: newMLPGrad(&it.MLP)},
		ids: newSparseGrad(it.IDs.Dim, it.IDs.Rows), cats: newSparseGrad(it.Categories.Dim, it.Categories.Rows),
		tokens: newSparseGrad(max(it.Tokens.Dim, 1), it.Tokens.Rows),
	}
	for f := range q.Fields {
		g.fields = append(g.fields, newSparseGrad(q.Fields[f].Table.Dim, q.Fields[f].Table.Rows))
	}
	return g
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

// trainer runs the training steps of one model. A batch of B examples is
// B query rows scored against N item columns: the B positives and the
// uniform negatives (sampled softmax), or every item of the catalog (full
// softmax, Config.FullSoftmax).
type trainer struct {
	m    *model.Model
	c    *corpus
	cfg  *Config
	full bool // full softmax: the columns are the whole catalog

	// The prepared batch.
	qin    []tower.QueryInput // per row
	target []int32            // per row: the positive item row
	pos    []int32            // per row: the column of its positive
	cols   []int32            // per column: the item row (the id, before dropout)
	iin    []tower.ItemInput  // per column
	drop   []bool             // per column: its id hidden (IDDropout)

	qb, ib *netBatch
	logits []float32   // B × N: the logits, then dS = ∂L/∂S
	pool   [][]float32 // per worker: pooling weights, MaxHistory per decay

	wg      []*workerGrad
	logQ    []float32 // per item row: log q(item), or 0 without LogQ
	colLogQ []float32 // per column of the batch: logQ of its item
	step_   int       // Adam step count
	segs    []segment // update's work list, kept for its capacity
	dense   []dense
	sparse  []sparse
}

// columns returns the number of item columns per batch of B rows.
func (t *trainer) columns(B int) int {
	if t.full {
		return len(t.c.items) - 1
	}
	return B + t.cfg.Negatives
}

func newTrainer(m *model.Model, c *corpus, cfg *Config, ex []example) *trainer {
	t := &trainer{m: m, c: c, cfg: cfg, full: cfg.FullSoftmax > 0 && len(c.items)-1 <= cfg.FullSoftmax}
	q, it := &m.Query, &m.Item
	B := cfg.Batch
	N := t.columns(B)
	t.qin, t.target, t.pos = make([]tower.QueryInput, B), make([]int32, B), make([]int32, B)
	t.cols, t.iin, t.drop = make([]int32, N), make([]tower.ItemInput, N), make([]bool, N)
	t.qb = newTowerBatch(q.Cross, &q.MLP, q.InputDim(), B)
	t.ib = newTowerBatch(it.Cross, &it.MLP, it.InputDim(), N)
	t.logits = make([]float32, B*N)
	t.colLogQ = make([]float32, N)
	for w := 0; w < cfg.workers(); w++ {
		t.wg = append(t.wg, newWorkerGrad(m))
		t.pool = append(t.pool, make([]float32, len(cfg.Decays)*cfg.MaxHistory))
	}

	// log q(item) for the mixture of in-batch positives and uniform draws.
	// The full softmax scores every item once: nothing to correct.
	t.logQ = make([]float32, len(c.items))
	if cfg.LogQ && !t.full {
		counts := make([]int, len(c.items))
		for _, e := range ex {
			counts[c.target(e)]++
		}
		nItems := float64(len(c.items) - 1)
		inBatch := float64(cfg.Batch) / float64(N)
		for r := 1; r < len(counts); r++ {
			qr := inBatch*float64(counts[r])/float64(len(ex)) + (1-inBatch)/nItems
			t.logQ[r] = cfg.LogQScale * float32(math.Log(qr))
		}
	}

	// The parameter registry for Adam.
	addTower := func(cross nn.Stack, mlp *nn.MLP, g func(*workerGrad) *netGrad) {
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
	addTower(q.Cross, &q.MLP, func(w *workerGrad) *netGrad { return &w.q })
	addTower(it.Cross, &it.MLP, func(w *workerGrad) *netGrad { return &w.i })
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

// step trains on one batch with step size lr and returns its mean loss.
func (t *trainer) step(batch []example, rng *rand.Rand, lr float32) float64 {
	t.prepare(batch, rng)
	loss := t.gradients(len(batch))
	t.update(lr)
	return loss
}

// prepare fills the batch: queries, their positives and the item columns,
// with the negatives and the id dropout drawn here, in order, for
// reproducibility; the inputs are then built on the workers.
func (t *trainer) prepare(batch []example, rng *rand.Rand) {
	c, cfg := t.c, t.cfg
	q, it := &t.m.Query, &t.m.Item
	B, N := len(batch), t.columns(len(batch))
	for i, e := range batch {
		t.target[i] = c.target(e)
	}
	// Column j's item, the example whose time it takes, and its dropout.
	when := func(j int) example { return batch[j%B] }
	if t.full {
		// Every item once, each at the time of one of the batch's examples.
		for j := range N {
			t.cols[j] = int32(j + 1)
			t.drop[j] = rng.Float32() < cfg.IDDropout
		}
		for i := range batch {
			t.pos[i] = t.target[i] - 1
		}
	} else {
		for i := range batch {
			t.pos[i] = int32(i)
			t.cols[i] = t.target[i]
			t.drop[i] = rng.Float32() < cfg.IDDropout
		}
		nItems := len(c.items) - 1
		for j := B; j < N; j++ {
			t.cols[j] = int32(1 + rng.IntN(nItems))
			t.drop[j] = rng.Float32() < cfg.IDDropout
		}
		when = func(j int) example {
			if j < B {
				return batch[j]
			}
			return batch[(j-B)%B]
		}
	}
	W := len(t.wg)
	parallel(W, B, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			e := batch[i]
			ctx := c.context(e)
			t.qin[i] = q.Prepare(&ctx, c.history(e, cfg.MaxHistory), -1)
		}
	})
	parallel(W, N, func(_, lo, hi int) {
		for j := lo; j < hi; j++ {
			t.iin[j] = c.itemInput(it, t.cols[j], c.time(when(j)), t.drop[j])
		}
	})
}

// gradients runs the forward and backward passes on the prepared batch of B
// rows, leaves the summed gradients in t.wg[0] and returns the mean loss.
//
// With U the B×d query and V the N×d item unit embeddings, the logits are
// S = U·Vᵀ/τ − log q (masked where a negative column holds the row's own
// positive), the loss is the mean over rows of softmax cross-entropy
// against the row's positive column, and with P the row softmax and Y the
// one-hot positives, dS = (P − Y)/B, dU = dS·V/τ and dV = dSᵀ·U/τ.
func (t *trainer) gradients(B int) float64 {
	q, it, cfg := &t.m.Query, &t.m.Item, t.cfg
	N := t.columns(B)
	W := len(t.wg)
	d := cfg.Dim
	invTau := 1 / cfg.Temperature

	// Inputs, then both towers forward.
	inQ, inI := t.qb.in, t.ib.in
	parallel(W, B, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			q.Input(row(t.qb.x, i, inQ), &it.IDs, t.qin[i])
		}
	})
	parallel(W, N, func(_, lo, hi int) {
		for j := lo; j < hi; j++ {
			it.Input(row(t.ib.x, j, inI), t.iin[j])
		}
	})
	t.qb.forward(B, W)
	t.ib.forward(N, W)

	// Softmax of each row over the N columns; dS = (P − Y)/B.
	S := t.logits[:B*N]
	mulNT(W, S, t.qb.unit, t.ib.unit, B, N, d, invTau, 0)
	cols, colLogQ := t.cols[:N], t.colLogQ[:N]
	for j, r := range cols {
		colLogQ[j] = t.logQ[r]
	}
	hitMask := cfg.HitMask
	parallel(W, B, func(w, lo, hi int) {
		g := t.wg[w]
		g.loss = 0
		for i := lo; i < hi; i++ {
			p := row(S, i, N)
			pos, target := int(t.pos[i]), t.target[i]
			mx := float32(math.Inf(-1))
			for j, r := range cols {
				if r == target && hitMask && j != pos {
					p[j] = float32(math.Inf(-1))
					continue
				}
				v := p[j] - colLogQ[j]
				p[j] = v
				mx = max(mx, v)
			}
			sPos := float64(p[pos] - mx)
			var z float64
			for j, s := range p {
				e := math.Exp(float64(s - mx))
				p[j] = float32(e)
				z += e
			}
			g.loss += math.Log(z) - sPos
			scale := float32(1 / (z * float64(B)))
			for j := range p {
				p[j] *= scale
			}
			p[pos] -= 1 / float32(B)
		}
	})
	var loss float64
	for _, g := range t.wg {
		loss += g.loss
	}
	mulNN(W, t.qb.dOut, S, t.ib.unit, B, d, N, invTau, 0)
	mulTN(W, t.ib.dOut, S, t.qb.unit, N, d, B, invTau, 0)

	// Backward through both towers.
	for _, g := range t.wg {
		g.reset()
	}
	g0 := t.wg[0]
	t.qb.backward(&g0.q, B, W)
	t.ib.backward(&g0.i, N, W)

	// Scatter ∂L/∂input into the embedding rows, per worker, then sum the
	// workers' rows in order.
	parallel(W, B, func(w, lo, hi int) {
		for i := lo; i < hi; i++ {
			t.backwardQuery(t.wg[w], t.pool[w], t.qin[i], row(t.qb.dx, i, inQ))
		}
	})
	parallel(W, N, func(w, lo, hi int) {
		for j := lo; j < hi; j++ {
			t.backwardItem(t.wg[w], t.iin[j], row(t.ib.dx, j, inI))
		}
	})
	for _, g := range t.wg[1:] {
		g0.ids.merge(g.ids)
		g0.cats.merge(g.cats)
		g0.tokens.merge(g.tokens)
		for f := range g.fields {
			g0.fields[f].merge(g.fields[f])
		}
	}
	return loss / float64(B)
}

// backwardQuery adds the gradient dx of one query's input vector to the
// embedding rows it was built from: the pooled history rows, the seed row
// and the field rows. pool holds MaxHistory weights per decay. Each history
// row is looked up once for all decays; a row's additions keep their order
// (decays in order, then the seed).
func (t *trainer) backwardQuery(g *workerGrad, pool []float32, in tower.QueryInput, dx []float32) {
	q := &t.m.Query
	H, D := q.HistoryDim, len(q.Decays)
	hist := in.History
	n := len(hist)
	for k, d := range q.Decays {
		tower.PoolWeights(pool[k*n:(k+1)*n], n, d)
	}
	for j, r := range hist {
		gr := g.ids.row(r)
		for k := range D {
			vec.Axpy(gr, pool[k*n+j], dx[k*H:(k+1)*H])
		}
	}
	off := D * H
	if q.Seed {
		if in.Seed >= 0 {
			vec.Axpy(g.ids.row(in.Seed), 1, dx[off:off+H])
		}
		off += H
	}
	for f, r := range in.Fields {
		d := q.Fields[f].Table.Dim
		vec.Axpy(g.fields[f].row(r), 1, dx[off:off+d])
		off += d
	}
}

// backwardItem adds the gradient dx of one item's input vector to its id,
// category and token rows.
func (t *trainer) backwardItem(g *workerGrad, in tower.ItemInput, dx []float32) {
	it := &t.m.Item
	off := it.IDs.Dim
	vec.Axpy(g.ids.row(in.ID), 1, dx[:off])
	meanBackward(g.cats, in.Categories, dx[off:off+it.Categories.Dim])
	off += it.Categories.Dim
	if it.Buckets > 0 {
		meanBackward(g.tokens, in.Tokens, dx[off:off+it.Tokens.Dim])
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

// update takes an Adam step of size lr with the gradients in t.wg[0]. Each
// element's update depends on nothing else, so the tensors and the touched
// embedding rows are split over the workers by element count.
func (t *trainer) update(lr float32) {
	g0 := t.wg[0]
	t.step_++
	alpha, decay := adamScale(lr, t.cfg.WeightDecay, t.step_)
	segs, total := t.segs[:0], 0
	for _, d := range t.dense {
		g := d.grad(g0)
		segs = append(segs, segment{w: d.w, a: d.a, g: g})
		total += len(g)
	}
	for _, s := range t.sparse {
		g := s.grad(g0)
		for i, r := range g.rows {
			segs = append(segs, segment{w: s.t.Data, a: s.a, lo: int(r) * g.dim, g: g.data[i*g.dim : (i+1)*g.dim]})
		}
		total += len(g.data)
	}
	t.segs = segs
	W := len(t.wg)
	// Worker w takes the segments that start in its share of the elements.
	parallel(W, total, func(_, lo, hi int) {
		at := 0
		for _, s := range segs {
			if at >= lo && at < hi {
				s.a.apply(s.w, s.lo, s.g, alpha, decay)
			}
			at += len(s.g)
		}
	})
}

// segment is one stretch of parameters for update: w[lo:lo+len(g)] with
// its Adam state and gradient g.
type segment struct {
	w  []float32
	a  *adam
	lo int
	g  []float32
}
