package builder_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/tools/builder"
)

// TestNoTitles: a bundle built without titles holds the same items and
// embeddings (the item tower still reads the titles), every title empty,
// and is smaller by the titles' bytes.
func TestNoTitles(t *testing.T) {
	m, ds := smallTrained(t)
	with, err := builder.Build(m, ds, builder.Options{Created: 1})
	require.NoError(t, err)
	without, err := builder.Build(m, ds, builder.Options{Created: 1, NoTitles: true})
	require.NoError(t, err)

	titled := 0
	for i := range with.Items.Len() {
		titled += len(with.Items.Titles.At(i))
		assert.Empty(t, without.Items.Titles.At(i), "item %d", i)
	}
	require.Positive(t, titled, "the synthetic items have titles")
	assert.Equal(t, with.Items.IDs.Slice(), without.Items.IDs.Slice())
	assert.Equal(t, with.Embeddings, without.Embeddings, "the item tower embeds the titles either way")

	a, err := bundle.Encode(with)
	require.NoError(t, err)
	b, err := bundle.Encode(without)
	require.NoError(t, err)
	// Sections end on a multiple of 8 bytes: the saving is the titles'
	// bytes give or take that padding.
	assert.GreaterOrEqual(t, len(a)-len(b), titled-7, "the titles' bytes are gone")
}
