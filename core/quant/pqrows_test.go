package quant

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPQRows: AddRow adds w times the row Decode gives; Validate refuses
// codes that are not whole rows.
func TestPQRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, shape := range [][2]int{{32, 8}, {32, 16}, {12, 3}} {
		dim, m := shape[0], shape[1]
		p := &PQ{Dim: dim, M: m, Codebooks: make([]float32, PQCentroids*dim)}
		for i := range p.Codebooks {
			p.Codebooks[i] = float32(rng.NormFloat64())
		}
		r := &PQRows{PQ: p, Codes: make([]byte, 5*m)}
		for i := range r.Codes {
			r.Codes[i] = byte(rng.IntN(256))
		}
		require.NoError(t, r.Validate())
		require.Equal(t, 5, r.Len())
		require.Equal(t, dim, r.Width())
		row := make([]float32, dim)
		for i := range 5 {
			dst := make([]float32, dim)
			for j := range dst {
				dst[j] = float32(j)
			}
			r.AddRow(dst, i, 0.5)
			r.Decode(row, i)
			for j := range dst {
				assert.InDelta(t, float32(j)+0.5*row[j], dst[j], 1e-5, "row %d, column %d", i, j)
			}
		}
		r.Codes = r.Codes[:len(r.Codes)-1]
		assert.Error(t, r.Validate())
	}
}
