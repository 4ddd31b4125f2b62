package train

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/vec"
	"github.com/edgerec/edgerec/tools/synth"
)

// TestValidRecallMatchesNaive holds the blocked validation to a plain
// loop: core's Embed per item and query, a dot product per pair, the
// history left out, hits over min(targets, 20) among the top 20.
func TestValidRecallMatchesNaive(t *testing.T) {
	cfg := tinyConfig()
	sc := synth.DefaultConfig()
	sc.Users, sc.Items = 120, 300 // more items than one validation block
	ds, err := synth.Generate(sc)
	require.NoError(t, err)
	c, err := newCorpus(ds, 0.2)
	require.NoError(t, err)
	require.Greater(t, len(c.items)-1, valBlock)
	m := initModel(c, &cfg, c.train, rand.New(rand.NewPCG(8, 9)))
	qs := c.validationQueries(maxValQueries)
	require.NotEmpty(t, qs)

	n := len(c.items) - 1
	items := make([][]float32, n+1)
	for r := 1; r <= n; r++ {
		items[r] = slices.Clone(m.Item.Embed(m.Item.NewScratch(), c.itemInput(&m.Item, int32(r), c.valStart, false)))
	}
	var want float64
	for _, v := range qs {
		e := example{user: v.user, pos: v.pos}
		ctx := c.context(e)
		u := m.Query.Embed(m.Query.NewScratch(), &m.Item.IDs, m.Query.Prepare(&ctx, c.history(e, cfg.MaxHistory), -1))
		seq := c.users[v.user].items
		type scored struct {
			r int32
			s float32
		}
		var all []scored
		for r := 1; r <= n; r++ {
			if !slices.Contains(seq[:v.pos], int32(r)) {
				all = append(all, scored{int32(r), vec.Dot(u, items[r])})
			}
		}
		slices.SortStableFunc(all, func(a, b scored) int {
			if a.s != b.s {
				if a.s > b.s {
					return -1
				}
				return 1
			}
			return int(a.r - b.r)
		})
		hits := 0
		for _, x := range all[:min(20, len(all))] {
			if slices.Contains(seq[v.pos:], x.r) {
				hits++
			}
		}
		want += float64(hits) / float64(min(len(seq)-int(v.pos), 20))
	}
	want /= float64(len(qs))
	// The batched towers add float32s in another order than core's Embed,
	// which can swap two items that tie to the last bit at the 20th place:
	// a hit or two over thousands of queries, no more.
	assert.InDelta(t, want, validRecall(c, m, &cfg, qs), 1e-3)
}
