package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestRecallByOrders checks the held-out recall the ranker's guard
// compares: the same lists give different recalls in the retrieval order
// (list order) and in the blend's order, and each counts against every
// target of the user, found by retrieval or not.
func TestRecallByOrders(t *testing.T) {
	// 25 candidates; the two positives sit at list positions 21 and 24,
	// out of the retrieval order's top 20, and first and third by blend.
	l := list{targets: 4, y: make([]bool, 25), x: make([][]float32, 25), blend: make([]float32, 25)}
	for i := range l.blend {
		l.blend[i] = -float32(100 + i)
	}
	l.y[21], l.y[24] = true, true
	l.blend[21], l.blend[24] = 0, -2
	lists := []list{l}
	assert.Equal(t, 0.0, recallAt(lists, 20, nil))
	assert.Equal(t, 0.5, recallBy(lists, 20, func(l list, i int) float32 { return l.blend[i] }))
	assert.Equal(t, 0.25, recallBy(lists, 1, func(l list, i int) float32 { return l.blend[i] }))
	assert.Equal(t, 0.5, recallAt(lists, 25, nil))
}

// TestNDCGAt checks the held-out NDCG@k that RankerConfig.Select may
// choose the epoch by: binary gains discounted by log2(rank + 2), over
// the ideal DCG of min(targets, k) hits, targets not retrieved counting.
func TestNDCGAt(t *testing.T) {
	// A one-feature ranker that scores a candidate by its feature.
	cfg := DefaultRankerConfig()
	cfg.Cross, cfg.Hidden = 0, nil
	m := NewRanker(cfg, rand.New(rand.NewPCG(1, 1)))
	m.MLP.Layers[0].W = make([]float32, len(m.Features))
	m.MLP.Layers[0].W[0] = 1
	row := func(v float32) []float32 {
		x := make([]float32, len(m.Features))
		x[0] = v
		return x
	}
	// Positives at ranks 0 and 2 of 4; 3 targets in all.
	l := list{targets: 3, x: [][]float32{row(1), row(4), row(2), row(3)}, y: []bool{false, true, true, false}}
	ideal := 1 + 1/math.Log2(3) + 1/math.Log2(4)
	assert.InDelta(t, (1+1/math.Log2(4))/ideal, ndcgAt([]list{l}, 10, m), 1e-9)
	// At k = 1 only the first place counts, over an ideal of one hit.
	assert.InDelta(t, 1, ndcgAt([]list{l}, 1, m), 1e-9)
}
