package pipeline

import (
	"testing"

	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/bundle/bundletest"
	"github.com/edgerec/edgerec/core/quant"
	"github.com/edgerec/edgerec/core/vec"
	"github.com/stretchr/testify/require"
)

// TestPopPriorOrdersTwoTower holds the two-tower source with a popularity
// prior to a brute-force order of the whole catalog by score +
// prior·popularity, among the rows the filter keeps (the bundle has no
// index: the search is exact), and each hit's score to its plain score;
// the allow-list path is held to the same order.
func TestPopPriorOrdersTwoTower(t *testing.T) {
	b := bundletest.Random(3000, 32, 5)
	b.Manifest.Model.PopPrior = 0.1 // any prior; each trial sets its own
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
	pop := r.priorPops()
	for i := range pop {
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
		all := plainScores(r, emb)
		for _, prior := range []float32{0.002, 0.02, 0.2} {
			r.setPrior(prior)
			var keyed []scored
			for row, s := range all {
				if excluded(q.Exclude, int32(row)) || !f.keep(int32(row)) {
					continue
				}
				keyed = append(keyed, scored{int32(row), s + float32(prior*pop[row]), -1})
			}
			f.examined = 0
			byScoreThenRow(keyed)
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

// TestPopPriorThroughTheIndex: with the bundle's IVF index, the two-tower
// source's hits come from the index searched with the prior's bias — in
// order of score + prior·popularity, each with its plain score — and
// without a prior in order of score alone.
func TestPopPriorThroughTheIndex(t *testing.T) {
	b := bundletest.Random(3000, 32, 5)
	// An index of 30 runs of 100 rows, each with its rows' mean as its
	// centroid: any partition into runs is a valid index.
	const lists = 30
	x := &bundle.Index{Offsets: make([]uint32, lists+1), Centroids: quant.NewInt8(lists, 32), NProbe: 5}
	row := make([]float32, 32)
	for l := range lists {
		x.Offsets[l+1] = uint32(100 * (l + 1))
		c := make([]float32, 32)
		for i := 100 * l; i < 100*(l+1); i++ {
			b.Embeddings.Decode(row, i)
			for j, v := range row {
				c[j] += v
			}
		}
		vec.L2Normalize(c)
		x.Centroids.Set(l, c)
	}
	b.Index = x
	b.Manifest.Model.PopPrior = 0.2
	r := loadBundle(t, b)
	pop := r.priorPops()
	const n = 30
	for trial := range 10 {
		rq := stage1(r, historyRequest(5, 11+trial*7))
		q, emb, f := rq.q, rq.emb, rq.f
		all := plainScores(r, emb)
		for _, prior := range []float32{0, 0.2} {
			r.setPrior(prior)
			f.examined = 0
			hits := r.search(q, emb, n, f)
			require.Len(t, hits, n)
			ix := r.b.Index.IVF(r.b.Embeddings)
			ix.Bias = r.bias
			want := ix.Search(nil, emb, n+len(q.Exclude)+64, r.b.Index.NProbeFor(q.NProbe), nil, nil)
			var kept []int32
			for _, h := range want {
				if !excluded(q.Exclude, h.Item) && f.keep(h.Item) {
					kept = append(kept, h.Item)
				}
			}
			for i, h := range hits {
				require.Equal(t, all[h.Item], h.Score, "trial %d prior %v: hit %d keeps its plain score", trial, prior, i)
				require.Equal(t, kept[i], h.Item, "trial %d prior %v: hit %d is the biased index's", trial, prior, i)
				if i > 0 {
					p := hits[i-1]
					require.GreaterOrEqual(t, p.Score+float32(prior*pop[p.Item]), h.Score+float32(prior*pop[h.Item]), "trial %d prior %v: hit %d out of order", trial, prior, i)
				}
			}
		}
	}
}

// plainScores returns every row's score against emb, without a prior.
func plainScores(r *Recommender, emb []float32) []float32 {
	all := make([]float32, r.b.Embeddings.Rows)
	r.b.Embeddings.Scores(all, quantQuery(emb), 0)
	return all
}
