package train

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/rank"
)

// TestMergeRankersScoresTheMean checks that the merged model scores every
// candidate as the mean of its members' scores, and that it is a valid
// ranker of the widened shape.
func TestMergeRankersScoresTheMean(t *testing.T) {
	cfg := DefaultRankerConfig()
	cfg.Cross = 0
	rng := rand.New(rand.NewPCG(1, 2))
	var ms []*rank.Model
	for range 3 {
		m := NewRanker(cfg, rng)
		for i := range m.Mean {
			m.Mean[i], m.Std[i] = 0.5, 2
		}
		for l := range m.MLP.Layers {
			for i := range m.MLP.Layers[l].B {
				m.MLP.Layers[l].B[i] = float32(rng.NormFloat64())
			}
		}
		ms = append(ms, m)
	}
	merged := mergeRankers(ms)
	require.NoError(t, merged.Validate())
	assert.Equal(t, 3*cfg.Hidden[0], merged.MLP.Layers[0].Out)
	assert.Equal(t, 3*cfg.Hidden[1], merged.MLP.Layers[1].Out)
	assert.Equal(t, 1, merged.MLP.Layers[2].Out)
	ms0 := merged.NewScratch()
	x := make([]float32, len(rank.Features))
	for range 50 {
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 3)
		}
		var want float32
		for _, m := range ms {
			want += m.Score(m.NewScratch(), x) / 3
		}
		assert.InDelta(t, want, merged.Score(ms0, x), 1e-4)
	}
}

// BenchmarkRankerScore scores one candidate with the default ranker and
// with merged ensembles (RankerConfig.Ensemble): what each costs the rank
// stage per candidate.
func BenchmarkRankerScore(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	cfg := DefaultRankerConfig()
	one := NewRanker(cfg, rng)
	cfg.Cross = 0
	x := make([]float32, len(rank.Features))
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	for _, k := range []int{1, 4, 8} {
		m := one
		if k > 1 {
			var ms []*rank.Model
			for range k {
				ms = append(ms, NewRanker(cfg, rng))
			}
			m = mergeRankers(ms)
		}
		b.Run(fmt.Sprintf("members=%d", k), func(b *testing.B) {
			s := m.NewScratch()
			b.ReportAllocs()
			for b.Loop() {
				m.Score(s, x)
			}
		})
	}
}
