package rank

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/edgerec/edgerec/core/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// randomModel returns a model over features with random weights, one
// cross layer and a hidden layer.
func randomModel(features []string, rng *rand.Rand) *Model {
	n := len(features)
	vals := func(k int, scale float64) []float32 {
		v := make([]float32, k)
		for i := range v {
			v[i] = float32((rng.Float64()*2 - 1) * scale)
		}
		return v
	}
	m := &Model{Depth: 10, Features: slices.Clone(features), Mean: vals(n, 1), Std: vals(n, 0.5),
		Cross: nn.Stack{{Dim: n, W: vals(n*n, 0.1), B: vals(n, 0.1)}},
		MLP: nn.MLP{Layers: []nn.Dense{
			{In: n, Out: 8, W: vals(8*n, 0.3), B: vals(8, 0.1), Act: nn.ReLU},
			{In: 8, Out: 1, W: vals(8, 0.3), B: vals(1, 0.1), Act: nn.Linear},
		}}}
	for i := range m.Std {
		m.Std[i] += 1
	}
	return m
}

// TestOldRankerScoresAsBefore: a ranker trained on the six-source feature
// list (before the slim source) reads its features by name from the full
// raw vector and scores every candidate exactly as it scored the
// six-source vector, where Score read the raw vector in order.
func TestOldRankerScoresAsBefore(t *testing.T) {
	var old []string
	for _, f := range Features {
		if f != "slim" && f != "slim_score" && f != "slim_rank_log" {
			old = append(old, f)
		}
	}
	require.Len(t, old, len(Features)-3)
	rng := rand.New(rand.NewPCG(1, 2))
	before := randomModel(old, rng) // never validated: reads raw in its own order
	after := *before
	after.Features = slices.Clone(old)
	require.NoError(t, after.Validate())
	sb, sa := before.NewScratch(), after.NewScratch()
	for range 200 {
		full := make([]float32, len(Features))
		for i := range full {
			full[i] = float32(rng.NormFloat64() * 3)
		}
		var six []float32
		for i, f := range Features {
			if slices.Contains(old, f) {
				six = append(six, full[i])
			}
		}
		assert.Equal(t, before.Score(sb, six), after.Score(sa, full))
	}
}

// TestFeaturesByName: a model may list the features in any order; a
// permuted model over permuted weights scores as the original.
func TestFeaturesByName(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	m := randomModel(Features, rng)
	m.Cross = nil
	require.NoError(t, m.Validate())
	perm := rng.Perm(len(Features))
	p := *m
	p.Features, p.Mean, p.Std = make([]string, len(perm)), make([]float32, len(perm)), make([]float32, len(perm))
	d := m.MLP.Layers[0]
	d.W = make([]float32, len(m.MLP.Layers[0].W))
	for i, j := range perm {
		p.Features[i], p.Mean[i], p.Std[i] = m.Features[j], m.Mean[j], m.Std[j]
		for o := 0; o < d.Out; o++ {
			d.W[o*d.In+i] = m.MLP.Layers[0].W[o*d.In+j]
		}
	}
	p.MLP.Layers = append([]nn.Dense{d}, m.MLP.Layers[1:]...)
	require.NoError(t, p.Validate())
	s, sp := m.NewScratch(), p.NewScratch()
	for range 50 {
		raw := make([]float32, len(Features))
		for i := range raw {
			raw[i] = float32(rng.NormFloat64())
		}
		assert.InDelta(t, m.Score(s, raw), p.Score(sp, raw), 1e-5)
	}
}

func TestValidateRefusesUnknownOrRepeatedFeatures(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct {
		name     string
		features []string
		want     string
	}{
		{"unknown", append(slices.Clone(Features[:4]), "tomorrow"), "does not compute"},
		{"repeated", append(slices.Clone(Features[:4]), Features[0]), "twice"},
		{"empty", nil, "uses 0 features"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m *Model
			if len(tc.features) > 0 {
				m = randomModel(tc.features, rng)
			} else {
				m = randomModel(Features[:1], rng)
				m.Features = nil
			}
			assert.ErrorContains(t, m.Validate(), tc.want)
		})
	}
}

// TestColdRowImputesEvidence: on a cold row the Evidence features are
// read as their training mean, whatever their raw values (a new item's
// zero popularity is unknown, not bad news), and the other features as
// they are; a warm row reads every feature as it is. It holds for a model
// validated against Features and for one scoring its own order.
func TestColdRowImputesEvidence(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	cold := slices.Index(Features, "cold")
	require.GreaterOrEqual(t, cold, 0)
	validated := randomModel(Features, rng)
	require.NoError(t, validated.Validate())
	own := randomModel(Features, rng)
	for _, m := range []*Model{validated, own} {
		s := m.NewScratch()
		for range 50 {
			raw := make([]float32, len(Features))
			for i := range raw {
				raw[i] = float32(rng.NormFloat64() * 3)
			}
			raw[cold] = 1
			atMean := slices.Clone(raw)
			other := slices.Clone(raw)
			for i, f := range Features {
				if slices.Contains(Evidence, f) {
					atMean[i] = m.Mean[i]
					other[i] = float32(rng.NormFloat64() * 3)
				}
			}
			other[cold] = 1
			want := m.Score(s, atMean)
			assert.InDelta(t, want, m.Score(s, raw), 1e-5)
			assert.InDelta(t, want, m.Score(s, other), 1e-5)

			// The same row warm: evidence counts.
			raw[cold], other[cold] = 0, 0
			assert.NotEqual(t, m.Score(s, raw), m.Score(s, other))
		}
	}
	for _, f := range Evidence {
		assert.Contains(t, Features, f)
	}
	assert.NotContains(t, Evidence, "twotower_score", "content evidence is never imputed")
}

// TestShownFeatureOptional: a ranker trained on an interaction log (over
// Features) scores a raw vector of Raw the same validated or not and never
// reads shown_log; a ranker trained on logged impressions (over Raw)
// reads it, and says it learned the demotion.
func TestShownFeatureOptional(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	logOnly := randomModel(Features, rng)
	validated := *logOnly
	require.NoError(t, validated.Validate())
	withShown := randomModel(Raw, rng)
	require.NoError(t, withShown.Validate())
	assert.False(t, logOnly.LearnedDemotion())
	assert.True(t, withShown.LearnedDemotion())
	sl, sv, sw := logOnly.NewScratch(), validated.NewScratch(), withShown.NewScratch()
	col := slices.Index(Raw, ShownFeature)
	moved := 0
	for range 50 {
		raw := make([]float32, len(Raw))
		for i := range raw {
			raw[i] = float32(rng.NormFloat64())
		}
		a, b, w := logOnly.Score(sl, raw), validated.Score(sv, raw), withShown.Score(sw, raw)
		assert.Equal(t, a, b)
		raw[col] += 3
		assert.Equal(t, a, logOnly.Score(sl, raw), "a log-trained ranker ignores shown_log")
		if withShown.Score(sw, raw) != w {
			moved++
		}
	}
	assert.Equal(t, 50, moved, "a ranker over Raw reads shown_log")
}

// TestScoreRows holds ScoreRows to Score, bit for bit, for validated and
// never-validated models, cold rows among the candidates, and candidate
// counts on both sides of the block it passes through the layers at once.
func TestScoreRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	validated := randomModel(Raw, rng)
	require.NoError(t, validated.Validate())
	for _, m := range []*Model{validated, randomModel(Features, rng)} {
		s, rows := m.NewScratch(), m.NewRows()
		for _, n := range []int{0, 1, 5, rowsBlock - 1, rowsBlock, rowsBlock + 3, 3*rowsBlock + 1} {
			raws := make([][]float32, n)
			for i := range raws {
				raws[i] = make([]float32, len(Raw))
				for j := range raws[i] {
					raws[i][j] = float32(rng.NormFloat64() * 3)
				}
				if i%3 == 0 {
					raws[i][slices.Index(Raw, coldFeature)] = 1
				}
			}
			got := make([]float32, n)
			m.ScoreRows(rows, raws, got)
			for i, raw := range raws {
				require.Equal(t, math.Float32bits(m.Score(s, raw)), math.Float32bits(got[i]), "candidate %d of %d", i, n)
			}
		}
	}
}

// TestRowsForOneModel: buffers made for one model are refused by another,
// even one of the same shape, whose features bind differently.
func TestRowsForOneModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	a, b := randomModel(Raw, rng), randomModel(Raw, rng)
	require.NoError(t, a.Validate())
	require.NoError(t, b.Validate())
	rows := a.NewRows()
	assert.True(t, rows.For(a))
	assert.False(t, rows.For(b))
	assert.False(t, (*Rows)(nil).For(a))
	assert.Panics(t, func() { b.ScoreRows(rows, [][]float32{make([]float32, len(Raw))}, make([]float32, 1)) })
}
