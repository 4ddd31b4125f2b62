package bundle

import (
	"fmt"

	"github.com/edgerec/edgerec/core/nn"
	"github.com/edgerec/edgerec/core/rank"
	"github.com/edgerec/edgerec/core/tower"
)

// WeightError reports a NaN or an infinity in a tower's or the ranker's
// weights: one such value turns every score it touches into NaN, so that
// the ranker fails every request or retrieval silently degrades. Typically
// this indicates a training run that diverged; retrain or re-export.
type WeightError struct {
	Model  string // "query tower", "item tower" or "ranker"
	Tensor string // e.g. "mlp.layers[1].w", "fields[region].table"
	Index  int    // of the first non-finite value in the tensor
	Value  float32
}

func (e *WeightError) Error() string {
	return fmt.Sprintf("tensor %s holds %v at index %d (%s)", e.Tensor, e.Value, e.Index, e.Model)
}

// tensor is one named float tensor of a model.
type tensor struct {
	name string
	data []float32
}

// CheckQueryTower returns a *WeightError for the first NaN or infinity in
// q's weights, or nil.
func CheckQueryTower(q *tower.Query) error {
	ts := []tensor{{"decays", q.Decays}}
	for i := range q.Fields {
		ts = append(ts, tensor{"fields[" + q.Fields[i].Name + "].table", q.Fields[i].Table.Data})
	}
	for i := range q.Numerics {
		ts = append(ts, tensor{"numerics[" + q.Numerics[i].Name + "].quantiles", q.Numerics[i].Quantiles.Bounds})
	}
	return checkTensors("query tower", layerTensors(ts, q.Cross, &q.MLP))
}

// CheckItemTower returns a *WeightError for the first NaN or infinity in
// t's weights, or nil. Bundles do not carry the item tower, only its
// output; the builder checks it before it embeds the catalog.
func CheckItemTower(t *tower.Item) error {
	ts := []tensor{{"ids", t.IDs.Data}, {"categories", t.Categories.Data}, {"tokens", t.Tokens.Data}}
	for i := range t.Numerics {
		ts = append(ts, tensor{"numerics[" + t.Numerics[i].Name + "].quantiles", t.Numerics[i].Quantiles.Bounds})
	}
	return checkTensors("item tower", layerTensors(ts, t.Cross, &t.MLP))
}

// CheckRanker returns a *WeightError for the first NaN or infinity in m's
// weights and standardization, or nil.
func CheckRanker(m *rank.Model) error {
	return checkTensors("ranker", layerTensors([]tensor{{"mean", m.Mean}, {"std", m.Std}}, m.Cross, &m.MLP))
}

// layerTensors appends the weights and biases of cross and mlp to ts.
func layerTensors(ts []tensor, cross nn.Stack, mlp *nn.MLP) []tensor {
	for l := range cross {
		ts = append(ts, tensor{fmt.Sprintf("cross[%d].w", l), cross[l].W}, tensor{fmt.Sprintf("cross[%d].b", l), cross[l].B})
	}
	for l := range mlp.Layers {
		ts = append(ts, tensor{fmt.Sprintf("mlp.layers[%d].w", l), mlp.Layers[l].W}, tensor{fmt.Sprintf("mlp.layers[%d].b", l), mlp.Layers[l].B})
	}
	return ts
}

func checkTensors(model string, ts []tensor) error {
	for _, t := range ts {
		if i := firstNonFinite(t.data); i >= 0 {
			return &WeightError{Model: model, Tensor: t.name, Index: i, Value: t.data[i]}
		}
	}
	return nil
}

// firstNonFinite returns the index of the first NaN or infinity in x, or
// −1. x−x is 0 for every finite x and NaN for NaN and ±Inf.
func firstNonFinite(x []float32) int {
	for i, v := range x {
		if v-v != 0 {
			return i
		}
	}
	return -1
}

// checkFinite refuses a bundle with a NaN or an infinity in a float its
// serving computes with (FORMAT.md §6 step 10), naming the section and the
// tensor. The int8 matrices' scales, the catalog's popularity and the
// pipeline's weights are checked where they are validated.
func (b *Bundle) checkFinite() error {
	if err := CheckQueryTower(&b.Query); err != nil {
		return &FormatError{Section: TagQuery, Reason: err.Error()}
	}
	if b.Ranker != nil {
		if err := CheckRanker(b.Ranker); err != nil {
			return &FormatError{Section: TagRanker, Reason: err.Error()}
		}
	}
	if t := b.Manifest.Model.Temperature; !finite(t) {
		return formatErr(TagManifest, "model temperature is %v", t)
	}
	if b.Index != nil && !finite(b.Index.Recall) {
		return formatErr(TagIndex, "recall is %v", b.Index.Recall)
	}
	return nil
}
