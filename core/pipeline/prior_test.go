package pipeline

import (
	"testing"

	"github.com/edgerec/edgerec/core/bundle/bundletest"
	"github.com/stretchr/testify/require"
)

// TestPopPriorOrdersTwoTower holds the two-tower source with a popularity
// prior to a brute-force order of the whole catalog by score +
// prior·popularity, among the rows the filter keeps (the bundle has no
// index: the search is exact), and each hit's score to its plain score;
// the allow-list path is held to the same order.
func TestPopPriorOrdersTwoTower(t *testing.T) {
	b := bundletest.Random(3000, 32, 5)
	b.Manifest.Model.PopPrior = 0.1 // any prior: Load then sets coldPop; each trial sets its own
	b.Index = nil
	for i := range b.Items.Known {
		b.Items.Known[i] = i%10 != 3 // a tenth cold
	}
	r := loadBundle(t, b)
	// A cold item's popularity is unknown, not zero: the prior gives it
	// the mean of the items the model saw.
	var sum float64
	known := 0
	for i, p := range b.Items.Popularity {
		if b.Items.Known[i] {
			sum, known = sum+float64(p), known+1
		}
	}
	pop := make([]float32, b.Items.Len())
	for i := range pop {
		pop[i] = r.priorPop(int32(i))
		if b.Items.Known[i] {
			require.Equal(t, b.Items.Popularity[i], pop[i])
		} else {
			require.InDelta(t, sum/float64(known), pop[i], 1e-5)
		}
	}
	const n = 30
	for trial := range 30 {
		rq := stage1(r, historyRequest(5, 7+trial*13))
		q, emb, f := rq.q, rq.emb, rq.f
		all := make([]float32, r.b.Embeddings.Rows)
		r.b.Embeddings.Scores(all, quantQuery(emb), 0)
		for _, prior := range []float32{0.002, 0.02, 0.2} {
			r.setPrior(prior)
			var keyed, plain []scored
			for row, s := range all {
				if excluded(q.Exclude, int32(row)) || !f.keep(int32(row)) {
					continue
				}
				keyed = append(keyed, scored{int32(row), s + float32(prior*pop[row]), -1})
				plain = append(plain, scored{int32(row), s, -1})
			}
			f.examined = 0
			byScoreThenRow(keyed)
			byScoreThenRow(plain)
			hits := r.search(q, emb, n, f)
			require.Len(t, hits, n)
			for i, h := range hits {
				require.Equal(t, all[h.Item], h.Score, "trial %d prior %v: hit %d keeps its plain score", trial, prior, i)
				if i > 0 {
					prev := hits[i-1]
					require.GreaterOrEqual(t, prev.Score+float32(prior*pop[prev.Item]), h.Score+float32(prior*pop[h.Item]), "trial %d prior %v: hit %d out of order", trial, prior, i)
				}
			}
			for i, h := range hits {
				require.Equal(t, keyed[i].row, h.Item, "trial %d prior %v: hit %d", trial, prior, i)
			}
			// The allow-list path: every other row allowed.
			var allow []int32
			for row := range all {
				if row%2 == 0 {
					allow = append(allow, int32(row))
				}
			}
			f.examined = 0
			got := r.scoreRows(emb, allow, n, f)
			var want []scored
			for _, k := range keyed {
				if k.row%2 == 0 {
					want = append(want, k)
				}
			}
			require.Len(t, got, n)
			for i, h := range got {
				require.Equal(t, want[i].row, h.Item, "allow-list, trial %d prior %v: hit %d", trial, prior, i)
				require.Equal(t, all[h.Item], h.Score)
			}
		}
	}
}
