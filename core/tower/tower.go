// Package tower holds the two towers of the retrieval model: the query tower
// embeds a user in context, the item tower embeds an item, and the dot
// product of the two unit vectors scores the pair.
//
// Query tower: mean of the history items' id embeddings (the item tower's id
// table, shared) ‖ one embedding per categorical user field → MLP → L2.
// Item tower: item id embedding ‖ mean of its category embeddings → MLP → L2.
//
// The forward passes here serve both the trainer and the module.
package tower

import (
	"fmt"

	"github.com/edgerec/edgerec/core/nn"
	"github.com/edgerec/edgerec/core/vec"
)

// UserFields names the query tower's categorical fields, in input order.
var UserFields = []string{"region", "device", "gender", "age"}

// Query is the query tower.
type Query struct {
	// HistoryDim is the width of the shared item-id embeddings.
	HistoryDim int `msgpack:"history_dim"`
	// Fields holds one embedding table per entry of UserFields.
	Fields []nn.Table `msgpack:"fields"`
	MLP    nn.MLP     `msgpack:"mlp"`
}

// QueryInput is one query's features as indices.
type QueryInput struct {
	// History holds row indices into the shared item-id table.
	History []int32
	// Fields holds one index per UserFields entry (feature.Unknown if absent).
	Fields []int32
}

// InputDim returns the width of the MLP's input.
func (q *Query) InputDim() int {
	n := q.HistoryDim
	for i := range q.Fields {
		n += q.Fields[i].Dim
	}
	return n
}

// Dim returns the width of the query embedding.
func (q *Query) Dim() int { return q.MLP.Out() }

// Input writes the MLP input for in into dst: the mean of the history rows of
// ids followed by each field's embedding. An empty history gives zeros.
//
// Input panics if len(dst) != InputDim or an index is out of range.
func (q *Query) Input(dst []float32, ids nn.Rows, in QueryInput) {
	if len(dst) != q.InputDim() || len(in.Fields) != len(q.Fields) {
		panic("tower: query input shape mismatch")
	}
	vec.Zero(dst)
	h := dst[:q.HistoryDim]
	if n := len(in.History); n > 0 {
		w := 1 / float32(n)
		for _, i := range in.History {
			ids.AddRow(h, int(i), w)
		}
	}
	off := q.HistoryDim
	for f := range q.Fields {
		t := &q.Fields[f]
		copy(dst[off:off+t.Dim], t.Row(int(in.Fields[f])))
		off += t.Dim
	}
}

// Embed computes the unit query embedding of in into dst (length Dim).
// acts are the MLP's activation buffers (nn.MLP.NewActs) and x a buffer of
// InputDim; both are scratch that Embed overwrites.
func (q *Query) Embed(dst []float32, ids nn.Rows, in QueryInput, x []float32, acts [][]float32) {
	q.Input(x, ids, in)
	copy(dst, q.MLP.Forward(acts, x))
	vec.L2Normalize(dst)
}

// Validate checks shapes.
func (q *Query) Validate() error {
	if len(q.Fields) != len(UserFields) {
		return fmt.Errorf("query tower has %d field tables, want %d", len(q.Fields), len(UserFields))
	}
	for i := range q.Fields {
		if err := q.Fields[i].Validate(); err != nil {
			return fmt.Errorf("query tower field %s: %w", UserFields[i], err)
		}
	}
	if err := q.MLP.Validate(); err != nil {
		return fmt.Errorf("query tower: %w", err)
	}
	if q.HistoryDim <= 0 || q.MLP.In() != q.InputDim() {
		return fmt.Errorf("query tower MLP takes %d inputs, features give %d", q.MLP.In(), q.InputDim())
	}
	return nil
}

// CheckIndex reports whether every index of in is within the tower's tables
// for an id table of n rows.
func (q *Query) CheckIndex(in QueryInput, n int) error {
	for _, i := range in.History {
		if i < 0 || int(i) >= n {
			return fmt.Errorf("history index %d out of range [0, %d)", i, n)
		}
	}
	if len(in.Fields) != len(q.Fields) {
		return fmt.Errorf("got %d fields, want %d", len(in.Fields), len(q.Fields))
	}
	for f, i := range in.Fields {
		if i < 0 || int(i) >= q.Fields[f].Rows {
			return fmt.Errorf("field %s index %d out of range [0, %d)", UserFields[f], i, q.Fields[f].Rows)
		}
	}
	return nil
}

// Item is the item tower.
type Item struct {
	// IDs has one row per item of the training vocabulary plus row 0 for an
	// unknown (new) item. The query tower pools the same rows.
	IDs nn.Table `msgpack:"ids"`
	// Categories has one row per category plus row 0 for unknown.
	Categories nn.Table `msgpack:"categories"`
	MLP        nn.MLP   `msgpack:"mlp"`
}

// ItemInput is one item's features as indices.
type ItemInput struct {
	ID         int32   // row in IDs; 0 for an item the model never saw
	Categories []int32 // rows in Categories
}

// InputDim returns the width of the MLP's input.
func (t *Item) InputDim() int { return t.IDs.Dim + t.Categories.Dim }

// Dim returns the width of the item embedding.
func (t *Item) Dim() int { return t.MLP.Out() }

// Input writes the MLP input for in into dst: the id embedding followed by
// the mean of the category embeddings (zeros if none).
func (t *Item) Input(dst []float32, in ItemInput) {
	if len(dst) != t.InputDim() {
		panic("tower: item input shape mismatch")
	}
	vec.Zero(dst)
	copy(dst[:t.IDs.Dim], t.IDs.Row(int(in.ID)))
	if n := len(in.Categories); n > 0 {
		c := dst[t.IDs.Dim:]
		w := 1 / float32(n)
		for _, i := range in.Categories {
			t.Categories.AddRow(c, int(i), w)
		}
	}
}

// Embed computes the unit item embedding of in into dst (length Dim), with
// scratch buffers as for Query.Embed.
func (t *Item) Embed(dst []float32, in ItemInput, x []float32, acts [][]float32) {
	t.Input(x, in)
	copy(dst, t.MLP.Forward(acts, x))
	vec.L2Normalize(dst)
}

// Validate checks shapes.
func (t *Item) Validate() error {
	if err := t.IDs.Validate(); err != nil {
		return fmt.Errorf("item tower ids: %w", err)
	}
	if err := t.Categories.Validate(); err != nil {
		return fmt.Errorf("item tower categories: %w", err)
	}
	if err := t.MLP.Validate(); err != nil {
		return fmt.Errorf("item tower: %w", err)
	}
	if t.MLP.In() != t.InputDim() {
		return fmt.Errorf("item tower MLP takes %d inputs, features give %d", t.MLP.In(), t.InputDim())
	}
	return nil
}
