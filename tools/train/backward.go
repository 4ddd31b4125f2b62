package train

import (
	"github.com/edgerec/edgerec/core/nn"
	"github.com/edgerec/edgerec/core/vec"
)

// mlpGrad accumulates the gradients of an MLP's weights and biases.
type mlpGrad struct {
	W, B [][]float32
}

func newMLPGrad(m *nn.MLP) mlpGrad {
	g := mlpGrad{W: make([][]float32, len(m.Layers)), B: make([][]float32, len(m.Layers))}
	for l := range m.Layers {
		g.W[l] = make([]float32, len(m.Layers[l].W))
		g.B[l] = make([]float32, len(m.Layers[l].B))
	}
	return g
}

func (g *mlpGrad) zero() {
	for l := range g.W {
		clear(g.W[l])
		clear(g.B[l])
	}
}

// backwardL2 turns dy, the gradient with respect to y = z/‖z‖, into the
// gradient with respect to z, in place: dz = (dy − y·(y·dy)) / ‖z‖.
func backwardL2(dy, y []float32, norm float32) {
	a := vec.Dot(y, dy)
	inv := 1 / max(norm, vec.NormEpsilon)
	for i := range dy {
		dy[i] = (dy[i] - y[i]*a) * inv
	}
}

// sparseGrad accumulates gradients for the few rows of an embedding table
// that a batch touches.
type sparseGrad struct {
	dim  int
	rows []int32   // touched rows in first-touch order
	pos  []int32   // per table row: index into rows, or -1 (a slice: the lookup runs per history item, where a map's hashing showed in profiles)
	data []float32 // len(rows)·dim
}

// newSparseGrad returns an empty gradient for a table of n rows of width
// dim.
func newSparseGrad(dim, n int) *sparseGrad {
	s := &sparseGrad{dim: dim, pos: make([]int32, n)}
	for i := range s.pos {
		s.pos[i] = -1
	}
	return s
}

// row returns the gradient buffer of row r, adding a zeroed one if needed.
func (s *sparseGrad) row(r int32) []float32 {
	i := int(s.pos[r])
	if i < 0 {
		i = len(s.rows)
		s.pos[r] = int32(i)
		s.rows = append(s.rows, r)
		s.data = append(s.data, make([]float32, s.dim)...)
	}
	return s.data[i*s.dim : (i+1)*s.dim]
}

func (s *sparseGrad) reset() {
	for _, r := range s.rows {
		s.pos[r] = -1
	}
	s.rows = s.rows[:0]
	s.data = s.data[:0]
}

// merge adds o's rows into s, in o's order.
func (s *sparseGrad) merge(o *sparseGrad) {
	for i, r := range o.rows {
		vec.Axpy(s.row(r), 1, o.data[i*o.dim:(i+1)*o.dim])
	}
}

// crossGrad accumulates the gradients of a cross stack.
type crossGrad struct {
	W, B [][]float32
}

func newCrossGrad(s nn.Stack) crossGrad {
	g := crossGrad{W: make([][]float32, len(s)), B: make([][]float32, len(s))}
	for l := range s {
		g.W[l] = make([]float32, len(s[l].W))
		g.B[l] = make([]float32, len(s[l].B))
	}
	return g
}

func (g *crossGrad) zero() {
	for l := range g.W {
		clear(g.W[l])
		clear(g.B[l])
	}
}
