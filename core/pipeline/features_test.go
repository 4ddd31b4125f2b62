package pipeline

import (
	"slices"
	"testing"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle/bundletest"
	"github.com/edgerec/edgerec/core/quant"
	"github.com/edgerec/edgerec/core/rank"
)

// TestQuerySimilarityFeature: Features reuses the two-tower source's score
// as query_similarity; it must equal the kernel's score of the query and
// the item for every candidate, whichever source proposed it.
func TestQuerySimilarityFeature(t *testing.T) {
	r := loadBundle(t, bundletest.Random(3_000, 64, 5))
	rq := stage1(r, historyRequest(6, 41))
	q, emb, cands := rq.q, rq.emb, rq.cands
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
		if c.SourceRank[api.SourceTwoTower] >= 0 {
			fromTwoTower++
		}
	}
	if fromTwoTower == 0 || fromTwoTower == len(cands) {
		t.Fatalf("%d of %d candidates from the two-tower source: the test needs both kinds", fromTwoTower, len(cands))
	}
}
