package compact

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/vec"
	"github.com/edgerec/edgerec/tools/benchdata"
)

// TestTrainRows: coded rows stay close to the rows (on clustered rows of
// width 32, two values a byte), the result does not depend on the
// workers, and a width the subspaces do not divide is refused.
func TestTrainRows(t *testing.T) {
	cat := benchdata.Clustered(5000, 32, 16, 3)
	r, err := TrainRows(cat.Vectors, 32, 0, 7, 2)
	require.NoError(t, err)
	require.Equal(t, 16, r.PQ.M)
	require.Equal(t, 5000, r.Len())
	got := make([]float32, 32)
	var sum float64
	for i := range 5000 {
		r.Decode(got, i)
		x := cat.Vectors[i*32 : (i+1)*32]
		sum += float64(vec.Dot(got, x) / (vec.Norm(got) * vec.Norm(x)))
	}
	assert.Greater(t, sum/5000, 0.9, "mean cosine of a row and its code")
	again, err := TrainRows(cat.Vectors, 32, 0, 7, 1)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(r.Codes, again.Codes), "codes depend on the workers")
	_, err = TrainRows(cat.Vectors, 32, 5, 7, 1)
	assert.Error(t, err)
	assert.Equal(t, 6, RowsM(12))
	assert.Equal(t, 1, RowsM(3))
	assert.Equal(t, 3, RowsM(9))
}
