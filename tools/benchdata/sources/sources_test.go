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
	other := sources.Random(n, 5)
	assert.NotEqual(t, p.Covisit.Unpack().Items, other.Covisit.Unpack().Items)
	for name, l := range map[string]bundle.Neighbours{"covisit": p.Covisit.Unpack(), "slim": p.Slim.Unpack()} {
		require.Len(t, l.Offsets, n+1, name)
		for i := range n {
			assert.LessOrEqual(t, l.Offsets[i+1]-l.Offsets[i], uint32(max(sources.CovisitTop, sources.SlimTop)))
			for _, j := range l.Items[l.Offsets[i]:l.Offsets[i+1]] {
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
	assert.Equal(t, p.Covisit.Unpack(), got.Pipeline.Covisit.Unpack())
}
