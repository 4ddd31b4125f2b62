package train

import (
	"github.com/edgerec/edgerec/core/nn"
	"github.com/edgerec/edgerec/core/rank"
	"github.com/edgerec/edgerec/core/vec"
)

// netBatch holds one network's activations and gradients for a batch of
// rows, each matrix row-major with one row per example (or item column):
// a tower's, whose forward pass computes what core/tower's Embed computes
// for each row (cross layers, dense layers, L2), or the ranker's, whose
// last dense layer gives each row's logit as rank.Model.Score does. Both as
// matrix products: the same numbers up to the order of float32 additions
// (TestTrainerForwardIsTowerEmbed, TestRankBatchMatchesRows).
type netBatch struct {
	cross nn.Stack
	mlp   *nn.MLP
	in    int // input width

	x        []float32   // rows × in: the input vectors
	crossOut [][]float32 // per cross layer, rows × in
	crossLin [][]float32 // per cross layer, rows × in: W·x + b
	acts     [][]float32 // per dense layer, rows × Out
	unit     []float32   // rows × dim: the unit embeddings (towers only)
	norm     []float32   // per row: ‖output‖ before normalization (towers only)

	dOut  []float32   // rows × Out: ∂L/∂unit, then ∂L/∂output (towers); ∂L/∂logit (the ranker)
	dActs [][]float32 // per dense layer but the last, rows × Out
	dh    []float32   // rows × in: ∂L/∂(MLP input)
	dx    []float32   // rows × in: ∂L/∂(input vector); nil where nothing needs it (the ranker's features)
	tmp   []float32   // rows × in: cross backward scratch
}

// newTowerBatch returns a tower's batch of rows rows for training: the
// forward buffers and the gradients backward fills.
func newTowerBatch(cross nn.Stack, mlp *nn.MLP, in, rows int) *netBatch {
	b := newForwardBatch(cross, mlp, in, rows)
	b.addBackward(rows)
	b.dx = make([]float32, rows*in)
	return b
}

// newForwardBatch returns a tower's batch of rows rows for forward passes
// only (validation): backward must not be called on it.
func newForwardBatch(cross nn.Stack, mlp *nn.MLP, in, rows int) *netBatch {
	b := newNetBatch(cross, mlp, in, rows)
	b.unit, b.norm = make([]float32, rows*mlp.Out()), make([]float32, rows)
	return b
}

// newRankBatch returns a batch of rows candidates for training the ranker
// m: rows of standardized features in x, a logit per row in the last
// layer's acts, and the gradients backwardNet fills, but none with respect
// to the features (nothing below them learns).
func newRankBatch(m *rank.Model, rows int) *netBatch {
	b := newNetBatch(m.Cross, &m.MLP, len(m.Features), rows)
	b.addBackward(rows)
	return b
}

// newNetBatch returns the forward buffers of a batch of rows rows.
func newNetBatch(cross nn.Stack, mlp *nn.MLP, in, rows int) *netBatch {
	b := &netBatch{cross: cross, mlp: mlp, in: in}
	f := func(n int) []float32 { return make([]float32, rows*n) }
	b.x = f(in)
	for range cross {
		b.crossOut = append(b.crossOut, f(in))
		b.crossLin = append(b.crossLin, f(in))
	}
	for l := range mlp.Layers {
		b.acts = append(b.acts, f(mlp.Layers[l].Out))
	}
	return b
}

// addBackward adds the gradient buffers of a batch of rows rows but dx.
func (b *netBatch) addBackward(rows int) {
	f := func(n int) []float32 { return make([]float32, rows*n) }
	b.dh, b.tmp = f(b.in), f(b.in)
	for l := range b.mlp.Layers[:len(b.mlp.Layers)-1] {
		b.dActs = append(b.dActs, f(b.mlp.Layers[l].Out))
	}
	b.dOut = f(b.mlp.Out())
}

// rows returns how many rows the batch holds.
func (b *netBatch) rows() int { return len(b.x) / b.in }

// row returns row r of a rows×w matrix m.
func row(m []float32, r, w int) []float32 { return m[r*w : (r+1)*w] }

// mlpIn returns the MLP's input matrix: the cross stack's last output, or x.
func (b *netBatch) mlpIn() []float32 {
	if len(b.cross) > 0 {
		return b.crossOut[len(b.cross)-1]
	}
	return b.x
}

// forward passes the first n rows of b.x through the layers, on W workers
// for the row-wise parts: into b.unit for a tower, into the last layer's
// acts (a logit per row) for the ranker.
func (b *netBatch) forward(n, W int) {
	D := b.in
	for l := range b.cross {
		c := &b.cross[l]
		xl := b.x
		if l > 0 {
			xl = b.crossOut[l-1]
		}
		lin, out := b.crossLin[l][:n*D], b.crossOut[l][:n*D]
		broadcast(lin, c.B, n)
		mulNT(W, lin, xl, c.W, n, D, D, 1, 1)
		for i := range out {
			out[i] = b.x[i]*lin[i] + xl[i]
		}
	}
	// Each dense layer: the product, then bias, activation and, after a
	// tower's last, L2 normalization in one pass over the rows.
	in, inW := b.mlpIn(), D
	for l := range b.mlp.Layers {
		d := &b.mlp.Layers[l]
		a := b.acts[l][:n*d.Out]
		mulNT(W, a, in, d.W, n, d.Out, inW, 1, 0)
		relu, last := d.Act == nn.ReLU, l == len(b.mlp.Layers)-1
		parallel(W, n, func(_, lo, hi int) {
			for r := lo; r < hi; r++ {
				ar := row(a, r, d.Out)
				for j, bj := range d.B {
					v := ar[j] + bj
					if relu && v < 0 {
						v = 0
					}
					ar[j] = v
				}
				if last && b.unit != nil {
					u := row(b.unit, r, d.Out)
					copy(u, ar)
					b.norm[r] = vec.L2Normalize(u)
				}
			}
		})
		in, inW = a, d.Out
	}
}

// broadcast writes bias into each of the n rows of dst.
func broadcast(dst, bias []float32, n int) {
	w := len(bias)
	for r := 0; r < n; r++ {
		copy(dst[r*w:(r+1)*w], bias)
	}
}

// backward propagates b.dOut (∂L/∂unit of the first n rows of a tower's
// batch) through L2, the dense layers and the cross stack: it adds the
// weight gradients into g and leaves ∂L/∂x in b.dx. b.dOut is overwritten.
func (b *netBatch) backward(g *netGrad, n, W int) {
	dim := b.mlp.Out()
	parallel(W, n, func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			backwardL2(row(b.dOut, r, dim), row(b.unit, r, dim), b.norm[r])
		}
	})
	b.backwardNet(g, n, W)
}

// backwardNet propagates b.dOut (∂L/∂ the last dense layer's output, first
// n rows) through the dense layers and the cross stack: it adds the weight
// gradients into g and, where b has dx, leaves ∂L/∂x there. b.dOut is
// overwritten.
func (b *netBatch) backwardNet(g *netGrad, n, W int) {
	D := b.in
	d := b.dOut[:n*b.mlp.Out()]
	for l := len(b.mlp.Layers) - 1; l >= 0; l-- {
		layer := &b.mlp.Layers[l]
		in := b.mlpIn()
		if l > 0 {
			in = b.acts[l-1]
		}
		if layer.Act == nn.ReLU {
			a, w := b.acts[l], layer.Out
			parallel(W, n, func(_, lo, hi int) {
				for i := lo * w; i < hi*w; i++ {
					if a[i] <= 0 {
						d[i] = 0
					}
				}
			})
		}
		colSum(g.mlp.B[l], d, layer.Out)
		mulTN(W, g.mlp.W[l], d, in, layer.Out, layer.In, n, 1, 1)
		if l == 0 && len(b.cross) == 0 && b.dx == nil {
			return // nothing below the first layer learns
		}
		out := b.dh[:n*D]
		if l > 0 {
			out = b.dActs[l-1][:n*layer.In]
		}
		mulNN(W, out, d, layer.W, n, layer.In, layer.Out, 1, 0)
		d = out
	}
	b.backwardCross(g, n, W)
}

// backwardCross takes b.dh (∂L/∂ of the cross stack's output) to b.dx, the
// batched form of backwardCross: with g = ∂L/∂x_{l+1}, going down,
//
//	t = g ⊙ x0;  ∂W_l += tᵀ·x_l;  ∂b_l += Σ_rows t;  ∂x0 += g ⊙ lin_l;  g ← g + t·W_l
//
// and finally ∂x0 += g. Without dx only the weight gradients are formed:
// the bottom layer's g ← g + t·W_l, a product as large as its ∂W_l, is
// then left out.
func (b *netBatch) backwardCross(g *netGrad, n, W int) {
	D := b.in
	var dx []float32
	if b.dx != nil {
		dx = b.dx[:n*D]
		if len(b.cross) == 0 {
			copy(dx, b.dh[:n*D])
			return
		}
		clear(dx)
	}
	grad, t := b.dh[:n*D], b.tmp[:n*D]
	x0 := b.x[:n*D]
	for l := len(b.cross) - 1; l >= 0; l-- {
		c := &b.cross[l]
		xl := x0
		if l > 0 {
			xl = b.crossOut[l-1][:n*D]
		}
		lin := b.crossLin[l][:n*D]
		if dx != nil {
			for i := range grad {
				dx[i] += grad[i] * lin[i]
			}
		}
		for i := range grad {
			t[i] = grad[i] * x0[i]
		}
		colSum(g.cross.B[l], t, D)
		mulTN(W, g.cross.W[l], t, xl, D, D, n, 1, 1)
		if l > 0 || dx != nil {
			mulNN(W, grad, t, c.W, n, D, D, 1, 1)
		}
	}
	if dx != nil {
		vec.Axpy(dx, 1, grad)
	}
}

// colSum adds the column sums of the rows×w matrix m to dst (len w).
func colSum(dst, m []float32, w int) {
	for r := 0; r+w <= len(m); r += w {
		vec.Axpy(dst, 1, m[r:r+w])
	}
}
