package train

import (
	"github.com/edgerec/edgerec/core/ann"
	"github.com/edgerec/edgerec/core/vec"
	"github.com/edgerec/edgerec/tools/model"
)

// valUser is one user's validation case: the history before the window and
// the items in it.
type valUser struct {
	user    int32
	histEnd int32 // position of the first validation item
	targets map[int32]bool
}

// validationUsers returns up to limit users with history before the
// validation window and at least one new item in it, evenly spread over the
// users (deterministic).
func (c *corpus) validationUsers(limit int) []valUser {
	var all []valUser
	for u := range c.users {
		s := &c.users[u]
		first := -1
		for p, t := range s.times {
			if t >= c.valStart {
				first = p
				break
			}
		}
		if first <= 0 {
			continue
		}
		v := valUser{user: int32(u), histEnd: int32(first), targets: map[int32]bool{}}
		for _, it := range s.items[first:] {
			v.targets[it] = true
		}
		all = append(all, v)
	}
	if len(all) <= limit {
		return all
	}
	out := make([]valUser, 0, limit)
	for i := 0; i < limit; i++ {
		out = append(out, all[i*len(all)/limit])
	}
	return out
}

// validRecall returns the mean Recall@20 of m over the validation users:
// exact float search over every item, the user's history excluded.
func validRecall(c *corpus, m *model.Model, cfg *Config, users []valUser) float64 {
	const k = 20
	n := len(c.items)
	items := make([][]float32, n)
	W := cfg.workers()
	parallel(W, n-1, func(_, lo, hi int) {
		s := m.Item.NewScratch()
		for r := lo + 1; r < hi+1; r++ {
			in := c.itemInput(&m.Item, int32(r), c.valStart, false)
			items[r] = append([]float32(nil), m.Item.Embed(s, in)...)
		}
	})
	recalls := make([]float64, len(users))
	parallel(W, len(users), func(_, lo, hi int) {
		s := m.Query.NewScratch()
		for i := lo; i < hi; i++ {
			v := users[i]
			e := example{user: v.user, pos: v.histEnd}
			ctx := c.context(e, cfg.MaxHistory)
			ctx.Time = c.valStart
			hist := c.history(e, cfg.MaxHistory)
			u := m.Query.Embed(s, &m.Item.IDs, m.Query.Prepare(&ctx, hist, -1))
			skip := map[int32]bool{}
			for _, h := range c.users[v.user].items[:v.histEnd] {
				skip[h] = true
			}
			top := ann.NewTopK(k)
			for r := 1; r < n; r++ {
				if !skip[int32(r)] {
					top.Push(int32(r), vec.Dot(u, items[r]))
				}
			}
			hits := 0
			for _, h := range top.Sorted() {
				if v.targets[h.Item] {
					hits++
				}
			}
			recalls[i] = float64(hits) / float64(len(v.targets))
		}
	})
	var sum float64
	for _, r := range recalls {
		sum += r
	}
	return sum / float64(max(len(users), 1))
}
