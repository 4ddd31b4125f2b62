package sources_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/bundle/bundletest"
	"github.com/edgerec/edgerec/tools/benchdata/sources"
)

// TestRandom: the section is deterministic in its seed, every list points
// at other items of the catalog, and a bundle carrying it round-trips.
func TestRandom(t *testing.T) {
	const n = 300
	p := sources.Random(n, 4)
	assert.Equal(t, p, sources.Random(n, 4))
	assert.NotEqual(t, p.Covisit.Items, sources.Random(n, 5).Covisit.Items)
	for name, l := range map[string]struct {
		offsets []uint32
		items   []int32
	}{"covisit": {p.Covisit.Offsets, p.Covisit.Items}, "slim": {p.Slim.Offsets, p.Slim.Items}} {
		require.Len(t, l.offsets, n+1, name)
		for i := range n {
			for _, j := range l.items[l.offsets[i]:l.offsets[i+1]] {
				require.True(t, j >= 0 && j < n && int(j) != i, "%s: item %d lists %d", name, i, j)
			}
		}
	}
	b := bundletest.Random(n, 8, 1)
	b.Pipeline = p
	data, err := bundle.Encode(b)
	require.NoError(t, err)
	got, err := bundle.Decode(data)
	require.NoError(t, err)
	assert.Equal(t, p.Popular, got.Pipeline.Popular)
	assert.Equal(t, p.Covisit.Items, got.Pipeline.Covisit.Items)
}
