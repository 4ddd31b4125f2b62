package builder_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/tools/builder"
	"github.com/edgerec/edgerec/tools/dataset"
)

// rowOf returns the row of item id in b.
func rowOf(t *testing.T, b *bundle.Bundle, id string) int {
	t.Helper()
	for i := range b.Items.Len() {
		if b.Items.IDs.At(i) == id {
			return i
		}
	}
	t.Fatalf("no item %q", id)
	return -1
}

// TestCreatedFollowsTheData: by default a bundle is as of the newest data
// it holds, so a rebuild with interactions newer than the model counts
// them (and its version says when); a creation time given explicitly that
// leaves interactions out says so.
func TestCreatedFollowsTheData(t *testing.T) {
	m, ds := smallTrained(t)
	var warnings []string
	warnf := func(format string, a ...any) { warnings = append(warnings, fmt.Sprintf(format, a...)) }

	b0, err := builder.Build(m, ds, builder.Options{Warnf: warnf})
	require.NoError(t, err)
	trained := m.Manifest.TrainedAt
	assert.Equal(t, trained, b0.Manifest.Created, "the training data: created at the model's training time")
	assert.Empty(t, warnings)

	// Fifty users take one item an hour after the model's training.
	item := ds.Items[0].ID
	late := *ds
	late.Interactions = slices.Clone(ds.Interactions)
	for i := range 50 {
		late.Interactions = append(late.Interactions, dataset.Interaction{User: ds.Users[i].ID, Item: item, Time: trained + 3600 + int64(i), Value: 1})
	}
	b1, err := builder.Build(m, &late, builder.Options{Warnf: warnf})
	require.NoError(t, err)
	assert.Empty(t, warnings, "nothing left out, nothing to say")
	last := trained + 3600 + 49
	assert.Equal(t, last, b1.Manifest.Created)
	assert.True(t, strings.HasSuffix(b1.Manifest.Version, time.Unix(last, 0).UTC().Format("20060102T150405Z")), b1.Manifest.Version)
	assert.NotEqual(t, b0.Manifest.Version, b1.Manifest.Version, "different content, different version")
	assert.Greater(t, b1.Items.Popularity[rowOf(t, b1, item)], b0.Items.Popularity[rowOf(t, b0, item)], "the late takes count")

	// Asked for the training time, the build leaves them out, and says so.
	b2, err := builder.Build(m, &late, builder.Options{Created: trained, Warnf: warnf})
	require.NoError(t, err)
	assert.Equal(t, b0.Items.Popularity[rowOf(t, b0, item)], b2.Items.Popularity[rowOf(t, b2, item)])
	require.Len(t, warnings, 1)
	assert.Contains(t, warnings[0], fmt.Sprintf("50 of the data set's %d interactions are after the creation time", len(late.Interactions)))
}

// TestWarnsOfUnknownCatalog: a catalog the model has no id embedding for
// builds (content alone embeds it) with a warning naming the counts.
func TestWarnsOfUnknownCatalog(t *testing.T) {
	m, ds := smallTrained(t)
	other := *ds
	other.Items = slices.Clone(ds.Items)
	for i := range other.Items {
		other.Items[i].ID = "other-" + other.Items[i].ID
	}
	other.Interactions = nil
	var warnings []string
	b, err := builder.Build(m, &other, builder.Options{Created: 1, Warnf: func(format string, a ...any) {
		warnings = append(warnings, fmt.Sprintf(format, a...))
	}})
	require.NoError(t, err)
	assert.Equal(t, len(ds.Items), b.Items.Len())
	require.Len(t, warnings, 1)
	assert.Contains(t, warnings[0], fmt.Sprintf("only 0 of the catalog's %d items are known to the model", len(ds.Items)))
}

// TestCreationTimeChecks: a derived creation time is refused past
// MaxCreated (an interaction's time in milliseconds) and warned of in the
// future or far past the training; a user's repeat of an item does not
// move it (training counts a pair's first interaction only).
func TestCreationTimeChecks(t *testing.T) {
	m, ds := smallTrained(t)
	trained := m.Manifest.TrainedAt
	with := func(ins ...dataset.Interaction) *dataset.Dataset {
		d := *ds
		d.Interactions = append(slices.Clone(ds.Interactions), ins...)
		return &d
	}
	build := func(d *dataset.Dataset) (*bundle.Bundle, []string, error) {
		var warnings []string
		b, err := builder.Build(m, d, builder.Options{Warnf: func(format string, a ...any) { warnings = append(warnings, fmt.Sprintf(format, a...)) }})
		return b, warnings, err
	}
	first := ds.Interactions[len(ds.Interactions)-1]

	repeat := first
	repeat.Time = trained + 86400
	b, warnings, err := build(with(repeat))
	require.NoError(t, err)
	assert.Equal(t, trained, b.Manifest.Created, "a repeat is not new data")
	assert.Empty(t, warnings)

	fresh := dataset.Interaction{User: first.User, Item: "", Time: trained + 40*86400, Value: 1}
	for _, it := range ds.Items {
		if !slices.ContainsFunc(ds.Interactions, func(in dataset.Interaction) bool { return in.User == first.User && in.Item == it.ID }) {
			fresh.Item = it.ID
			break
		}
	}
	require.NotEmpty(t, fresh.Item)
	b, warnings, err = build(with(fresh))
	require.NoError(t, err)
	assert.Equal(t, fresh.Time, b.Manifest.Created)
	require.Len(t, warnings, 1)
	assert.Contains(t, warnings[0], "is 40 days after the model's training")

	future := fresh
	future.Time = time.Now().Unix() + 10*86400
	_, warnings, err = build(with(future))
	require.NoError(t, err)
	assert.True(t, slices.ContainsFunc(warnings, func(w string) bool { return strings.Contains(w, "is in the future") }), warnings)

	millis := fresh
	millis.Time = 1782776404000
	_, _, err = build(with(millis))
	require.ErrorContains(t, err, "milliseconds")
}
