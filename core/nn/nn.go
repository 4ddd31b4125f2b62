// Package nn holds the layers the towers and the ranker are made of:
// embedding tables, dense (fully connected) and cross layers. The forward
// passes here are the ones the module serves with and the bundle builder
// embeds with; the trainer in tools/train runs the same arithmetic as
// matrix products over a batch (held to these within float32 rounding) and
// adds the backward passes.
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
// The work is in affine, written for Go's WebAssembly backend (see there).
//
// Forward panics if len(x) != In or len(dst) != Out. dst may not alias x.
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

// affine computes dst[o] = b[o] + Σ_i w[o·len(x)+i]·x[i]. len(w) must be at
// least len(dst)·len(x) and len(b) at least len(dst); dst may not alias x
// (it is written before x is read).
//
// # Notes
//
// In WebAssembly every load costs an address computation and a bounds check
// in the runtime, and every loop iteration a jump through the function's
// dispatch table (../../../shared/WASM-NOTES.md). So affine goes through x
// in blocks of sixteen (then eight, two, one) held in local variables, and
// for each block makes one pass over the outputs, each a sum of sixteen
// products over a fixed-size array of weights (no bounds checks inside):
// one memory load per multiply-add instead of two. On the trained ranker's
// layers this halves the time of a dot product per output in wazero
// (BenchmarkDense; core/quant/MEASUREMENTS.md). Padding the weights to
// sixteen columns gained little more in a prototype, and two outputs per
// pass nothing.
func affine(dst, w, b, x []float32) {
	n := len(x)
	w = w[:len(dst)*n]
	copy(dst, b[:len(dst)])
	i := 0
	for ; i+16 <= n; i += 16 {
		xx := (*[16]float32)(x[i:])
		x0, x1, x2, x3, x4, x5, x6, x7 := xx[0], xx[1], xx[2], xx[3], xx[4], xx[5], xx[6], xx[7]
		x8, x9, x10, x11, x12, x13, x14, x15 := xx[8], xx[9], xx[10], xx[11], xx[12], xx[13], xx[14], xx[15]
		for o := range dst {
			ww := (*[16]float32)(w[o*n+i:])
			dst[o] += (((ww[0]*x0 + ww[1]*x1) + (ww[2]*x2 + ww[3]*x3)) + ((ww[4]*x4 + ww[5]*x5) + (ww[6]*x6 + ww[7]*x7))) +
				(((ww[8]*x8 + ww[9]*x9) + (ww[10]*x10 + ww[11]*x11)) + ((ww[12]*x12 + ww[13]*x13) + (ww[14]*x14 + ww[15]*x15)))
		}
	}
	if i+8 <= n {
		xx := (*[8]float32)(x[i:])
		x0, x1, x2, x3, x4, x5, x6, x7 := xx[0], xx[1], xx[2], xx[3], xx[4], xx[5], xx[6], xx[7]
		for o := range dst {
			ww := (*[8]float32)(w[o*n+i:])
			dst[o] += ((ww[0]*x0 + ww[1]*x1) + (ww[2]*x2 + ww[3]*x3)) + ((ww[4]*x4 + ww[5]*x5) + (ww[6]*x6 + ww[7]*x7))
		}
		i += 8
	}
	for ; i+2 <= n; i += 2 {
		xx := (*[2]float32)(x[i:])
		x0, x1 := xx[0], xx[1]
		for o := range dst {
			ww := (*[2]float32)(w[o*n+i:])
			dst[o] += ww[0]*x0 + ww[1]*x1
		}
	}
	if i < n {
		x0 := x[i]
		for o := range dst {
			dst[o] += w[o*n+i] * x0
		}
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
// l (the trainer's reference backward passes read them) and the last one is the
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
