// Package importer turns two-tower models trained elsewhere (PyTorch,
// TensorFlow, JAX) into edgerec model directories: a tower spec (JSON,
// Spec) says which architecture of core/tower the model is, and the
// weights come from a safetensors or NumPy .npz file, matched to the spec
// by tensor name and shape. The result feeds `edgerec bundle build` like a
// model trained by `edgerec train`.
//
// Tensor names default to a PyTorch module layout (PREFIX is "query." or
// "item."):
//
//	item.ids.weight              [items+1, id_dim]       shared id table (the query tower pools its rows)
//	item.categories.weight       [categories+1, category_dim]
//	item.tokens.weight           [token_buckets+1, token_dim]
//	query.fields.NAME.weight     [values+1, dim]
//	PREFIX.cross.L.weight, .bias [in, in], [in]           x ← x0 ⊙ (W·x + b) + x
//	PREFIX.mlp.L.weight, .bias   [out, in], [out]         nn.Linear layout
//
// Row 0 of every table is the unknown value; value i of a vocabulary is row
// i+1. Import reports every missing, extra or mis-shaped tensor at once
// (*MismatchError).
package importer

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/edgerec/edgerec/core/feature"
	"github.com/edgerec/edgerec/core/nn"
	"github.com/edgerec/edgerec/core/tower"
	"github.com/edgerec/edgerec/tools/model"
)

// Options change how Import matches tensors.
type Options struct {
	// IgnoreExtra accepts tensors the spec does not use (optimizer state,
	// buffers, a ranker head) instead of reporting them.
	IgnoreExtra bool
	// Record is stored as the model manifest's config, for provenance
	// (e.g. the spec and weights file names and digests).
	Record any
}

// Problem is one tensor that does not fit the spec.
type Problem struct {
	Name     string
	Expected []int // nil for an extra tensor
	Got      []int // nil for a missing tensor
}

func (p Problem) String() string {
	switch {
	case p.Got == nil:
		return fmt.Sprintf("missing tensor %s: expected shape %s", p.Name, shapeString(p.Expected))
	case p.Expected == nil:
		return fmt.Sprintf("extra tensor %s (shape %s): the spec does not use it", p.Name, shapeString(p.Got))
	}
	return fmt.Sprintf("tensor %s: expected shape %s, got %s", p.Name, shapeString(p.Expected), shapeString(p.Got))
}

// MismatchError lists every tensor that does not fit the spec, sorted by
// name.
type MismatchError struct {
	Problems []Problem
}

func (e *MismatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "importer: the weights do not match the spec (%d problems):", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.String())
	}
	extra := false
	for _, p := range e.Problems {
		extra = extra || p.Expected == nil
	}
	if extra {
		b.WriteString("\n(extra tensors are accepted with --ignore-extra)")
	}
	return b.String()
}

// matcher collects the tensors a spec needs.
type matcher struct {
	ts       Tensors
	used     map[string]bool
	problems []Problem
}

// take returns the data of tensor name if it has the expected shape, and
// records a problem (returning zeros) otherwise.
func (m *matcher) take(name string, shape ...int) []float32 {
	n := 1
	for _, d := range shape {
		n *= d
	}
	if m.used[name] {
		m.problems = append(m.problems, Problem{Name: name + " (used twice by the spec)", Expected: shape, Got: shape})
		return make([]float32, n)
	}
	m.used[name] = true
	t, ok := m.ts[name]
	if !ok {
		m.problems = append(m.problems, Problem{Name: name, Expected: shape})
		return make([]float32, n)
	}
	if !slices.Equal(t.Shape, shape) {
		m.problems = append(m.problems, Problem{Name: name, Expected: shape, Got: t.Shape})
		return make([]float32, n)
	}
	return t.Data
}

func prefix(p *string, def string) string {
	if p != nil {
		return *p
	}
	return def
}

// layers builds the cross layers and the MLP of one tower over an input of
// width in.
func (m *matcher) layers(pre string, in, cross int, specs []LayerSpec) (nn.Stack, nn.MLP) {
	st := nn.Stack{} // empty, not nil: encodes as the trainer's towers do
	for l := 0; l < cross; l++ {
		name := fmt.Sprintf("%scross.%d", pre, l)
		st = append(st, nn.Cross{Dim: in, W: m.take(name+".weight", in, in), B: m.take(name+".bias", in)})
	}
	var mlp nn.MLP
	for l, s := range specs {
		name := s.Tensor
		if name == "" {
			name = fmt.Sprintf("%smlp.%d", pre, l)
		}
		act, _ := activation(s.Activation)
		mlp.Layers = append(mlp.Layers, nn.Dense{In: in, Out: s.Out, Act: nn.Activation(act),
			W: m.take(name+".weight", s.Out, in), B: m.take(name+".bias", s.Out)})
		in = s.Out
	}
	return st, mlp
}

func table(data []float32, rows, dim int) nn.Table { return nn.Table{Rows: rows, Dim: dim, Data: data} }

// Import builds the model of spec s from the tensors ts. Every tensor the
// spec needs must be present with its exact shape; tensors the spec does not
// use are an error unless opts.IgnoreExtra. All problems are reported
// together in a *MismatchError.
func Import(s *Spec, ts Tensors, opts Options) (*model.Model, error) {
	if err := s.validate(); err != nil {
		return nil, &FormatError{Msg: "spec: " + err.Error()}
	}
	if s.Items.File != "" || s.Categories.File != "" {
		return nil, fmt.Errorf("importer: the spec's vocabulary files are not read yet (use LoadSpec)")
	}
	m := &matcher{ts: ts, used: map[string]bool{}}
	qp, ip := prefix(s.Query.Prefix, "query."), prefix(s.Item.Prefix, "item.")

	items := feature.NewVocab(s.Items.Values)
	cats := feature.NewVocab(s.Categories.Values)
	it := tower.Item{
		IDs:        table(m.take(ip+"ids.weight", items.Size(), s.Item.IDDim), items.Size(), s.Item.IDDim),
		Categories: table(m.take(ip+"categories.weight", cats.Size(), s.Item.CategoryDim), cats.Size(), s.Item.CategoryDim),
		Buckets:    s.Item.TokenBuckets,
	}
	if s.Item.TokenBuckets > 0 {
		rows := s.Item.TokenBuckets + 1
		it.Tokens = table(m.take(ip+"tokens.weight", rows, s.Item.TokenDim), rows, s.Item.TokenDim)
	}
	for _, n := range s.Item.Numerics {
		it.Numerics = append(it.Numerics, tower.Numeric{Name: n.Name, Quantiles: feature.Quantiles{Bounds: n.Bounds}})
	}
	it.Cross, it.MLP = m.layers(ip, s.itemInput(), s.Item.Cross, s.Item.Layers)

	q := tower.Query{HistoryDim: s.Item.IDDim, MaxHistory: s.Query.MaxHistory, Decays: s.Query.Decays, Seed: s.Query.Seed}
	for _, f := range s.Query.Fields {
		if f.Vocab.File != "" {
			return nil, fmt.Errorf("importer: the spec's vocabulary files are not read yet (use LoadSpec)")
		}
		v := feature.NewVocab(f.Vocab.Values)
		name := f.Tensor
		if name == "" {
			name = qp + "fields." + f.Name + ".weight"
		}
		q.Fields = append(q.Fields, tower.Field{Name: f.Name, Vocab: *v, Table: table(m.take(name, v.Size(), f.Dim), v.Size(), f.Dim)})
	}
	for _, n := range s.Query.Numerics {
		q.Numerics = append(q.Numerics, tower.Numeric{Name: n.Name, Quantiles: feature.Quantiles{Bounds: n.Bounds}})
	}
	q.Cross, q.MLP = m.layers(qp, s.queryInput(), s.Query.Cross, s.Query.Layers)

	if !opts.IgnoreExtra {
		for _, name := range ts.Names() {
			if !m.used[name] {
				m.problems = append(m.problems, Problem{Name: name, Got: ts[name].Shape})
			}
		}
	}
	if len(m.problems) > 0 {
		sort.SliceStable(m.problems, func(i, j int) bool { return m.problems[i].Name < m.problems[j].Name })
		return nil, &MismatchError{Problems: m.problems}
	}
	mod := &model.Model{
		Manifest: model.Manifest{Format: model.Format, Version: model.Version, Name: s.Name, TrainedAt: s.TrainedAt,
			Data: s.Data, Dim: s.Dim, HistoryDim: s.Item.IDDim, Temperature: s.Temperature,
			PopPrior: s.PopPrior, Items: len(s.Items.Values), Config: opts.Record},
		Query: q,
		Item:  it,
		Vocab: model.Vocab{Items: *items, Categories: *cats},
	}
	if err := mod.Validate(); err != nil {
		return nil, fmt.Errorf("importer: the imported model does not validate: %w", err)
	}
	return mod, nil
}
