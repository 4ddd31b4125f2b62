package builder_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/tools/builder"
)

// TestBudget: a bundle is held to its size before anything is measured,
// then to its recall; each broken limit is a *BudgetError with the figures
// that broke it, and a budget it meets returns the recall measured.
func TestBudget(t *testing.T) {
	m, ds := smallTrained(t)
	b, err := builder.Build(m, ds, builder.Options{})
	require.NoError(t, err)
	data, err := bundle.Encode(b)
	require.NoError(t, err)
	size := int64(len(data))

	rep, err := builder.Budget{}.Check(m, ds, b, size)
	assert.NoError(t, err, "the zero budget allows everything")
	assert.Nil(t, rep, "and measures nothing")

	// Over the size: refused before recall is measured.
	var be *builder.BudgetError
	rep, err = builder.Budget{MaxBytes: size - 1, MinRecall: 0.5}.Check(m, ds, b, size)
	require.True(t, errors.As(err, &be), "err %v", err)
	assert.Nil(t, rep)
	assert.Equal(t, builder.OverBytes, be.Limit)
	assert.Equal(t, size, be.Bytes)
	assert.Equal(t, size-1, be.MaxBytes)
	assert.InDelta(t, float64(size)/200, be.BytesPerItem(), 1e-9)
	assert.Contains(t, err.Error(), "over the limit")

	// Within the size, under a recall floor no int8 bundle meets.
	rep, err = builder.Budget{MaxBytes: size, MinRecall: 1, Recall: builder.RecallOptions{K: 50}}.Check(m, ds, b, size)
	require.True(t, errors.As(err, &be), "err %v", err)
	require.NotNil(t, rep)
	assert.Equal(t, builder.UnderRecall, be.Limit)
	assert.Equal(t, *rep, be.Recall)
	assert.Equal(t, 50, rep.K)
	assert.Less(t, rep.Recall, 1.0)

	// Within both: the recall measured comes back.
	rep, err = builder.Budget{MaxBytes: size, MinRecall: 0.3, Recall: builder.RecallOptions{K: 20}}.Check(m, ds, b, size)
	require.NoError(t, err)
	require.NotNil(t, rep)
	assert.GreaterOrEqual(t, rep.Recall, 0.3)
	assert.LessOrEqual(t, rep.Recall, 1.0)
}

func TestBudgetValidate(t *testing.T) {
	assert.NoError(t, builder.Budget{MaxBytes: 1 << 20, MinRecall: 1, Recall: builder.RecallOptions{K: 10, Queries: 5}}.Validate())
	for name, bg := range map[string]builder.Budget{
		"MaxBytes":  {MaxBytes: -1},
		"MinRecall": {MinRecall: 1.01},
		"negative":  {MinRecall: 0.5, Recall: builder.RecallOptions{K: -1}},
	} {
		err := bg.Validate()
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), name)
		_, err = bg.Check(nil, nil, nil, 0)
		assert.Error(t, err, "Check validates the budget first: %s", name)
	}
	_, err := builder.Budget{MinRecall: -0.1}.Check(nil, nil, nil, 0)
	assert.ErrorContains(t, err, "MinRecall")
}
