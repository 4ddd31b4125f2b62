package pipeline

import (
	"math/rand/v2"
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

// TestSortCandidatesMatchesComparison holds sortCandidates to a plain
// comparison sort by score (descending), then row, with many ties.
func TestSortCandidatesMatchesComparison(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for n := range 300 {
		cands := make([]Candidate, n)
		for i := range cands {
			cands[i] = newCandidate(int32(rng.IntN(1000)))
			cands[i].Score = float32(rng.IntN(5)) - 2 // ties, negatives and zero
			if rng.IntN(4) == 0 {
				cands[i].Score = float32(rng.NormFloat64())
			}
			cands[i].Features = []float32{float32(i)} // which candidate it was: the whole struct must move
		}
		want := slices.Clone(cands)
		slices.SortStableFunc(want, func(a, b Candidate) int {
			switch {
			case a.Score > b.Score:
				return -1
			case a.Score < b.Score:
				return 1
			}
			return int(a.Row - b.Row)
		})
		sortCandidates(cands)
		for i := range cands {
			if cands[i].Row != want[i].Row || cands[i].Score != want[i].Score || cands[i].Features[0] != want[i].Features[0] {
				t.Fatalf("n=%d: position %d holds row %d score %v, want row %d score %v", n, i, cands[i].Row, cands[i].Score, want[i].Row, want[i].Score)
			}
		}
	}
}
