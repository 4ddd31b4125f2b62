package nn

import "fmt"

// Cross is a DCN-v2 cross layer (Wang et al., "DCN V2: Improved Deep & Cross
// Network", WWW 2021): y = x0 ⊙ (W·x + b) + x, with W Dim×Dim row-major, x0
// the input of the first cross layer and x this layer's input. It models
// feature interactions explicitly before the dense layers.
type Cross struct {
	Dim int       `msgpack:"dim"`
	W   []float32 `msgpack:"w"`
	B   []float32 `msgpack:"b"`
}

// Forward computes dst = x0 ⊙ (W·x + b) + x and leaves W·x + b in lin (the
// trainer's reference backward pass reads it). The reference loop is
//
//	for o := range dst { dst[o] = x0[o]*(b[o] + Σ_i W[o*Dim+i]·x[i]) + x[o] }
//
// Forward panics if a slice is not Dim long. dst may not alias x or x0.
func (c *Cross) Forward(dst, lin, x0, x []float32) {
	if len(dst) != c.Dim || len(lin) != c.Dim || len(x0) != c.Dim || len(x) != c.Dim {
		panic("nn: cross shape mismatch")
	}
	affine(lin, c.W, c.B, x)
	for o, l := range lin {
		dst[o] = x0[o]*l + x[o]
	}
}

// Validate reports whether the declared shape matches the weights.
func (c *Cross) Validate() error {
	if c.Dim <= 0 || c.Dim > 1<<12 {
		return fmt.Errorf("cross width %d out of range", c.Dim)
	}
	if len(c.W) != c.Dim*c.Dim || len(c.B) != c.Dim {
		return fmt.Errorf("cross %d holds %d weights and %d biases", c.Dim, len(c.W), len(c.B))
	}
	return nil
}

// Stack is a sequence of cross layers sharing the input x0.
type Stack []Cross

// NewBuffers allocates the outputs and linear parts Forward needs.
func (s Stack) NewBuffers(dim int) (outs, lins [][]float32) {
	for range s {
		outs = append(outs, make([]float32, dim))
		lins = append(lins, make([]float32, dim))
	}
	return outs, lins
}

// Forward runs the layers on x0 and returns the last output (x0 itself when
// the stack is empty).
func (s Stack) Forward(outs, lins [][]float32, x0 []float32) []float32 {
	x := x0
	for l := range s {
		s[l].Forward(outs[l], lins[l], x0, x)
		x = outs[l]
	}
	return x
}
