package builder

import (
	"bytes"
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/ann"
	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/pipeline"
	"github.com/edgerec/edgerec/core/vec"
	"github.com/edgerec/edgerec/tools/benchdata/sources"
)

// compactPair returns the same clustered catalog as a full bundle and as a
// compact one, both with every candidate source, encoded.
func compactPair(t *testing.T, n int, workers int) (full, compact []byte, rep CompactReport) {
	t.Helper()
	f, c := clusteredBundle(n), clusteredBundle(n)
	rep, err := Compact(c, CompactOptions{Seed: 3, Workers: workers, Queries: func(b *bundle.Bundle) ([][]float32, [][]int32) {
		return historyQueries(t, b, 200)
	}})
	require.NoError(t, err)
	f.Pipeline, c.Pipeline = sources.Random(n, 4), sources.Random(n, 4)
	full, err = bundle.Encode(f)
	require.NoError(t, err)
	compact, err = bundle.Encode(c)
	require.NoError(t, err)
	return full, compact, rep
}

// historyQueries returns the query embeddings the module computes for q
// histories of 8 items: the queries a compact bundle must be tuned on,
// which lie farther from the items than item vectors do.
func historyQueries(t *testing.T, b *bundle.Bundle, q int) ([][]float32, [][]int32) {
	data, err := bundle.Encode(b)
	require.NoError(t, err)
	r, err := pipeline.Load(data)
	require.NoError(t, err)
	n := b.Items.Len()
	out, hist := make([][]float32, q), make([][]int32, q)
	for i := range out {
		rq := r.Resolve(historyRequest(r.Bundle(), i, n))
		out[i], hist[i] = r.Embed(rq), rq.Exclude
	}
	return out, hist
}

// historyRequest is request i of the tests: 20 items for a history of 8.
func historyRequest(b *bundle.Bundle, i, n int) *api.Request {
	req := &api.Request{K: 20, Context: api.Context{Time: 1_767_225_600}}
	for j := 0; j < 8; j++ {
		req.History = append(req.History, api.Event{Item: b.Items.IDs.At((i*131 + j*17) % n)})
	}
	return req
}

// TestCompact: a compact bundle holds codes instead of int8 rows, keeps
// every item's metadata with its reconstruction, reaches the recall target
// on its tuning queries, does not depend on the workers, and the module's
// retrieval over it finds what exact search finds.
func TestCompact(t *testing.T) {
	const n = 8000
	full, data, rep := compactPair(t, n, 2)
	assert.GreaterOrEqual(t, rep.Recall, DefaultCompactTarget, "tuned recall (%+v)", rep)
	assert.False(t, rep.Synthetic, "tuned on the queries given")

	_, again, _ := compactPair(t, n, 1)
	assert.True(t, bytes.Equal(data, again), "the compact bundle depends on the number of workers")
	assert.Less(t, len(data), len(full), "compact bundle %d bytes, full %d", len(data), len(full))

	fr, err := pipeline.Load(full)
	require.NoError(t, err)
	cr, err := pipeline.Load(data)
	require.NoError(t, err)
	fb, cb := fr.Bundle(), cr.Bundle()
	require.True(t, cb.Compact())
	require.Nil(t, cb.Embeddings)
	assert.Equal(t, bundle.QuantIVFPQ, cb.Manifest.Quantization)

	// Each item's reconstruction stays near its int8 row, under its id.
	x, y := make([]float32, 64), make([]float32, 64)
	var worst float32 = 1
	for r := 0; r < n; r += 7 {
		fr, ok := fb.Items.Lookup(cb.Items.IDs.At(r))
		require.True(t, ok)
		require.Equal(t, fb.Items.Released[fr], cb.Items.Released[r], "metadata of %s", cb.Items.IDs.At(r))
		fb.Vector(x, int(fr))
		cb.Vector(y, r)
		worst = min(worst, vec.Dot(x, y)/(vec.Norm(x)*vec.Norm(y)))
	}
	assert.Greater(t, worst, float32(0.8), "worst cosine between an item's row and its reconstruction")

	// Retrieval: the compact top 100 against the exact int8 top 100.
	var hit, total int
	for i := 0; i < 40; i++ {
		emb := make([]float32, 64)
		fb.Vector(emb, (i*7919)%n)
		exact := map[string]bool{}
		for _, h := range (ann.Exact{Items: fb.Embeddings}).Search(emb, 100, nil) {
			exact[fb.Items.IDs.At(int(h.Item))] = true
		}
		for _, c := range cr.Retrieve(&pipeline.Query{}, emb, 100) {
			if exact[cb.Items.IDs.At(int(c.Row))] {
				hit++
			}
		}
		total += 100
	}
	assert.GreaterOrEqual(t, float64(hit)/float64(total), 0.85, "compact retrieval recall@100 against the exact int8 scan")
}

// TestCompactServes: every stage that reads rows works on a compact
// bundle — a history, a seed, MMR, an allow-list, the fresh source — and
// gives lists close to the full bundle's for the same requests.
func TestCompactServes(t *testing.T) {
	const n = 4000
	full, data, _ := compactPair(t, n, 0)
	fr, err := pipeline.Load(full)
	require.NoError(t, err)
	cr, err := pipeline.Load(data)
	require.NoError(t, err)
	lambda := 0.7
	var same, total int
	for i := 0; i < 20; i++ {
		// Other requests than the tuning queries' (i from 1000).
		req := historyRequest(fr.Bundle(), 1000+i, n)
		req.Order = &api.Order{MMRLambda: &lambda}
		req.Seed = fr.Bundle().Items.IDs.At((i * 977) % n)
		fresp, err := fr.Recommend(req)
		require.NoError(t, err)
		cresp, err := cr.Recommend(req)
		require.NoError(t, err)
		require.Len(t, cresp.Items, 20)
		for _, it := range cresp.Items {
			require.NotEqual(t, req.Seed, it.ID, "the seed recommended")
			for _, h := range req.History {
				require.NotEqual(t, h.Item, it.ID, "a history item recommended")
			}
		}
		got := map[string]bool{}
		for _, it := range cresp.Items {
			got[it.ID] = true
		}
		for _, it := range fresp.Items {
			if got[it.ID] {
				same++
			}
		}
		total += len(fresp.Items)

		// An allow-list is scored row by row: the compact scorer's
		// order is the order of the reconstructions' inner products.
		allow := []string{}
		for j := 0; j < 50; j++ {
			allow = append(allow, fr.Bundle().Items.IDs.At((i*53+j*71)%n))
		}
		areq := &api.Request{K: 10, Filters: &api.Filters{Allow: allow}, Sources: api.Weights{"twotower": 1}}
		aresp, err := cr.Recommend(areq)
		require.NoError(t, err)
		require.NotEmpty(t, aresp.Items)
		for _, it := range aresp.Items {
			assert.True(t, slices.Contains(allow, it.ID), "%s outside the allow-list", it.ID)
		}
	}
	// The two bundles serve from different vectors (codes against int8
	// rows) and the test bundle's random towers and ranker leave many
	// near ties, so about half of the lists agree; a compact bundle that
	// scored the wrong rows would agree by chance, K/n = 0.5 %.
	assert.Greater(t, float64(same)/float64(total), 0.3, "share of the full bundle's recommendations the compact one also gives")
}

// TestCodeHistory: a full bundle may hold its history rows as codes
// (format 3.0): it encodes, decodes and serves, each row in half its int8
// codes' bytes and no scale, and the queries it computes stay close to
// those of the int8 rows it codes.
func TestCodeHistory(t *testing.T) {
	const n = 2000
	f, c := clusteredBundle(n), clusteredBundle(n)
	m, err := CodeHistory(c, 0, 1, 0)
	require.NoError(t, err)
	assert.Equal(t, f.History.Dim/2, m)
	_, err = CodeHistory(c, 0, 1, 0)
	assert.ErrorContains(t, err, "no int8 rows")
	load := func(b *bundle.Bundle) (*pipeline.Recommender, int) {
		data, err := bundle.Encode(b)
		require.NoError(t, err)
		r, err := pipeline.Load(data)
		require.NoError(t, err)
		return r, len(data)
	}
	fr, fsize := load(f)
	cr, csize := load(c)
	assert.Nil(t, cr.Bundle().History)
	// Each row: H/2 bytes of code instead of H of int8 and a float32
	// scale, less the codebooks' 256 × H float32.
	h := f.History.Dim
	assert.InDelta(t, n*(h+4-h/2)-4*256*h, fsize-csize, 64, "bytes saved")
	var cos float64
	for i := range 50 {
		req := historyRequest(fr.Bundle(), i, n)
		a, b := fr.Embed(fr.Resolve(req)), cr.Embed(cr.Resolve(req))
		cos += float64(vec.Dot(a, b)) / math.Sqrt(float64(vec.Dot(a, a))*float64(vec.Dot(b, b)))
		resp, err := cr.Recommend(req)
		require.NoError(t, err)
		require.Len(t, resp.Items, 20)
	}
	assert.Greater(t, cos/50, 0.95, "mean cosine between the queries of coded and int8 history rows")
}
