package train

import (
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
