package builder

import (
	"testing"

	"github.com/edgerec/edgerec/tools/synth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPipelineDataNeighbours: the item-to-item lists of a synthetic data
// set keep within their shares of the neighbour budget, point at other
// items, carry positive slim weights best first, and come out the same on
// a rebuild.
func TestPipelineDataNeighbours(t *testing.T) {
	cfg := synth.DefaultConfig()
	cfg.Users, cfg.Items = 300, 200
	ds, err := synth.Generate(cfg)
	require.NoError(t, err)
	rows := map[string]int32{}
	for i, it := range ds.Items {
		rows[it.ID] = int32(i)
	}
	n := len(ds.Items)
	created := ds.Interactions[len(ds.Interactions)-1].Time
	p, err := pipelineData(ds, rows, n, created, nil)
	require.NoError(t, err)
	require.Equal(t, n, p.Slim.Items())
	require.Equal(t, n, p.Covisit.Items())
	assert.Positive(t, p.Slim.Entries())
	slim := p.Slim.Unpack()
	for i := 0; i < n; i++ {
		assert.LessOrEqual(t, p.Covisit.Len(i), CovisitTop)
		items, ws := slim.Of(i)
		assert.LessOrEqual(t, len(items), SlimTop)
		for k, j := range items {
			assert.NotEqual(t, int32(i), j, "item %d recommends itself", i)
			assert.Positive(t, ws[k])
			if k > 0 {
				assert.LessOrEqual(t, ws[k], ws[k-1], "item %d's slim list is not best first", i)
			}
		}
	}
	again, err := pipelineData(ds, rows, n, created, nil)
	require.NoError(t, err)
	assert.Equal(t, p.Slim, again.Slim)
}
