// Package train fits the two towers of core/tower on an interaction log.
//
// Each interaction (u, i) at position p of u's history is an example: the
// query is u's features and the items before p (the last MaxHistory), the
// positive is i. A batch of B examples is scored all against all, S = U·Vᵀ/τ
// with U, V the unit query and item embeddings, and the loss is the softmax
// cross-entropy of each row against its own item, the other B−1 items being
// in-batch negatives (Yi et al., "Sampling-Bias-Corrected Neural Modeling
// for Large Corpus Item Recommendations", RecSys 2019). With LogQ, each
// logit is corrected by −log q(item), q the item's share of the examples,
// so that popular items are not over-penalized as negatives (the same
// paper's sampling-bias correction). Another row whose
// positive is the same item is masked out of the row's softmax (an
// accidental hit). Adam updates the weights; the touched rows of the
// embedding tables only.
//
// The forward passes are core/tower's; this package adds the backward passes.
// Work is split over Workers goroutines by batch rows; the gradient sums run
// in a fixed order, so a run is reproducible for a given Seed and Workers.
package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/edgerec/edgerec/core/feature"
	"github.com/edgerec/edgerec/core/nn"
	"github.com/edgerec/edgerec/core/tower"
	"github.com/edgerec/edgerec/core/vec"
	"github.com/edgerec/edgerec/tools/dataset"
	"github.com/edgerec/edgerec/tools/model"
)

// Progress reports training progress.
type Progress struct {
	Epoch, Epochs int
	Done, Total   int     // examples of this epoch
	Loss          float64 // mean loss over this epoch so far
	PerSecond     float64 // examples per second over this epoch so far
	EpochDone     bool
}

// Train fits a model on every interaction in ds. progress, if not nil, is
// called about once a second and at the end of every epoch.
func Train(ds *dataset.Dataset, cfg Config, progress func(Progress)) (*model.Model, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	c, err := newCorpus(ds)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6564676572656321))
	m := initModel(c, &cfg, rng)
	t := newTrainer(m, c, &cfg)

	var loss float64
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		ex := c.epoch(rng, cfg.MaxPerUser)
		start, last := time.Now(), time.Now()
		var sum float64
		var n int
		for lo := 0; lo+cfg.Batch <= len(ex) || (lo < len(ex) && lo == 0); lo += cfg.Batch {
			hi := min(lo+cfg.Batch, len(ex))
			if hi-lo < 2 {
				break
			}
			sum += t.step(ex[lo:hi]) * float64(hi-lo)
			n += hi - lo
			if progress != nil && time.Since(last) > time.Second {
				last = time.Now()
				progress(Progress{Epoch: epoch, Epochs: cfg.Epochs, Done: n, Total: len(ex), Loss: sum / float64(n),
					PerSecond: float64(n) / time.Since(start).Seconds()})
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("train: %d examples, fewer than 2: nothing to contrast", len(ex))
		}
		loss = sum / float64(n)
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return nil, fmt.Errorf("train: loss diverged to %v in epoch %d; lower --lr", loss, epoch)
		}
		if progress != nil {
			progress(Progress{Epoch: epoch, Epochs: cfg.Epochs, Done: n, Total: len(ex), Loss: loss,
				PerSecond: float64(n) / time.Since(start).Seconds(), EpochDone: true})
		}
	}
	m.Manifest = model.Manifest{
		Format: model.Format, Version: model.Version, Name: "twotower", TrainedAt: c.lastTime, Data: ds.Name,
		Dim: cfg.Dim, HistoryDim: cfg.IDDim, Temperature: cfg.Temperature, Items: m.Vocab.Items.Size() - 1,
		Examples: len(c.examples), Epochs: cfg.Epochs, FinalLoss: loss, Config: cfg,
	}
	return m, nil
}

// initModel creates the towers with Glorot-uniform dense layers (Glorot &
// Bengio, AISTATS 2010) and N(0, 0.1²) embeddings; the unknown rows start
// at zero.
func initModel(c *corpus, cfg *Config, rng *rand.Rand) *model.Model {
	table := func(rows, dim int) nn.Table {
		t := nn.NewTable(rows, dim)
		for i := dim; i < len(t.Data); i++ {
			t.Data[i] = float32(rng.NormFloat64() * 0.1)
		}
		return t
	}
	mlp := func(in int) nn.MLP {
		var m nn.MLP
		widths := append(append([]int{in}, cfg.Hidden...), cfg.Dim)
		for l := 0; l+1 < len(widths); l++ {
			d := nn.Dense{In: widths[l], Out: widths[l+1], W: make([]float32, widths[l]*widths[l+1]),
				B: make([]float32, widths[l+1]), Act: nn.ReLU}
			if l+2 == len(widths) {
				d.Act = nn.Linear
			}
			lim := math.Sqrt(6 / float64(d.In+d.Out))
			for i := range d.W {
				d.W[i] = float32((rng.Float64()*2 - 1) * lim)
			}
			m.Layers = append(m.Layers, d)
		}
		return m
	}
	v := c.vocab
	m := &model.Model{Vocab: v}
	m.Item = tower.Item{IDs: table(v.Items.Size(), cfg.IDDim), Categories: table(v.Categories.Size(), cfg.CategoryDim)}
	m.Item.MLP = mlp(m.Item.InputDim())
	m.Query = tower.Query{HistoryDim: cfg.IDDim, Fields: []nn.Table{
		table(v.Region.Size(), cfg.FieldDim), table(v.Device.Size(), cfg.FieldDim),
		table(v.Gender.Size(), cfg.FieldDim), table(feature.AgeBuckets, cfg.FieldDim),
	}}
	m.Query.MLP = mlp(m.Query.InputDim())
	return m
}

// slot holds one batch row's activations and gradients.
type slot struct {
	qin tower.QueryInput
	iin tower.ItemInput
	xq  []float32   // query MLP input
	aq  [][]float32 // query MLP activations
	nq  float32     // query norm before L2
	u   []float32   // unit query embedding
	xi  []float32
	ai  [][]float32
	ni  float32
	v   []float32
	du  []float32 // dLoss/du, then dLoss/dz
	dv  []float32
	dxq []float32 // dLoss/dxq
	dxi []float32
	tq  [][]float32 // backward scratch
	ti  [][]float32
	p   []float32 // softmax row
}

// workerGrad holds one worker's gradient sums.
type workerGrad struct {
	q, i   mlpGrad
	ids    *sparseGrad
	cats   *sparseGrad
	fields []*sparseGrad
	loss   float64
}

type trainer struct {
	m     *model.Model
	c     *corpus
	cfg   *Config
	slots []slot
	wg    []*workerGrad
	t     int // Adam step

	// logQ[item] is log of the item's share of training examples, subtracted
	// from its logits when Config.LogQ is set (all zero otherwise).
	logQ []float32

	// Adam state per tensor.
	qW, qB, iW, iB []*adam
	ids, cats      *adam
	fields         []*adam
}

func newTrainer(m *model.Model, c *corpus, cfg *Config) *trainer {
	t := &trainer{m: m, c: c, cfg: cfg, slots: make([]slot, cfg.Batch)}
	t.logQ = make([]float32, m.Vocab.Items.Size())
	if cfg.LogQ {
		counts := make([]int, len(t.logQ))
		for _, e := range c.examples {
			counts[c.target(e)]++
		}
		for i, n := range counts {
			if n > 0 {
				t.logQ[i] = float32(math.Log(float64(n) / float64(len(c.examples))))
			}
		}
	}
	for i := range t.slots {
		s := &t.slots[i]
		s.xq = make([]float32, m.Query.InputDim())
		s.aq = m.Query.MLP.NewActs()
		s.u = make([]float32, cfg.Dim)
		s.xi = make([]float32, m.Item.InputDim())
		s.ai = m.Item.MLP.NewActs()
		s.v = make([]float32, cfg.Dim)
		s.du = make([]float32, cfg.Dim)
		s.dv = make([]float32, cfg.Dim)
		s.dxq = make([]float32, len(s.xq))
		s.dxi = make([]float32, len(s.xi))
		s.tq = m.Query.MLP.NewActs()
		s.ti = m.Item.MLP.NewActs()
		s.p = make([]float32, cfg.Batch)
		s.qin.Fields = make([]int32, len(tower.UserFields))
	}
	for w := 0; w < cfg.Workers; w++ {
		g := &workerGrad{q: newMLPGrad(&m.Query.MLP), i: newMLPGrad(&m.Item.MLP),
			ids: newSparseGrad(cfg.IDDim), cats: newSparseGrad(cfg.CategoryDim)}
		for f := range m.Query.Fields {
			g.fields = append(g.fields, newSparseGrad(m.Query.Fields[f].Dim))
		}
		t.wg = append(t.wg, g)
	}
	for l := range m.Query.MLP.Layers {
		t.qW = append(t.qW, newAdam(len(m.Query.MLP.Layers[l].W)))
		t.qB = append(t.qB, newAdam(len(m.Query.MLP.Layers[l].B)))
	}
	for l := range m.Item.MLP.Layers {
		t.iW = append(t.iW, newAdam(len(m.Item.MLP.Layers[l].W)))
		t.iB = append(t.iB, newAdam(len(m.Item.MLP.Layers[l].B)))
	}
	t.ids = newAdam(len(m.Item.IDs.Data))
	t.cats = newAdam(len(m.Item.Categories.Data))
	for f := range m.Query.Fields {
		t.fields = append(t.fields, newAdam(len(m.Query.Fields[f].Data)))
	}
	return t
}

// parallel runs fn(w, lo, hi) for each worker's share of [0, n).
func (t *trainer) parallel(n int, fn func(w, lo, hi int)) {
	var wg sync.WaitGroup
	W := len(t.wg)
	for w := 0; w < W; w++ {
		lo, hi := w*n/W, (w+1)*n/W
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(w, lo, hi)
		}()
	}
	wg.Wait()
}

// step trains on one batch and returns its mean loss.
func (t *trainer) step(batch []example) float64 {
	loss := t.gradients(batch)
	t.update()
	return loss
}

// gradients runs the forward and backward passes on batch, leaves the summed
// gradients in t.wg[0] and returns the mean loss.
func (t *trainer) gradients(batch []example) float64 {
	B := len(batch)
	q, it := &t.m.Query, &t.m.Item
	invTau := 1 / t.cfg.Temperature
	targets := make([]int32, B)
	for i, e := range batch {
		targets[i] = t.c.target(e)
	}

	// Forward both towers.
	t.parallel(B, func(w, lo, hi int) {
		for i := lo; i < hi; i++ {
			s, e := &t.slots[i], batch[i]
			s.qin.History = t.c.history(e, t.cfg.MaxHistory)
			copy(s.qin.Fields, t.c.fields[e.user])
			q.Input(s.xq, &it.IDs, s.qin)
			copy(s.u, q.MLP.Forward(s.aq, s.xq))
			s.nq = vec.L2Normalize(s.u)
			s.iin = tower.ItemInput{ID: targets[i], Categories: t.c.itemCats[targets[i]]}
			it.Input(s.xi, s.iin)
			copy(s.v, it.MLP.Forward(s.ai, s.xi))
			s.ni = vec.L2Normalize(s.v)
		}
	})

	// Softmax over in-batch negatives, row by row; dS = (P − I)/B.
	t.parallel(B, func(w, lo, hi int) {
		g := t.wg[w]
		g.loss = 0
		for i := lo; i < hi; i++ {
			s := &t.slots[i]
			p := s.p[:B]
			mx := float32(math.Inf(-1))
			for j := 0; j < B; j++ {
				if j != i && targets[j] == targets[i] {
					p[j] = float32(math.Inf(-1)) // accidental hit
					continue
				}
				p[j] = vec.Dot(s.u, t.slots[j].v)*invTau - t.logQ[targets[j]]
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
					vec.Axpy(s.du, p[j]*invTau, t.slots[j].v)
				}
			}
		}
	})
	var loss float64
	for _, g := range t.wg {
		loss += g.loss
	}
	t.parallel(B, func(w, lo, hi int) {
		for j := lo; j < hi; j++ {
			dv := t.slots[j].dv
			clear(dv)
			for i := 0; i < B; i++ {
				if d := t.slots[i].p[j]; d != 0 {
					vec.Axpy(dv, d*invTau, t.slots[i].u)
				}
			}
		}
	})

	// Backward through both towers into per-worker gradients.
	t.parallel(B, func(w, lo, hi int) {
		g := t.wg[w]
		g.q.zero()
		g.i.zero()
		g.ids.reset()
		g.cats.reset()
		for _, f := range g.fields {
			f.reset()
		}
		for i := lo; i < hi; i++ {
			s := &t.slots[i]
			backwardL2(s.du, s.u, s.nq)
			backwardMLP(&q.MLP, &g.q, s.xq, s.aq, s.du, s.dxq, s.tq)
			if n := len(s.qin.History); n > 0 {
				dh := s.dxq[:q.HistoryDim]
				wgt := 1 / float32(n)
				for _, r := range s.qin.History {
					vec.Axpy(g.ids.row(r), wgt, dh)
				}
			}
			off := q.HistoryDim
			for f, r := range s.qin.Fields {
				d := q.Fields[f].Dim
				vec.Axpy(g.fields[f].row(r), 1, s.dxq[off:off+d])
				off += d
			}

			backwardL2(s.dv, s.v, s.ni)
			backwardMLP(&it.MLP, &g.i, s.xi, s.ai, s.dv, s.dxi, s.ti)
			vec.Axpy(g.ids.row(s.iin.ID), 1, s.dxi[:it.IDs.Dim])
			if n := len(s.iin.Categories); n > 0 {
				wgt := 1 / float32(n)
				for _, r := range s.iin.Categories {
					vec.Axpy(g.cats.row(r), wgt, s.dxi[it.IDs.Dim:])
				}
			}
		}
	})

	// Sum the workers' gradients in order and take an Adam step.
	g0 := t.wg[0]
	for _, g := range t.wg[1:] {
		g0.q.add(&g.q)
		g0.i.add(&g.i)
		g0.ids.merge(g.ids)
		g0.cats.merge(g.cats)
		for f := range g.fields {
			g0.fields[f].merge(g.fields[f])
		}
	}
	return loss / float64(B)
}

// update takes an Adam step with the gradients in t.wg[0].
func (t *trainer) update() {
	q, it, g0 := &t.m.Query, &t.m.Item, t.wg[0]
	t.t++
	lr := t.cfg.LR
	for l := range q.MLP.Layers {
		t.qW[l].step(q.MLP.Layers[l].W, 0, g0.q.W[l], lr, t.t)
		t.qB[l].step(q.MLP.Layers[l].B, 0, g0.q.B[l], lr, t.t)
	}
	for l := range it.MLP.Layers {
		t.iW[l].step(it.MLP.Layers[l].W, 0, g0.i.W[l], lr, t.t)
		t.iB[l].step(it.MLP.Layers[l].B, 0, g0.i.B[l], lr, t.t)
	}
	applySparse(t.ids, it.IDs.Data, g0.ids, lr, t.t, true)
	applySparse(t.cats, it.Categories.Data, g0.cats, lr, t.t, true)
	for f := range q.Fields {
		applySparse(t.fields[f], q.Fields[f].Data, g0.fields[f], lr, t.t, false)
	}
}

// applySparse takes an Adam step on the rows g touched; the unknown row 0
// stays fixed at zero when keepUnknown is set.
func applySparse(a *adam, w []float32, g *sparseGrad, lr float32, t int, keepUnknown bool) {
	for i, r := range g.rows {
		if keepUnknown && r == 0 {
			continue
		}
		a.step(w, int(r)*g.dim, g.data[i*g.dim:(i+1)*g.dim], lr, t)
	}
}
