package compact

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgerec/edgerec/core/ann"
	"github.com/edgerec/edgerec/tools/benchdata"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTrain: the index is valid, its rows are a permutation of the input
// grouped by list, every code decodes near its row (closer than the list
// centroid alone), the result does not depend on the workers, and it
// survives the byte layout.
func TestTrain(t *testing.T) {
	cat := benchdata.Clustered(3000, 64, 32, 2)
	opts := Options{Lists: 20, Sample: 3000, Iters: 4, Seed: 3, Workers: 1}
	ix, perm, err := Train(cat.Vectors, 64, opts)
	require.NoError(t, err)
	require.NoError(t, ix.Validate())
	assert.Equal(t, 3000, ix.Rows())
	seen := make([]bool, 3000)
	for _, i := range perm {
		require.False(t, seen[i])
		seen[i] = true
	}
	var errCode, errCentroid float64
	v, c := make([]float32, 64), make([]float32, 64)
	for l := range ix.Lists() {
		ix.Centroids.Decode(c, l)
		for r := ix.Offsets[l]; r < ix.Offsets[l+1]; r++ {
			ix.PQ.Decode(v, ix.Codes[int(r)*32:int(r+1)*32])
			x := cat.Row(int(perm[r]))
			for j := range v {
				e := float64(x[j] - c[j] - v[j])
				errCode += e * e
				e0 := float64(x[j] - c[j])
				errCentroid += e0 * e0
			}
		}
	}
	assert.Less(t, errCode, errCentroid/4, "the codes describe the residuals")

	opts.Workers = 3
	ix2, perm2, err := Train(cat.Vectors, 64, opts)
	require.NoError(t, err)
	assert.Equal(t, perm, perm2)
	assert.Equal(t, ix.Codes, ix2.Codes)
	assert.Equal(t, ix.PQ.Codebooks, ix2.PQ.Codebooks)

	b, err := ix.MarshalBinary()
	require.NoError(t, err)
	ix3, err := ann.DecodeIVFPQ(b)
	require.NoError(t, err)
	q := cat.Query(cat.User(rand.New(rand.NewPCG(1, 1)), 5))
	assert.Equal(t, ix.Search(nil, q, 10, 4, nil, nil), ix3.Search(nil, q, 10, 4, nil, nil))
}

// TestTrainRejects: shapes Train cannot code are errors, not panics.
func TestTrainRejects(t *testing.T) {
	_, _, err := Train(nil, 64, Options{})
	assert.Error(t, err)
	_, _, err = Train(make([]float32, 64*10), 64, Options{M: 24})
	assert.Error(t, err)
	x := make([]float32, 64*10)
	x[5] = float32(math.NaN())
	_, _, err = Train(x, 64, Options{})
	assert.Error(t, err)
}

// TestTuneAndRecall: on a small clustered catalog the codes reach a
// recall@10 against float32 that the tuner finds with a fraction of the
// lists, and probing every list does at least as well.
func TestTuneAndRecall(t *testing.T) {
	cat := benchdata.Clustered(20000, 64, 32, 4)
	ix, perm, err := Train(cat.Vectors, 64, Options{Seed: 5})
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(6, 7))
	qs := make([][]float32, 50)
	for i := range qs {
		qs[i] = cat.Query(cat.User(rng, 10))
	}
	np, r := Tune(ix, perm, cat.Vectors, qs, nil, 10, 0.85)
	assert.GreaterOrEqual(t, r, 0.85)
	assert.Less(t, np, ix.Lists()/2)
	// Out of reach: CeilingMargin below every list's recall, which is at
	// least the 0.85 reached above, with fewer lists than all.
	npHigh, high := Tune(ix, perm, cat.Vectors, qs, nil, 10, 1.01)
	assert.GreaterOrEqual(t, high, r-CeilingMargin)
	assert.Less(t, npHigh, ix.Lists(), "an unreachable target scans every list")
}

// TestEncodeAniso: the score-aware code never has a higher score-aware
// loss than the Euclidean code it starts from, lowers it on average, and
// η = 1 gives the Euclidean code.
func TestEncodeAniso(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	cat := benchdata.Clustered(2000, 64, 32, 5)
	ix, perm, err := Train(cat.Vectors, 64, Options{Lists: 8, Sample: 2000, Iters: 3, Eta: 1, Seed: 1})
	require.NoError(t, err)
	pq := ix.PQ
	loss := func(code []byte, r, x []float32, eta float32) float64 {
		v := make([]float32, 64)
		pq.Decode(v, code)
		var norm, e2, eu float64
		for j := range x {
			norm += float64(x[j]) * float64(x[j])
		}
		for j := range v {
			e := float64(r[j] - v[j])
			e2 += e * e
			eu += e * float64(x[j]) / math.Sqrt(norm)
		}
		return e2 + float64(eta-1)*eu*eu
	}
	work := make([]float32, 128)
	c := make([]float32, 64)
	var sumL2, sumAniso float64
	for range 200 {
		row := rng.IntN(2000)
		l := 0
		for int(ix.Offsets[l+1]) <= row {
			l++
		}
		ix.Centroids.Decode(c, l)
		x := cat.Row(int(perm[row]))
		r := make([]float32, 64)
		for j := range r {
			r[j] = x[j] - c[j]
		}
		l2, an, one := make([]byte, 32), make([]byte, 32), make([]byte, 32)
		pq.Encode(l2, r)
		encodeAniso(pq, an, r, x, 8, 2, work)
		encodeAniso(pq, one, r, x, 1, 2, work)
		assert.Equal(t, l2, one)
		a, b := loss(l2, r, x, 8), loss(an, r, x, 8)
		assert.LessOrEqual(t, b, a*(1+1e-5))
		sumL2 += a
		sumAniso += b
	}
	assert.Less(t, sumAniso, 0.9*sumL2)
}
