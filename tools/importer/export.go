package importer

import (
	"fmt"

	"github.com/edgerec/edgerec/core/nn"
	"github.com/edgerec/edgerec/tools/model"
)

// Export is the inverse of Import: the spec and tensors (default names)
// of a model, so that a model trained by `edgerec train` can be written as
// safetensors or .npz (EncodeSafetensors, EncodeNPZ), checked in another
// framework, or imported back. Import(Export(m)) has the same towers and
// vocabularies as m; the ranker is not part of a spec.
func Export(m *model.Model) (*Spec, Tensors) {
	s := &Spec{Format: SpecFormat, Version: SpecVersion, Name: m.Manifest.Name, Data: m.Manifest.Data,
		TrainedAt: m.Manifest.TrainedAt, Temperature: m.Manifest.Temperature, PopPrior: m.Manifest.PopPrior, Dim: m.Item.Dim(),
		Items:      Vocab{Values: m.Vocab.Items.Values},
		Categories: Vocab{Values: m.Vocab.Categories.Values},
	}
	ts := Tensors{}
	put := func(name string, data []float32, shape ...int) { ts[name] = &Tensor{Shape: shape, Data: data} }
	layers := func(pre string, cross nn.Stack, mlp *nn.MLP) (int, []LayerSpec) {
		for l, c := range cross {
			put(fmt.Sprintf("%scross.%d.weight", pre, l), c.W, c.Dim, c.Dim)
			put(fmt.Sprintf("%scross.%d.bias", pre, l), c.B, c.Dim)
		}
		var out []LayerSpec
		for l, d := range mlp.Layers {
			put(fmt.Sprintf("%smlp.%d.weight", pre, l), d.W, d.Out, d.In)
			put(fmt.Sprintf("%smlp.%d.bias", pre, l), d.B, d.Out)
			out = append(out, LayerSpec{Out: d.Out, Activation: d.Act.String()})
		}
		return len(cross), out
	}
	it := &m.Item
	s.Item = ItemSpec{IDDim: it.IDs.Dim, CategoryDim: it.Categories.Dim, TokenBuckets: it.Buckets}
	put("item.ids.weight", it.IDs.Data, it.IDs.Rows, it.IDs.Dim)
	put("item.categories.weight", it.Categories.Data, it.Categories.Rows, it.Categories.Dim)
	if it.Buckets > 0 {
		s.Item.TokenDim = it.Tokens.Dim
		put("item.tokens.weight", it.Tokens.Data, it.Tokens.Rows, it.Tokens.Dim)
	}
	for _, n := range it.Numerics {
		s.Item.Numerics = append(s.Item.Numerics, NumericSpec{Name: n.Name, Bounds: n.Quantiles.Bounds})
	}
	s.Item.Cross, s.Item.Layers = layers("item.", it.Cross, &it.MLP)

	q := &m.Query
	s.Query = QuerySpec{MaxHistory: q.MaxHistory, Decays: q.Decays, Seed: q.Seed}
	for _, f := range q.Fields {
		s.Query.Fields = append(s.Query.Fields, FieldSpec{Name: f.Name, Vocab: Vocab{Values: f.Vocab.Values}, Dim: f.Table.Dim})
		put("query.fields."+f.Name+".weight", f.Table.Data, f.Table.Rows, f.Table.Dim)
	}
	for _, n := range q.Numerics {
		s.Query.Numerics = append(s.Query.Numerics, NumericSpec{Name: n.Name, Bounds: n.Quantiles.Bounds})
	}
	s.Query.Cross, s.Query.Layers = layers("query.", q.Cross, &q.MLP)
	return s, ts
}
