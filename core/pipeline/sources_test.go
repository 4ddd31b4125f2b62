package pipeline

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/bundle/bundletest"
	"github.com/stretchr/testify/require"
)

// scored is a reference candidate: a row, its score and (co-visitation)
// the history row it came from.
type scored struct {
	row     int32
	score   float32
	because int32
}

// byScoreThenRow is the order the sources promise: higher score first,
// ties by lower row (a stable sort, as the sources sorted before they used
// ann.TopK).
func byScoreThenRow(s []scored) {
	slices.SortStableFunc(s, func(a, b scored) int {
		if a.score != b.score {
			return cmp.Compare(b.score, a.score)
		}
		return cmp.Compare(a.row, b.row)
	})
}

// sourceOf returns the pool's candidates of source s in its rank order.
func sourceOf(pl *pool, s api.Source) []scored {
	var out []scored
	for _, c := range pl.cands {
		if c.SourceRank[s] >= 0 {
			out = append(out, scored{c.Row, c.SourceScore[s], c.Because})
		}
	}
	slices.SortFunc(out, func(a, b scored) int { return cmp.Compare(rankOf(pl, a.row, s), rankOf(pl, b.row, s)) })
	return out
}

func rankOf(pl *pool, row int32, s api.Source) int32 {
	i, _ := pl.at.get(row)
	return pl.cands[i].SourceRank[s]
}

// TestCovisitOrder holds the co-visitation source to a reference written
// apart: scores summed over the seed and the three newest history items,
// the best contributor as "because", and the order of a stable sort, on
// weights rounded to make ties common. The slim source sums over the
// whole history instead (slim_test.go).
func TestCovisitOrder(t *testing.T) {
	testNeighboursOrder(t, api.SourceCovisit, func(p *bundle.Pipeline) *bundle.PackedNeighbours { return &p.Covisit })
}

// roundWeights rounds the weights of a catalog of n items' lists to
// halves, so that ties are common.
func roundWeights(t *testing.T, nb *bundle.PackedNeighbours, n int) {
	t.Helper()
	u := nb.Unpack()
	for i, w := range u.Weights {
		u.Weights[i] = float32(math.Round(float64(w)*2)) / 2
	}
	var err error
	*nb, err = bundle.Pack(&u, n)
	require.NoError(t, err)
}

func testNeighboursOrder(t *testing.T, s api.Source, lists func(*bundle.Pipeline) *bundle.PackedNeighbours) {
	b := bundletest.Random(300, 32, 3)
	roundWeights(t, lists(b.Pipeline), 300)
	r := loadBundle(t, b)
	nb := lists(r.b.Pipeline)
	plain := nb.Unpack()
	rng := rand.New(rand.NewPCG(61, 62))
	keepAll := func(int32) bool { return true }
	for trial := range 200 {
		req := &api.Request{K: 10, Context: api.Context{Region: "eu", Age: 30}}
		for range 1 + rng.IntN(5) {
			req.History = append(req.History, api.Event{Item: bundletest.ID(rng.IntN(300))})
		}
		if trial%2 == 0 {
			req.Seed = bundletest.ID(rng.IntN(300))
		}
		req.Normalize()
		q := r.Resolve(req)
		n := 1 + rng.IntN(40)
		keep := keepAll
		if trial%3 == 0 {
			keep = func(row int32) bool { return row%3 != 0 }
		}

		// The reference.
		type src struct {
			row int32
			w   float32
		}
		var from []src
		h := q.Input.History
		if q.Input.Seed >= 0 && (len(h) == 0 || q.Input.Seed != h[len(h)-1]) {
			from = append(from, src{q.Input.Seed, 1})
		}
		for i, w := range []float32{0.8, 0.6, 0.4} {
			if j := len(h) - 1 - i; j >= 0 {
				from = append(from, src{h[j], w})
			}
		}
		acc := map[int32]*scored{}
		var order []int32
		best := map[int32]float32{}
		for _, f := range from {
			items, weights := plain.Of(int(f.row))
			for k, it := range items {
				if !keep(it) {
					continue
				}
				v := f.w * weights[k]
				a := acc[it]
				if a == nil {
					a = &scored{row: it, because: -1}
					acc[it] = a
					order = append(order, it)
					best[it] = float32(math.Inf(-1))
				}
				a.score += v
				if v > best[it] {
					best[it], a.because = v, f.row
				}
			}
		}
		var want []scored
		for _, it := range order {
			want = append(want, *acc[it])
		}
		byScoreThenRow(want)
		want = want[:min(n, len(want))]

		pl := newPool(n)
		neighbours(pl, s, nb, q, n, keep)
		if got := sourceOf(pl, s); !slices.Equal(got, want) && len(got)+len(want) > 0 {
			t.Fatalf("trial %d: %s gave %v, want %v", trial, api.SourceNames[s], got, want)
		}
	}
}

// TestFreshOrder holds the fresh source to a reference: the items released
// in the window, scored against the query, in the order of a stable sort,
// with several items given the same embedding so that scores tie.
func TestFreshOrder(t *testing.T) {
	b := bundletest.Random(300, 32, 3)
	// Copy one row's codes and scale to others: equal scores.
	dim := b.Embeddings.Dim
	for _, i := range []int{5, 17, 42, 99, 230, 231} {
		copy(b.Embeddings.Codes[i*dim:(i+1)*dim], b.Embeddings.Codes[:dim])
		b.Embeddings.Scales[i] = b.Embeddings.Scales[0]
	}
	r := loadBundle(t, b)
	rng := rand.New(rand.NewPCG(63, 64))
	for trial := range 50 {
		req := &api.Request{K: 10, Context: api.Context{Region: "eu", Age: 30, Time: bundletest.Created - int64(rng.IntN(40))*86400}}
		req.History = append(req.History, api.Event{Item: bundletest.ID(rng.IntN(300))})
		req.Normalize()
		q := r.Resolve(req)
		emb := r.Embed(q)
		n := 1 + rng.IntN(60)
		keep := func(row int32) bool { return row%7 != 3 }

		from := q.Time - int64(r.b.Pipeline.FreshDays)*86400
		var want []scored
		one := make([]float32, 1)
		query := quantQuery(emb)
		for row, rel := range r.b.Items.Released {
			if rel >= from && rel <= q.Time && rel > 0 && keep(int32(row)) {
				r.b.Embeddings.Scores(one, query, row)
				want = append(want, scored{int32(row), one[0], -1})
			}
		}
		byScoreThenRow(want)
		want = want[:min(n, len(want))]

		pl := newPool(n)
		r.fresh(pl, q, emb, n, keep)
		if got := sourceOf(pl, api.SourceFresh); !slices.Equal(got, want) && len(got)+len(want) > 0 {
			t.Fatalf("trial %d: fresh gave %v, want %v", trial, got, want)
		}
	}
}

// TestTailIsAtMostTheMedian holds the explore source's long tail to the
// median of the sorted popularities, with many ties.
func TestTailIsAtMostTheMedian(t *testing.T) {
	rng := rand.New(rand.NewPCG(67, 68))
	for _, n := range []int{1, 2, 3, 10, 101, 300} {
		b := bundletest.Random(n, 32, 3)
		for i := range b.Items.Popularity {
			b.Items.Popularity[i] = float32(rng.IntN(5))
		}
		r := loadBundle(t, b)
		median := slices.Sorted(slices.Values(b.Items.Popularity))[n/2]
		var want []int32
		for row, p := range b.Items.Popularity {
			if p <= median {
				want = append(want, int32(row))
			}
		}
		if !slices.Equal(r.b.Orders.Tail, want) {
			t.Errorf("%d items: tail %v, want the %d rows at most the median %v", n, r.b.Orders.Tail, len(want), median)
		}
	}
}
