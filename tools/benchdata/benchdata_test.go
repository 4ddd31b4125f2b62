package benchdata

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/bloom"
)

// TestClustered: the catalog is deterministic in its seed, its rows are
// unit vectors, every item belongs to the sub-genre that lists it, and a
// user's history comes from the catalog.
func TestClustered(t *testing.T) {
	c := Clustered(2000, 16, 8, 1)
	assert.Equal(t, c.Vectors, Clustered(2000, 16, 8, 1).Vectors, "same seed, same catalog")
	assert.NotEqual(t, c.Vectors, Clustered(2000, 16, 8, 2).Vectors, "another seed, another catalog")
	require.Len(t, c.Vectors, 2000*16)
	require.Len(t, c.Proj, 8*16)
	members := 0
	for s, m := range c.Members {
		members += len(m)
		for _, i := range m {
			require.Equal(t, int32(s), c.Cluster[i])
		}
	}
	assert.Equal(t, 2000, members)
	for i := range c.N {
		var norm float64
		for _, v := range c.Row(i) {
			norm += float64(v) * float64(v)
		}
		require.InDelta(t, 1, norm, 1e-4, "row %d", i)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	h := c.User(rng, 10)
	require.Len(t, h, 10)
	for _, r := range h {
		assert.True(t, r >= 0 && int(r) < c.N)
	}
	q := c.Query(h)
	var norm float64
	for _, v := range q {
		norm += float64(v) * float64(v)
	}
	assert.InDelta(t, 1, norm, 1e-4)
}

func TestRecall(t *testing.T) {
	for _, c := range []struct {
		got, want []int32
		recall    float64
	}{
		{[]int32{1, 2, 3}, []int32{1, 2, 3}, 1},
		{[]int32{3, 9}, []int32{1, 2, 3, 4}, 0.25},
		{nil, []int32{5}, 0},
	} {
		assert.Equal(t, c.recall, Recall(c.got, c.want), "%v in %v", c.got, c.want)
	}
}

// TestFilters: a full filter decodes and contains any id; a filter below
// a rate is as full as it may be without passing it.
func TestFilters(t *testing.T) {
	for _, mk := range [][2]int{{64, 1}, {1 << 16, 7}, {bloom.MaxBits, bloom.MaxHashes}} {
		f, err := bloom.Decode(FullFilter(mk[0], mk[1]))
		require.NoError(t, err, "m = %d, k = %d", mk[0], mk[1])
		assert.Equal(t, mk[0], f.M())
		for i := range 20 {
			assert.True(t, f.MayContain(fmt.Sprint("anything-", i)))
		}
		assert.Equal(t, 1.0, f.EstimatedFPRate())
	}
	assert.Panics(t, func() { FullFilter(100, 1) })
	const rate = 0.3
	f := FilterBelow(500, rate, 1)
	assert.Less(t, f.EstimatedFPRate(), rate)
	assert.Greater(t, f.EstimatedFPRate(), rate*0.8, "the filter stops well short of the rate")
}
