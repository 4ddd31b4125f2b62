// Package rank scores retrieved candidates with a small learned model over
// richer features than retrieval sees: the candidate's retrieval score and
// rank, its popularity and age, and how it relates to the user's history.
//
// The features are computed by core/pipeline, the same code whether the
// trainer generates ranker training data or the module serves, so that the
// two agree.
package rank

import (
	"fmt"
	"math"
	"slices"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/nn"
)

// Sources names the candidate sources whose scores and ranks are features,
// in order; it mirrors api.SourceNames.
var Sources = []string{"twotower", "covisit", "popular", "trending", "fresh", "explore", "slim"}

// Features names the features the pipeline computes for every candidate
// from the candidate, the user's history and the interaction log, in
// order; Raw adds those from the request's impressions. A model lists the
// names it was trained with, any subset of Raw in any order, and reads its
// inputs from the raw vector by name (Model.Validate binds them), so a
// ranker trained before a source or a feature was added keeps scoring as
// it did; a reader refuses a model that names a feature it does not
// compute.
//
// Per source s (three each, in api.Source order):
//
//	s            1 if the source proposed the candidate, else 0
//	s_score      the source's score (0 when absent)
//	s_rank_log   ln(1 + rank in the source), rank 0 the best; ln(1 + 1000) when absent
//
// Then, for every candidate:
//
//	query_similarity   query embedding · item embedding (int8)
//	popularity_log     ln(1 + training interactions)
//	recent_log         ln(1 + interactions in the 30 days before the build)
//	item_age_log       ln(1 + days since release at the request time); 0 unknown
//	category_affinity  mean over the item's categories of the share of history items in that category
//	history_len_log    ln(1 + known history items)
//	cold               1 if the model never saw the item in training
//	seed_similarity    item embedding · seed (or newest history) item embedding; 0 without either
var Features = func() []string {
	var f []string
	for _, s := range api.SourceNames {
		f = append(f, s, s+"_score", s+"_rank_log")
	}
	return append(f, "query_similarity", "popularity_log", "recent_log", "item_age_log",
		"category_affinity", "history_len_log", "cold", "seed_similarity")
}()

// ShownFeature is the feature a ranker learns only from logged
// impressions (train --events): how often the request says the candidate
// was shown to the user and not taken, decayed with time,
//
//	shown_log   ln(1 + times shown)·2^(−days since last shown/7); 0 never shown
//
// the term of the hand-set demotion (bundle.Params.Demote). A ranker
// whose features include it has learned the demotion, and the pipeline
// then leaves the rule out wherever that ranker ranks.
const ShownFeature = "shown_log"

// Raw names every feature the pipeline computes for a candidate, in
// order: Features, what a ranker trained on an interaction log uses, then
// ShownFeature, which only logged impressions can teach. A model binds
// its features by name to their place here.
var Raw = append(slices.Clone(Features), ShownFeature)

// AbsentRank is the rank a source's rank feature takes when the source did
// not propose the candidate.
const AbsentRank = 1000

// Evidence names the features that only the interaction log can give an
// item: its popularity and recent count, the cold flag, and the sources
// that rank by the log (co-visitation, popular, trending, explore, which
// draws from the least popular half, and slim). A cold item — one the
// model never saw in training — has none of that evidence, and its zeros
// there mean "unknown", not "nobody wants it": Standardize imputes the
// training mean (z = 0) for each of them on a cold row, so the ranker
// scores a new item as an average one and orders it by what it does know
// (its content's retrieval score and similarities), whatever the cold rows
// of its training taught it. The ranker's training also leaves out the
// items nobody took at all (train.FitRanker); with that alone the cold
// figures of eval --cold-start were about the same, without it and with
// imputation alone cold items still fell out of the catalog-wide top 20.
var Evidence = func() []string {
	var f []string
	for _, s := range []api.Source{api.SourceCovisit, api.SourcePopular, api.SourceTrending, api.SourceExplore, api.SourceSlim} {
		n := api.SourceNames[s]
		f = append(f, n, n+"_score", n+"_rank_log")
	}
	return append(f, "popularity_log", "recent_log", "cold")
}()

// coldFeature is the feature whose value 1 marks a cold row.
const coldFeature = "cold"

// Model is the ranker: standardized features → cross layers → dense layers
// → one logit.
type Model struct {
	// Depth is how many retrieved candidates the ranker re-scores.
	Depth    int       `msgpack:"depth"`
	Features []string  `msgpack:"features"`
	Mean     []float32 `msgpack:"mean"`
	Std      []float32 `msgpack:"std"`
	Cross    nn.Stack  `msgpack:"cross"`
	MLP      nn.MLP    `msgpack:"mlp"`

	// cols[i] is the position in Features of the model's feature i, set by
	// Validate; nil reads the raw vector in the model's own order (a model
	// built in memory over Features, as the trainer does).
	cols []int
	// bind is cols' imputation: set by Validate, else computed by
	// NewScratch from the model's own order.
	bind *binding
}

// binding says where a row's cold flag is in the raw vector and which of
// the model's features are Evidence.
type binding struct {
	cold     int // raw position of the cold flag; −1 when absent
	evidence []bool
}

// bindFeatures returns the binding of a model over features reading a raw
// vector whose features are names.
func bindFeatures(features, names []string) *binding {
	b := &binding{cold: -1, evidence: make([]bool, len(features))}
	for i, n := range names {
		if n == coldFeature {
			b.cold = i
		}
	}
	for i, f := range features {
		b.evidence[i] = slices.Contains(Evidence, f)
	}
	return b
}

// Scratch holds one forward pass's buffers.
type Scratch struct {
	X        []float32
	CrossOut [][]float32
	CrossLin [][]float32
	Acts     [][]float32
	bind     *binding
}

// NewScratch allocates the buffers of one forward pass.
func (m *Model) NewScratch() *Scratch {
	s := &Scratch{X: make([]float32, len(m.Features)), Acts: m.MLP.NewActs(), bind: m.binding()}
	s.CrossOut, s.CrossLin = m.Cross.NewBuffers(len(m.Features))
	return s
}

// binding returns the model's binding: Validate's, or for a model never
// validated, that of a raw vector holding the model's own features.
func (m *Model) binding() *binding {
	if m.bind != nil {
		return m.bind
	}
	return bindFeatures(m.Features, m.Features)
}

// MaxZ bounds a standardized feature: a value far outside what the ranker
// saw in training (a cold item's flag when training had none, under a tiny
// deviation) would otherwise reach the layers as thousands and swamp every
// other feature, and the logit with it. Rare flags are legitimately far out
// (a flag set for one candidate in 1 000 stands at 31.6): a bound of 8 cut
// them and dropped ML-100K pipeline Recall@20 from 0.252 to 0.221; at 50
// it is unchanged.
const MaxZ = 50

// Standardize writes (raw − mean)/std of the model's features, clamped to
// ±MaxZ, into s.X; raw holds every one of Raw (or, for a model never
// validated, the model's own features in its order). On a cold row (cold
// flag 1) the Evidence features are imputed at their training mean, z = 0.
// Training and serving both standardize here.
//
// The clamp is two comparisons, not min and max: Go compiles a float min or
// max for WebAssembly as a call into the runtime (its NaN and signed-zero
// rules), and two calls per feature were most of the ranker's time in
// wazero with a small model. A NaN stays NaN either way.
func (m *Model) Standardize(s *Scratch, raw []float32) { m.standardize(s.X, s.bind, raw) }

// standardize is Standardize into x with the binding b.
func (m *Model) standardize(x []float32, b *binding, raw []float32) {
	x = x[:len(m.Mean)]
	mean, std := m.Mean[:len(x)], m.Std[:len(x)]
	cols := m.cols
	for i := range x {
		var v float32
		if cols != nil {
			v = raw[cols[i]]
		} else {
			v = raw[i]
		}
		z := (v - mean[i]) / std[i]
		if z < -MaxZ {
			z = -MaxZ
		} else if z > MaxZ {
			z = MaxZ
		}
		x[i] = z
	}
	if b.cold >= 0 && raw[b.cold] == 1 {
		for i, e := range b.evidence[:len(x)] {
			if e {
				x[i] = 0
			}
		}
	}
}

// Score returns the logit for one candidate's raw features (len(Raw)).
// It panics when raw is shorter than the features it reads.
func (m *Model) Score(s *Scratch, raw []float32) float32 {
	m.Standardize(s, raw)
	h := m.Cross.Forward(s.CrossOut, s.CrossLin, s.X)
	return m.MLP.Forward(s.Acts, h)[0]
}

// rowsBlock is how many candidates ScoreRows passes through the layers
// at once: enough for the four-row kernel (core/nn), few enough that the
// buffers stay small.
const rowsBlock = 64

// Rows holds the buffers of ScoreRows; NewRows makes them.
type Rows struct {
	x                  []float32
	crossOut, crossLin [][]float32
	acts               [][]float32
	bind               *binding
	model              *Model // the model whose shapes and binding these are
}

// For reports whether s was made for m (by m.NewRows): buffers kept
// between calls must not serve another model, whose widths or features
// may differ.
func (s *Rows) For(m *Model) bool { return s != nil && s.model == m }

// NewRows allocates the buffers ScoreRows needs.
func (m *Model) NewRows() *Rows {
	n := len(m.Features)
	s := &Rows{x: make([]float32, rowsBlock*n), bind: m.binding(), model: m}
	s.crossOut, s.crossLin = m.Cross.NewBuffers(rowsBlock * n)
	s.acts = make([][]float32, len(m.MLP.Layers))
	for l := range m.MLP.Layers {
		s.acts[l] = make([]float32, rowsBlock*m.MLP.Layers[l].Out)
	}
	return s
}

// ScoreRows writes the logit of each candidate's raw features raws[i] into
// out[i]: Score's result, bit for bit, for every one (TestScoreRows), with
// each layer applied to many candidates at once. The rank stage scores a
// request's candidates through it. s must be m's (Rows.For); ScoreRows
// panics otherwise.
func (m *Model) ScoreRows(s *Rows, raws [][]float32, out []float32) {
	if !s.For(m) {
		panic("rank: ScoreRows with another model's buffers")
	}
	n := len(m.Features)
	out = out[:len(raws)]
	for start := 0; start < len(raws); start += rowsBlock {
		block := raws[start:min(start+rowsBlock, len(raws))]
		rows := len(block)
		for r, raw := range block {
			m.standardize(s.x[r*n:(r+1)*n], s.bind, raw)
		}
		h := m.Cross.ForwardRows(s.crossOut, s.crossLin, s.x[:rows*n], rows)
		copy(out[start:], m.MLP.ForwardRows(s.acts, h, rows))
	}
}

// Validate checks that the model's features are among this package's
// Raw, each once, and that its shapes fit; it binds each feature to
// its position in the raw vector for Standardize.
func (m *Model) Validate() error {
	at := make(map[string]int, len(Raw))
	for i, f := range Raw {
		at[f] = i
	}
	n := len(m.Features)
	if n == 0 || n > len(Raw) {
		return fmt.Errorf("ranker uses %d features, this reader computes %d", n, len(Raw))
	}
	cols := make([]int, n)
	used := make([]bool, len(Raw))
	for i, f := range m.Features {
		c, ok := at[f]
		if !ok {
			return fmt.Errorf("ranker feature %d is %q, which this reader does not compute", i, f)
		}
		if used[c] {
			return fmt.Errorf("ranker feature %q is listed twice", f)
		}
		used[c], cols[i] = true, c
	}
	if m.Depth < 1 || m.Depth > 10000 {
		return fmt.Errorf("ranker depth %d out of range [1, 10000]", m.Depth)
	}
	if len(m.Mean) != n || len(m.Std) != n {
		return fmt.Errorf("ranker has %d means and %d deviations for %d features", len(m.Mean), len(m.Std), n)
	}
	for i := range m.Std {
		if !(m.Std[i] > 0) || math.IsInf(float64(m.Std[i]), 0) || math.IsNaN(float64(m.Mean[i])) || math.IsInf(float64(m.Mean[i]), 0) {
			return fmt.Errorf("ranker feature %s has mean %v and deviation %v", m.Features[i], m.Mean[i], m.Std[i])
		}
	}
	for l := range m.Cross {
		if err := m.Cross[l].Validate(); err != nil {
			return fmt.Errorf("ranker cross layer %d: %w", l, err)
		}
		if m.Cross[l].Dim != n {
			return fmt.Errorf("ranker cross layer %d is %d wide, want %d", l, m.Cross[l].Dim, n)
		}
	}
	if err := m.MLP.Validate(); err != nil {
		return fmt.Errorf("ranker: %w", err)
	}
	if m.MLP.In() != n || m.MLP.Out() != 1 {
		return fmt.Errorf("ranker MLP maps %d → %d, want %d → 1", m.MLP.In(), m.MLP.Out(), n)
	}
	m.cols = cols
	m.bind = bindFeatures(m.Features, Raw)
	return nil
}

// LearnedDemotion reports whether the model has learned the demotion of
// impressions shown and not taken: whether ShownFeature is among its
// features.
func (m *Model) LearnedDemotion() bool { return slices.Contains(m.Features, ShownFeature) }
