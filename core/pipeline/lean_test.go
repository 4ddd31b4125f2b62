package pipeline

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle/bundletest"
)

// TestLeanBundleServes: a bundle that leaves out its implied lists and
// its titles (format 4) pages its catalog — every item with its one
// category, no regions, no title — and answers requests, licensed
// everywhere.
func TestLeanBundleServes(t *testing.T) {
	const n = 300
	b := bundletest.Random(n, 32, 4)
	bundletest.MakeLean(b)
	it := &b.Items
	r := loadBundle(t, b)
	require.Equal(t, "4.0", r.b.Format)
	require.Nil(t, r.b.Items.CategoryOffsets, "the offsets are implied")

	seen := 0
	for off := 0; off < n; off += api.MaxCatalogPage {
		page := r.Catalog(&api.CatalogRequest{Offset: off, Limit: api.MaxCatalogPage})
		for k, ci := range page.Items {
			i := off + k
			assert.Equal(t, it.IDs.At(i), ci.ID)
			assert.Equal(t, "", ci.Title)
			assert.Equal(t, []string{b.Vocab.Categories.Values[it.Categories[i]-1]}, ci.Categories, "item %d", i)
			assert.Empty(t, ci.Regions)
			seen++
		}
	}
	assert.Equal(t, n, seen)

	req := historyRequest(5, 11)
	resp, err := r.Recommend(req)
	require.NoError(t, err)
	assert.Len(t, resp.Items, req.K, "every item is licensed in the request's region")
}
