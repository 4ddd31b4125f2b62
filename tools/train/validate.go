package train

import (
	"github.com/edgerec/edgerec/core/ann"
	"github.com/edgerec/edgerec/tools/model"
)

// maxValQueries bounds the validation queries scored after each epoch.
const maxValQueries = 4000

// valBlock is how many items or queries validation embeds and scores at a
// time.
const valBlock = 256

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

// establishedQueries returns the queries of val whose user has an item
// before the validation window.
func (c *corpus) establishedQueries(val []valQuery) []valQuery {
	var out []valQuery
	for _, v := range val {
		if c.users[v.user].times[0] < c.valStart {
			out = append(out, v)
		}
	}
	return out
}

// validRecall returns the mean Recall@20 of m over the validation queries:
// exact search over every item, the query's history excluded, hits over
// min(targets, 20) so that a query with a long future counts as much as
// one with a short one. With priors, it returns one mean per prior p,
// ranking as the two-tower source does with a popularity prior
// (bundle.Model): every item by score + p·pop[item] (pop indexed by item
// row), the term rounded on its own; without, one mean, by score.
//
// Memory stays at the catalog's embeddings (n×dim) plus fixed blocks:
// items are embedded and queries scored valBlock rows at a time.
func validRecall(c *corpus, m *model.Model, cfg *Config, queries []valQuery, priors, pop []float32) []float64 {
	const k = 20
	if len(priors) == 0 {
		priors = []float32{0}
	}
	G := len(priors)
	n := len(c.items) - 1 // item rows 1…n
	W := cfg.workers()
	it, q := &m.Item, &m.Query
	d := cfg.Dim

	// Item embeddings, rows 1…n at the start of the window.
	items := make([]float32, n*d)
	ib := newForwardBatch(it.Cross, &it.MLP, it.InputDim(), valBlock)
	for lo := 0; lo < n; lo += valBlock {
		B := min(valBlock, n-lo)
		parallel(W, B, func(_, a, b int) {
			for j := a; j < b; j++ {
				in := c.itemInput(it, int32(lo+j+1), c.valStart, false)
				it.Input(row(ib.x, j, ib.in), in)
			}
		})
		ib.forward(B, W)
		copy(items[lo*d:(lo+B)*d], ib.unit[:B*d])
	}

	qb := newForwardBatch(q.Cross, &q.MLP, q.InputDim(), valBlock)
	scores := make([]float32, valBlock*valBlock)
	tops := make([][]*ann.TopK, valBlock)      // per query, per prior
	skips := make([]map[int32]bool, valBlock)  // each query's history
	recalls := make([]float64, len(queries)*G) // query-major
	for lo := 0; lo < len(queries); lo += valBlock {
		B := min(valBlock, len(queries)-lo)
		parallel(W, B, func(_, a, b int) {
			for i := a; i < b; i++ {
				e := example{user: queries[lo+i].user, pos: queries[lo+i].pos}
				ctx := c.context(e)
				in := q.Prepare(&ctx, c.history(e, cfg.MaxHistory), -1)
				q.Input(row(qb.x, i, qb.in), &it.IDs, in)
				tops[i] = tops[i][:0]
				for range G {
					tops[i] = append(tops[i], ann.NewTopK(k))
				}
				hist := c.users[e.user].items[:e.pos]
				skips[i] = make(map[int32]bool, len(hist))
				for _, h := range hist {
					skips[i][h] = true
				}
			}
		})
		qb.forward(B, W)
		for jlo := 0; jlo < n; jlo += valBlock {
			J := min(valBlock, n-jlo)
			mulNT(W, scores[:B*J], qb.unit, items[jlo*d:(jlo+J)*d], B, J, d, 1, 0)
			parallel(W, B, func(_, a, b int) {
				for i := a; i < b; i++ {
					for j, s := range row(scores, i, J) {
						if r := int32(jlo + j + 1); !skips[i][r] {
							for g, p := range priors {
								if p == 0 {
									tops[i][g].Push(r, s)
								} else {
									tops[i][g].Push(r, s+float32(p*pop[r]))
								}
							}
						}
					}
				}
			})
		}
		parallel(W, B, func(_, a, b int) {
			for i := a; i < b; i++ {
				v := queries[lo+i]
				seq := c.users[v.user].items
				targets := make(map[int32]bool, len(seq)-int(v.pos))
				for _, t := range seq[v.pos:] {
					targets[t] = true
				}
				for g := range priors {
					top := tops[i][g].Sorted()
					hits := 0
					for _, h := range top {
						if targets[h.Item] {
							hits++
						}
					}
					recalls[(lo+i)*G+g] = float64(hits) / float64(min(len(targets), k))
				}
			}
		})
	}
	means := make([]float64, G)
	for q := range queries {
		for g := range means {
			means[g] += recalls[q*G+g]
		}
	}
	for g := range means {
		means[g] /= float64(max(len(queries), 1))
	}
	return means
}

// popPriors are the popularity priors Fit chooses among on validation
// when Config.PopPrior is negative (bundle.Model.PopPrior).
var popPriors = []float32{0, 0.02, 0.05, 0.1, 0.2}
