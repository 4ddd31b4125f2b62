package pipeline

import (
	"slices"
	"testing"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/bundle/bundletest"
	"github.com/edgerec/edgerec/core/quant"
	"github.com/edgerec/edgerec/core/rank"
)

// TestQuerySimilarityFeature: Features reuses the two-tower source's score
// as query_similarity; it must equal the kernel's score of the query and
// the item for every candidate, whichever source proposed it.
func TestQuerySimilarityFeature(t *testing.T) {
	r := loadBundle(t, bundletest.Random(3_000, 64, 5))
	var hist []api.Event
	for i := range 6 {
		hist = append(hist, api.Event{Item: bundletest.ID(i * 41)})
	}
	req := &api.Request{K: 20, History: hist, Context: api.Context{Region: "eu", Age: 30}}
	req.Normalize()
	p, _, _ := r.Params(req)
	q := r.Resolve(req)
	f, _ := r.newFilter(req, q)
	emb := r.Embed(q)
	cands := r.sources(q, emb, &p, 1, f.keep, requestSeed("", "", q.Time), nil).cands
	r.Features(q, emb, cands)
	col := slices.Index(rank.Features, "query_similarity")
	query := quant.NewQuery(emb)
	var one [1]float32
	fromTwoTower := 0
	for _, c := range cands {
		r.b.Embeddings.Scores(one[:], query, int(c.Row))
		if c.Features[col] != one[0] {
			t.Fatalf("row %d: query_similarity %v, kernel %v", c.Row, c.Features[col], one[0])
		}
		if c.SourceRank[bundle.SourceTwoTower] >= 0 {
			fromTwoTower++
		}
	}
	if fromTwoTower == 0 || fromTwoTower == len(cands) {
		t.Fatalf("%d of %d candidates from the two-tower source: the test needs both kinds", fromTwoTower, len(cands))
	}
}
