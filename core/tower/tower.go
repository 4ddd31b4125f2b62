// Package tower holds the two towers of the retrieval model: the query tower
// embeds a user in context, the item tower embeds an item, and the dot
// product of the two unit vectors scores the pair.
//
// Query tower input, in order: one pooled vector of the history items'
// id embeddings per decay (the item tower's id table, shared), the seed
// item's id embedding, one embedding per categorical field, and [q, q², √q]
// per quantile-normalized numeric feature → cross layers → dense layers →
// L2.
//
// Item tower input: the item's id embedding ‖ the mean of its category
// embeddings ‖ the mean of its hashed title-token embeddings ‖ [q, q², √q]
// per numeric feature → cross layers → dense layers → L2.
//
// The forward passes here serve both the trainer and the module.
package tower

import (
	"fmt"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/feature"
	"github.com/edgerec/edgerec/core/nn"
	"github.com/edgerec/edgerec/core/vec"
)

// Field is a categorical input with its vocabulary and embedding table
// (one row per vocabulary value plus the Unknown row 0).
type Field struct {
	Name  string        `msgpack:"name"`
	Vocab feature.Vocab `msgpack:"vocab"`
	Table nn.Table      `msgpack:"table"`
}

// Numeric is a numeric input, quantile-normalized and expanded to
// feature.PowerWidth inputs.
type Numeric struct {
	Name      string            `msgpack:"name"`
	Quantiles feature.Quantiles `msgpack:"quantiles"`
}

// Scratch holds the buffers one forward pass needs; NewScratch makes them.
// The trainer keeps them as the activations of its backward pass.
type Scratch struct {
	X        []float32   // the input vector
	CrossOut [][]float32 // outputs of the cross layers
	CrossLin [][]float32 // W·x + b of the cross layers
	Acts     [][]float32 // outputs of the dense layers
	Unit     []float32   // the unit embedding; Acts holds the output before L2
	Norm     float32     // ‖output‖ before normalization
}

func newScratch(in int, cross nn.Stack, mlp *nn.MLP) *Scratch {
	s := &Scratch{X: make([]float32, in), Acts: mlp.NewActs(), Unit: make([]float32, mlp.Out())}
	s.CrossOut, s.CrossLin = cross.NewBuffers(in)
	return s
}

// forward runs cross layers, dense layers and L2 on s.X, leaving the unit
// embedding in s.Unit.
func forward(s *Scratch, cross nn.Stack, mlp *nn.MLP) {
	h := cross.Forward(s.CrossOut, s.CrossLin, s.X)
	copy(s.Unit, mlp.Forward(s.Acts, h))
	s.Norm = vec.L2Normalize(s.Unit)
}

// Query is the query tower.
type Query struct {
	// HistoryDim is the width of the shared item-id embeddings.
	HistoryDim int `msgpack:"history_dim"`
	// MaxHistory is how many of the most recent history items the tower
	// pools, as in training.
	MaxHistory int `msgpack:"max_history"`
	// Decays gives one pooled history vector per entry: the i-th most
	// recent of n history items (i = 0 the newest) weighs decay^i, weights
	// normalized to sum 1. A decay of 1 is the plain mean.
	Decays []float32 `msgpack:"decays"`
	// Seed adds the id embedding of the seed item — the item the user is
	// looking at, or else the newest history item.
	Seed     bool      `msgpack:"seed"`
	Fields   []Field   `msgpack:"fields"`
	Numerics []Numeric `msgpack:"numerics"`
	Cross    nn.Stack  `msgpack:"cross"`
	MLP      nn.MLP    `msgpack:"mlp"`
}

// QueryInput is one query's features, prepared by Prepare.
type QueryInput struct {
	History  []int32   // rows of the shared id table, oldest first
	Seed     int32     // row of the seed item, or -1
	Fields   []int32   // one vocabulary index per Field
	Numerics []float32 // one normalized value per Numeric
}

// Prepare turns a context, the known history rows (oldest first; only the
// last MaxHistory are used) and the seed row (-1 for none: the newest
// history item then stands in) into the tower's input.
func (q *Query) Prepare(ctx *api.Context, history []int32, seed int32) QueryInput {
	history = history[max(0, len(history)-q.MaxHistory):]
	in := QueryInput{History: history, Seed: seed,
		Fields: make([]int32, len(q.Fields)), Numerics: make([]float32, len(q.Numerics))}
	if in.Seed < 0 && len(history) > 0 {
		in.Seed = history[len(history)-1]
	}
	for i := range q.Fields {
		in.Fields[i] = q.Fields[i].Vocab.Index(feature.Categorical(ctx, q.Fields[i].Name))
	}
	for i := range q.Numerics {
		in.Numerics[i] = q.Numerics[i].Quantiles.Normalize(feature.Numeric(ctx, q.Numerics[i].Name, len(history)))
	}
	return in
}

// InputDim returns the width of the input vector.
func (q *Query) InputDim() int {
	n := q.HistoryDim * len(q.Decays)
	if q.Seed {
		n += q.HistoryDim
	}
	for i := range q.Fields {
		n += q.Fields[i].Table.Dim
	}
	return n + feature.PowerWidth*len(q.Numerics)
}

// Dim returns the width of the query embedding.
func (q *Query) Dim() int { return q.MLP.Out() }

// NewScratch allocates the buffers of one forward pass.
func (q *Query) NewScratch() *Scratch { return newScratch(q.InputDim(), q.Cross, &q.MLP) }

// PoolWeights writes the pooling weights of n history items for decay d
// into dst[:n] (oldest first) and returns dst[:n].
func PoolWeights(dst []float32, n int, d float32) []float32 {
	dst = dst[:n]
	var sum float32
	w := float32(1)
	for i := n - 1; i >= 0; i-- {
		dst[i] = w
		sum += w
		w *= d
	}
	for i := range dst {
		dst[i] /= sum
	}
	return dst
}

// Input writes the input vector for in into dst.
//
// Input panics if len(dst) != InputDim or an index is out of range.
func (q *Query) Input(dst []float32, ids nn.Rows, in QueryInput) {
	if len(dst) != q.InputDim() || len(in.Fields) != len(q.Fields) || len(in.Numerics) != len(q.Numerics) {
		panic("tower: query input shape mismatch")
	}
	vec.Zero(dst)
	off := 0
	var wbuf [64]float32
	w := wbuf[:0]
	if n := len(in.History); n > len(wbuf) {
		w = make([]float32, n)
	}
	for _, d := range q.Decays {
		h := dst[off : off+q.HistoryDim]
		for j, wj := range PoolWeights(w[:cap(w)], len(in.History), d) {
			ids.AddRow(h, int(in.History[j]), wj)
		}
		off += q.HistoryDim
	}
	if q.Seed {
		if in.Seed >= 0 {
			ids.AddRow(dst[off:off+q.HistoryDim], int(in.Seed), 1)
		}
		off += q.HistoryDim
	}
	for f := range q.Fields {
		t := &q.Fields[f].Table
		copy(dst[off:off+t.Dim], t.Row(int(in.Fields[f])))
		off += t.Dim
	}
	for _, v := range in.Numerics {
		feature.Powers(dst[off:off+feature.PowerWidth], v)
		off += feature.PowerWidth
	}
}

// Embed computes the unit query embedding of in into s.Unit and returns it.
func (q *Query) Embed(s *Scratch, ids nn.Rows, in QueryInput) []float32 {
	q.Input(s.X, ids, in)
	forward(s, q.Cross, &q.MLP)
	return s.Unit
}

// Validate checks shapes.
func (q *Query) Validate() error {
	if q.HistoryDim <= 0 || q.HistoryDim > 4096 {
		return fmt.Errorf("query tower history dim %d out of range", q.HistoryDim)
	}
	if q.MaxHistory <= 0 || q.MaxHistory > 4096 {
		return fmt.Errorf("query tower max history %d out of range [1, 4096]", q.MaxHistory)
	}
	if len(q.Decays) > 8 || len(q.Fields) > 64 || len(q.Numerics) > 64 || len(q.Cross) > 8 {
		return fmt.Errorf("query tower has too many inputs or layers")
	}
	for _, d := range q.Decays {
		if !(d > 0 && d <= 1) {
			return fmt.Errorf("query tower decay %v out of (0, 1]", d)
		}
	}
	for i := range q.Fields {
		f := &q.Fields[i]
		if err := f.Table.Validate(); err != nil {
			return fmt.Errorf("query tower field %s: %w", f.Name, err)
		}
		if f.Table.Rows != f.Vocab.Size() {
			return fmt.Errorf("query tower field %s has %d rows for %d values", f.Name, f.Table.Rows, f.Vocab.Size())
		}
	}
	for i := range q.Numerics {
		if !q.Numerics[i].Quantiles.Valid() {
			return fmt.Errorf("query tower numeric %s has invalid quantiles", q.Numerics[i].Name)
		}
	}
	return validateLayers("query", q.InputDim(), q.Cross, &q.MLP)
}

func validateLayers(tower string, in int, cross nn.Stack, mlp *nn.MLP) error {
	for l := range cross {
		if err := cross[l].Validate(); err != nil {
			return fmt.Errorf("%s tower cross layer %d: %w", tower, l, err)
		}
		if cross[l].Dim != in {
			return fmt.Errorf("%s tower cross layer %d is %d wide, input is %d", tower, l, cross[l].Dim, in)
		}
	}
	if err := mlp.Validate(); err != nil {
		return fmt.Errorf("%s tower: %w", tower, err)
	}
	if mlp.In() != in {
		return fmt.Errorf("%s tower MLP takes %d inputs, features give %d", tower, mlp.In(), in)
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
	if in.Seed >= int32(n) {
		return fmt.Errorf("seed index %d out of range [0, %d)", in.Seed, n)
	}
	for f, i := range in.Fields {
		if i < 0 || int(i) >= q.Fields[f].Table.Rows {
			return fmt.Errorf("field %s index %d out of range", q.Fields[f].Name, i)
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
	// Tokens has Buckets+1 rows for hashed title tokens (feature.Hash);
	// Buckets = 0 turns the text input off.
	Tokens   nn.Table  `msgpack:"tokens"`
	Buckets  int       `msgpack:"buckets"`
	Numerics []Numeric `msgpack:"numerics"`
	Cross    nn.Stack  `msgpack:"cross"`
	MLP      nn.MLP    `msgpack:"mlp"`
}

// ItemInput is one item's features as indices and normalized values.
type ItemInput struct {
	ID         int32     // row in IDs; 0 for an item the model never saw
	Categories []int32   // rows in Categories
	Tokens     []int32   // rows in Tokens
	Numerics   []float32 // one normalized value per Numeric
}

// Tokenize returns the token rows of a title (none when the text input is
// off).
func (t *Item) Tokenize(title string) []int32 {
	if t.Buckets == 0 {
		return nil
	}
	return feature.HashTokens(title, t.Buckets)
}

// Prepare assembles an item's input from its id row, category rows, token
// rows (Tokenize) and raw numeric features, which it normalizes.
func (t *Item) Prepare(id int32, categories, tokens []int32, raw *feature.Item) ItemInput {
	in := ItemInput{ID: id, Categories: categories, Tokens: tokens, Numerics: make([]float32, len(t.Numerics))}
	for i := range t.Numerics {
		in.Numerics[i] = t.Numerics[i].Quantiles.Normalize(raw.Numeric(t.Numerics[i].Name))
	}
	return in
}

// InputDim returns the width of the input vector.
func (t *Item) InputDim() int {
	n := t.IDs.Dim + t.Categories.Dim + feature.PowerWidth*len(t.Numerics)
	if t.Buckets > 0 {
		n += t.Tokens.Dim
	}
	return n
}

// Dim returns the width of the item embedding.
func (t *Item) Dim() int { return t.MLP.Out() }

// NewScratch allocates the buffers of one forward pass.
func (t *Item) NewScratch() *Scratch { return newScratch(t.InputDim(), t.Cross, &t.MLP) }

// Input writes the input vector for in into dst.
func (t *Item) Input(dst []float32, in ItemInput) {
	if len(dst) != t.InputDim() || len(in.Numerics) != len(t.Numerics) {
		panic("tower: item input shape mismatch")
	}
	vec.Zero(dst)
	off := t.IDs.Dim
	copy(dst[:off], t.IDs.Row(int(in.ID)))
	meanRows(dst[off:off+t.Categories.Dim], &t.Categories, in.Categories)
	off += t.Categories.Dim
	if t.Buckets > 0 {
		meanRows(dst[off:off+t.Tokens.Dim], &t.Tokens, in.Tokens)
		off += t.Tokens.Dim
	}
	for _, v := range in.Numerics {
		feature.Powers(dst[off:off+feature.PowerWidth], v)
		off += feature.PowerWidth
	}
}

func meanRows(dst []float32, t *nn.Table, rows []int32) {
	if len(rows) == 0 {
		return
	}
	w := 1 / float32(len(rows))
	for _, r := range rows {
		t.AddRow(dst, int(r), w)
	}
}

// Embed computes the unit item embedding of in into s.Unit and returns it.
func (t *Item) Embed(s *Scratch, in ItemInput) []float32 {
	t.Input(s.X, in)
	forward(s, t.Cross, &t.MLP)
	return s.Unit
}

// Validate checks shapes.
func (t *Item) Validate() error {
	if err := t.IDs.Validate(); err != nil {
		return fmt.Errorf("item tower ids: %w", err)
	}
	if err := t.Categories.Validate(); err != nil {
		return fmt.Errorf("item tower categories: %w", err)
	}
	if t.Buckets < 0 || t.Buckets > 1<<20 {
		return fmt.Errorf("item tower has %d token buckets", t.Buckets)
	}
	if t.Buckets > 0 {
		if err := t.Tokens.Validate(); err != nil {
			return fmt.Errorf("item tower tokens: %w", err)
		}
		if t.Tokens.Rows != t.Buckets+1 {
			return fmt.Errorf("item tower has %d token rows for %d buckets", t.Tokens.Rows, t.Buckets)
		}
	}
	for i := range t.Numerics {
		if !t.Numerics[i].Quantiles.Valid() {
			return fmt.Errorf("item tower numeric %s has invalid quantiles", t.Numerics[i].Name)
		}
	}
	return validateLayers("item", t.InputDim(), t.Cross, &t.MLP)
}
