package train

import (
	"github.com/edgerec/edgerec/core/ann"
	"github.com/edgerec/edgerec/tools/model"
)

// maxValQueries bounds the validation queries scored after each epoch.
const maxValQueries = 4000

// valQuery is one validation case: a user at one position of the
// validation window, with the history before it and the distinct items
// from it on as targets.
type valQuery struct {
	user int32
	pos  int32 // position of the first target in the user's items
}

// validationQueries returns the validation cases: every position of every
// user's part of the validation window that has history before it, as the
// evaluation's cut (the user's future items from a point in time) repeated
// at each of the user's validation events. Scoring every position rather
// than one cut per user uses every validation event, which keeps the
// early-stopping and tuning signal steady on data sets where few users are
// active in the window. Past limit, an even spread of them
// (deterministic).
func (c *corpus) validationQueries(limit int) []valQuery {
	var all []valQuery
	for u := range c.users {
		s := &c.users[u]
		for p, t := range s.times {
			if t >= c.valStart && p > 0 {
				all = append(all, valQuery{user: int32(u), pos: int32(p)})
			}
		}
	}
	if len(all) <= limit {
		return all
	}
	out := make([]valQuery, 0, limit)
	for i := 0; i < limit; i++ {
		out = append(out, all[i*len(all)/limit])
	}
	return out
}

// validRecall returns the mean Recall@20 of m over the validation queries:
// exact search over every item, the query's history excluded, hits over
// min(targets, 20) so that a query with a long future counts as much as
// one with a short one.
func validRecall(c *corpus, m *model.Model, cfg *Config, queries []valQuery) float64 {
	const k = 20
	n := len(c.items) - 1 // item rows 1…n
	W := cfg.workers()
	it, q := &m.Item, &m.Query
	d := cfg.Dim

	// Item embeddings, rows 1…n at the start of the window.
	ib := newTowerBatch(it.Cross, &it.MLP, it.InputDim(), n)
	parallel(W, n, func(_, lo, hi int) {
		for j := lo; j < hi; j++ {
			in := c.itemInput(it, int32(j+1), c.valStart, false)
			it.Input(row(ib.x, j, ib.in), in)
		}
	})
	ib.forward(n, W)

	const block = 256
	qb := newTowerBatch(q.Cross, &q.MLP, q.InputDim(), block)
	scores := make([]float32, block*n)
	recalls := make([]float64, len(queries))
	for lo := 0; lo < len(queries); lo += block {
		hi := min(lo+block, len(queries))
		B := hi - lo
		parallel(W, B, func(_, a, b int) {
			for i := a; i < b; i++ {
				e := example{user: queries[lo+i].user, pos: queries[lo+i].pos}
				ctx := c.context(e, cfg.MaxHistory)
				in := q.Prepare(&ctx, c.history(e, cfg.MaxHistory), -1)
				q.Input(row(qb.x, i, qb.in), &it.IDs, in)
			}
		})
		qb.forward(B, W)
		mulNT(scores[:B*n], qb.unit, ib.unit, B, n, d, 1, 0)
		parallel(W, B, func(_, a, b int) {
			for i := a; i < b; i++ {
				v := queries[lo+i]
				items := c.users[v.user].items
				skip := make(map[int32]bool, v.pos)
				for _, h := range items[:v.pos] {
					skip[h] = true
				}
				targets := make(map[int32]bool, len(items)-int(v.pos))
				for _, t := range items[v.pos:] {
					targets[t] = true
				}
				top := ann.NewTopK(k)
				for j, s := range row(scores, i, n) {
					if r := int32(j + 1); !skip[r] {
						top.Push(r, s)
					}
				}
				hits := 0
				for _, h := range top.Sorted() {
					if targets[h.Item] {
						hits++
					}
				}
				recalls[lo+i] = float64(hits) / float64(min(len(targets), k))
			}
		})
	}
	var sum float64
	for _, r := range recalls {
		sum += r
	}
	return sum / float64(max(len(queries), 1))
}
