package synth

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTastesDriveChoices: the tastes GenerateTastes returns are those the
// generator drew events from — the items users picked have a much higher
// affinity than the catalog's average for the same users — and the data
// set is Generate's.
func TestTastesDriveChoices(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Users, cfg.Items, cfg.EventsPerUser = 300, 400, 20
	ds, ts, err := GenerateTastes(cfg)
	require.NoError(t, err)
	plain, err := Generate(cfg)
	require.NoError(t, err)
	assert.Equal(t, plain, ds, "the same data set as Generate")

	user := make(map[string]int, len(ds.Users))
	for u, us := range ds.Users {
		user[us.ID] = u
	}
	item := make(map[string]int, len(ds.Items))
	for i, it := range ds.Items {
		item[it.ID] = i
	}
	picked, chance := 0.0, 0.0
	for _, x := range ds.Interactions {
		u, i := user[x.User], item[x.Item]
		a := ts.Affinity(u, i)
		require.GreaterOrEqual(t, a, 0.0)
		require.LessOrEqual(t, a, ts.Best(u)+1e-12)
		picked += a
		mean := 0.0
		for j := range ds.Items {
			mean += ts.Affinity(u, j)
		}
		chance += mean / float64(len(ds.Items))
	}
	assert.Greater(t, picked, 2*chance, "picked items' affinity %.1f vs the catalog's %.1f", picked, chance)
}
