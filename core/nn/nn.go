// Package nn holds the layers the towers are made of: embedding tables and
// dense (fully connected) layers. The forward passes here are the only ones:
// the trainer in tools/train calls them and adds the backward passes, and the
// module calls them at serving time, so that both compute the same numbers.
package nn

import (
	"fmt"

	"github.com/edgerec/edgerec/core/vec"
)

// Activation is the nonlinearity applied after a dense layer.
type Activation uint8

// Activations.
const (
	Linear Activation = iota // y = x
	ReLU                     // y = max(x, 0)
)

func (a Activation) String() string {
	switch a {
	case Linear:
		return "linear"
	case ReLU:
		return "relu"
	}
	return fmt.Sprintf("Activation(%d)", uint8(a))
}

// Table is an embedding table: Rows vectors of Dim float32, row-major.
type Table struct {
	Rows int       `msgpack:"rows"`
	Dim  int       `msgpack:"dim"`
	Data []float32 `msgpack:"data"`
}

// NewTable returns a zeroed rows×dim table.
func NewTable(rows, dim int) Table {
	return Table{Rows: rows, Dim: dim, Data: make([]float32, rows*dim)}
}

// Row returns row i, aliasing the table's storage.
func (t *Table) Row(i int) []float32 { return t.Data[i*t.Dim : (i+1)*t.Dim] }

// Len returns the number of rows.
func (t *Table) Len() int { return t.Rows }

// Width returns the dimension of a row.
func (t *Table) Width() int { return t.Dim }

// AddRow computes dst += w·row(i).
func (t *Table) AddRow(dst []float32, i int, w float32) { vec.Axpy(dst, w, t.Row(i)) }

// Validate reports whether the declared shape matches the data.
func (t *Table) Validate() error {
	if t.Rows < 0 || t.Dim <= 0 || t.Rows > 1<<28 || t.Dim > 1<<14 {
		return fmt.Errorf("table shape %d×%d out of range", t.Rows, t.Dim)
	}
	if len(t.Data) != t.Rows*t.Dim {
		return fmt.Errorf("table %d×%d holds %d values, want %d", t.Rows, t.Dim, len(t.Data), t.Rows*t.Dim)
	}
	return nil
}

// Rows is a source of row vectors that can be accumulated: an nn.Table, or
// quantized rows (core/quant) in a bundle.
type Rows interface {
	Len() int
	Width() int
	// AddRow computes dst += w·row(i). It panics if i is out of range.
	AddRow(dst []float32, i int, w float32)
}

// Dense is a fully connected layer: y = act(W·x + b), W stored row-major
// with Out rows of In columns.
type Dense struct {
	In  int        `msgpack:"in"`
	Out int        `msgpack:"out"`
	W   []float32  `msgpack:"w"`
	B   []float32  `msgpack:"b"`
	Act Activation `msgpack:"act"`
}

// Forward computes dst = act(W·x + b), the reference loop being
//
//	for o := range dst { dst[o] = act(b[o] + Σ_i W[o*In+i]·x[i]) }
//
// # Notes
//
// In WebAssembly every call and load costs (../../../shared/WASM-NOTES.md):
// a call to vec.Dot per output made the ranker's small layers run 7× slower
// in wazero than natively. Forward inlines the dot product, four
// accumulators over four-element sub-slices (which lets the compiler drop
// the bounds checks); measured in wazero on 26→8 and 64→128 layers it
// takes two thirds of the time of the loop calling vec.Dot, where computing
// four outputs per pass over x (fewer loads of x, but sixteen live values)
// took 0.8× to 3× (BenchmarkDense, TestDenseMatchesReference).
//
// Forward panics if len(x) != In or len(dst) != Out.
func (d *Dense) Forward(dst, x []float32) {
	if len(x) != d.In || len(dst) != d.Out {
		panic("nn: dense shape mismatch")
	}
	affine(dst, d.W, d.B, x)
	if d.Act == ReLU {
		for o, s := range dst {
			if s < 0 {
				dst[o] = 0
			}
		}
	}
}

// affine computes dst[o] = b[o] + Σ_i w[o·len(x)+i]·x[i], the dot products
// inline (see Dense.Forward). len(w) must be at least len(dst)·len(x) and
// len(b) at least len(dst).
func affine(dst, w, b, x []float32) {
	n := len(x)
	w = w[:len(dst)*n]
	b = b[:len(dst)]
	for o := range dst {
		wo := w[o*n : o*n+n]
		var s0, s1, s2, s3 float32
		i := 0
		for ; i+4 <= n; i += 4 {
			xx := x[i : i+4 : i+4]
			ww := wo[i : i+4 : i+4]
			s0 += ww[0] * xx[0]
			s1 += ww[1] * xx[1]
			s2 += ww[2] * xx[2]
			s3 += ww[3] * xx[3]
		}
		for ; i < n; i++ {
			s0 += wo[i] * x[i]
		}
		dst[o] = b[o] + ((s0 + s1) + (s2 + s3))
	}
}

// Validate reports whether the declared shape matches the weights.
func (d *Dense) Validate() error {
	if d.In <= 0 || d.Out <= 0 || d.In > 1<<14 || d.Out > 1<<14 {
		return fmt.Errorf("dense shape %d→%d out of range", d.In, d.Out)
	}
	if len(d.W) != d.In*d.Out || len(d.B) != d.Out {
		return fmt.Errorf("dense %d→%d holds %d weights and %d biases", d.In, d.Out, len(d.W), len(d.B))
	}
	if d.Act > ReLU {
		return fmt.Errorf("unknown activation %d", d.Act)
	}
	return nil
}

// MLP is a stack of dense layers.
type MLP struct {
	Layers []Dense `msgpack:"layers"`
}

// In returns the input width.
func (m *MLP) In() int { return m.Layers[0].In }

// Out returns the output width.
func (m *MLP) Out() int { return m.Layers[len(m.Layers)-1].Out }

// NewActs allocates the activation buffers Forward needs: one per layer.
func (m *MLP) NewActs() [][]float32 {
	acts := make([][]float32, len(m.Layers))
	for l := range m.Layers {
		acts[l] = make([]float32, m.Layers[l].Out)
	}
	return acts
}

// Forward runs the layers in order on x; acts[l] receives the output of layer
// l (the trainer keeps them for the backward pass) and the last one is the
// result, which Forward returns.
//
// Forward panics if the buffers do not match the layers' shapes.
func (m *MLP) Forward(acts [][]float32, x []float32) []float32 {
	in := x
	for l := range m.Layers {
		m.Layers[l].Forward(acts[l], in)
		in = acts[l]
	}
	return in
}

// Validate checks every layer and that consecutive layers fit together.
func (m *MLP) Validate() error {
	if len(m.Layers) == 0 || len(m.Layers) > 16 {
		return fmt.Errorf("mlp has %d layers, want 1 to 16", len(m.Layers))
	}
	for l := range m.Layers {
		if err := m.Layers[l].Validate(); err != nil {
			return fmt.Errorf("layer %d: %w", l, err)
		}
		if l > 0 && m.Layers[l].In != m.Layers[l-1].Out {
			return fmt.Errorf("layer %d takes %d inputs but layer %d gives %d", l, m.Layers[l].In, l-1, m.Layers[l-1].Out)
		}
	}
	return nil
}
