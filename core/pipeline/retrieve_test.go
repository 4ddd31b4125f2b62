package pipeline

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/edgerec/edgerec/core/bundle/bundletest"
	"github.com/edgerec/edgerec/core/quant"
)

// TestRetrieveExcludes holds Retrieve to the exact top n of the rows not
// excluded, with 5 and 40 excluded rows, among them rows that share the
// low 8 bits (the exclusion mask's) with top hits.
func TestRetrieveExcludes(t *testing.T) {
	r := loadBundle(t, bundletest.Random(600, 32, 3))
	rng := rand.New(rand.NewPCG(65, 66))
	for trial := range 40 {
		req := historyRequest(3, 1+rng.IntN(100))
		q := r.Resolve(req)
		emb := r.Embed(q)
		all := make([]float32, r.b.Embeddings.Rows)
		r.b.Embeddings.Scores(all, quantQuery(emb), 0)
		var ranked []scored
		for row, s := range all {
			ranked = append(ranked, scored{int32(row), s, -1})
		}
		byScoreThenRow(ranked)
		excl := []int32{}
		nExcl := []int{5, 40}[trial%2]
		for len(excl) < nExcl {
			switch rng.IntN(3) {
			case 0: // a top hit
				excl = append(excl, ranked[rng.IntN(30)].row)
			case 1: // a row that shares its low 8 bits with a top hit
				excl = append(excl, (ranked[rng.IntN(30)].row+256)%int32(len(all)))
			default:
				excl = append(excl, int32(rng.IntN(len(all))))
			}
		}
		q.Exclude = excl
		n := 1 + rng.IntN(50)
		var want []Candidate
		for _, c := range ranked {
			if len(want) < n && !slices.Contains(excl, c.row) {
				want = append(want, Candidate{Row: c.row, Score: c.score})
			}
		}
		got := r.Retrieve(q, emb, n)
		if len(got) != len(want) {
			t.Fatalf("trial %d: %d hits, want %d", trial, len(got), len(want))
		}
		for i := range got {
			if got[i].Row != want[i].Row || got[i].Score != want[i].Score {
				t.Fatalf("trial %d, hit %d: %+v, want %+v (excluded %v)", trial, i, got[i], want[i], excl)
			}
		}
	}
}

func quantQuery(emb []float32) *quant.Query { return quant.NewQuery(emb) }
