package train

import (
	"github.com/edgerec/edgerec/core/nn"
	"github.com/edgerec/edgerec/core/vec"
)

// The backward passes one example at a time, written from the layers'
// definitions: training runs the batched ones (netBatch), and these are
// the reference the tests hold them to (TestGradientsMatchReference,
// TestRankBatchMatchesRows); TestGradients holds the batched ones to
// finite differences.

// backwardMLP back-propagates dy, the gradient of the loss with respect to
// the MLP's output, through the layers whose forward pass left acts (see
// nn.MLP.Forward) for input x. It accumulates weight gradients into g and
// writes the gradient with respect to x into dx. dy and the buffers in tmp
// (one per layer but the last, as nn.MLP.NewActs) are overwritten.
func backwardMLP(m *nn.MLP, g *mlpGrad, x []float32, acts [][]float32, dy, dx []float32, tmp [][]float32) {
	d := dy
	for l := len(m.Layers) - 1; l >= 0; l-- {
		layer := &m.Layers[l]
		in := x
		if l > 0 {
			in = acts[l-1]
		}
		out := dx
		if l > 0 {
			out = tmp[l-1]
		}
		clear(out)
		for o := range d {
			do := d[o]
			if layer.Act == nn.ReLU && acts[l][o] <= 0 {
				continue
			}
			if do == 0 {
				continue
			}
			g.B[l][o] += do
			w := layer.W[o*layer.In : (o+1)*layer.In]
			vec.Axpy(g.W[l][o*layer.In:(o+1)*layer.In], do, in)
			vec.Axpy(out, do, w)
		}
		d = out
	}
}

// backwardCross back-propagates dy, the gradient with respect to the stack's
// output, through the layers whose forward pass (nn.Stack.Forward on x0)
// left outs and lins. It accumulates weight gradients into g and writes the
// gradient with respect to x0 into dx0. With x_{l+1} = x0 ⊙ lin_l + x_l and
// lin_l = W_l·x_l + b_l, going down from the top with g = ∂L/∂x_{l+1}:
//
//	t = g ⊙ x0;  ∂W_l += t·x_lᵀ;  ∂b_l += t;  ∂x0 += g ⊙ lin_l;  g ← g + W_lᵀ·t
//
// and finally ∂x0 += g. dy is overwritten; tmp must be len(x0) long.
func backwardCross(s nn.Stack, g *crossGrad, x0 []float32, outs, lins [][]float32, dy, dx0, tmp []float32) {
	copy(dx0, dy)
	if len(s) == 0 {
		return
	}
	clear(dx0)
	grad := dy
	for l := len(s) - 1; l >= 0; l-- {
		c := &s[l]
		xl := x0
		if l > 0 {
			xl = outs[l-1]
		}
		clear(tmp)
		for o := range grad {
			dx0[o] += grad[o] * lins[l][o]
			t := grad[o] * x0[o]
			if t == 0 {
				continue
			}
			g.B[l][o] += t
			vec.Axpy(g.W[l][o*c.Dim:(o+1)*c.Dim], t, xl)
			vec.Axpy(tmp, t, c.W[o*c.Dim:(o+1)*c.Dim])
		}
		vec.Axpy(grad, 1, tmp)
	}
	vec.Axpy(dx0, 1, grad)
}
