package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/feature"
	"github.com/edgerec/edgerec/tools/dataset"
	"github.com/edgerec/edgerec/tools/model"
)

// corpus is a dataset turned into tower indices.
type corpus struct {
	vocab model.Vocab
	users []userSeq
	items []itemRec // per item row; row 0 is the unknown item
	// train and val hold the examples; val is the held-out latest share of
	// events (Config.Validation), empty when validation is off.
	train, val []example
	valStart   int64 // first validation timestamp
	// trainPop is each item row's ln(1 + interactions before valStart),
	// repeats included: the popularity column a bundle built at the
	// window's start would hold (the builder counts every interaction up
	// to its creation time).
	trainPop []float32
	lastTime int64 // time of the last interaction
	attrs    []string
}

// userSeq is one user's distinct items in time order.
type userSeq struct {
	items []int32
	times []int64
	ctx   api.Context // static part: demographics and attributes
}

// itemRec is one item's raw content.
type itemRec struct {
	cats     []int32
	tokens   []int32 // set by initModel
	title    string
	price    float64
	released int64
}

// example is the target users[user].items[pos] with the items before pos as
// history.
type example struct {
	user int32
	pos  int32
}

func (c *corpus) target(e example) int32 { return c.users[e.user].items[e.pos] }

func (c *corpus) time(e example) int64 { return c.users[e.user].times[e.pos] }

func (c *corpus) history(e example, maxLen int) []int32 {
	s := c.users[e.user].items
	return s[max(0, int(e.pos)-maxLen):e.pos]
}

// context returns the query context of example e.
func (c *corpus) context(e example) api.Context {
	ctx := c.users[e.user].ctx
	ctx.Time = c.time(e)
	return ctx
}

// newCorpus indexes ds: the item vocabulary is every item that appears in an
// interaction, in catalog order; a repeated (user, item) pair keeps its first
// interaction. The latest validation share of events is held out.
func newCorpus(ds *dataset.Dataset, validation float64) (*corpus, error) {
	if len(ds.Interactions) == 0 {
		return nil, fmt.Errorf("dataset %q has no interactions to train on", ds.Name)
	}
	c := &corpus{items: []itemRec{{}}}
	used := make(map[string]bool, len(ds.Items))
	for _, in := range ds.Interactions {
		used[in.Item] = true
	}
	for _, it := range ds.Items {
		for _, cat := range it.Categories {
			c.vocab.Categories.Add(cat)
		}
		if !used[it.ID] || c.vocab.Items.Index(it.ID) != feature.Unknown {
			continue
		}
		c.vocab.Items.Add(it.ID)
		c.items = append(c.items, c.itemRecord(&it))
	}
	if c.vocab.Items.Size()-1 != len(used) {
		return nil, fmt.Errorf("dataset %q: %d interacted items but %d of them in the catalog", ds.Name, len(used), c.vocab.Items.Size()-1)
	}

	attrSet := map[string]bool{}
	ctxOf := map[string]api.Context{}
	for _, u := range ds.Users {
		ctxOf[u.ID] = u.Context
		for k := range u.Attrs {
			attrSet[k] = true
		}
	}
	for k := range attrSet {
		c.attrs = append(c.attrs, k)
	}
	sort.Strings(c.attrs)

	userIdx := map[string]int32{}
	seen := map[[2]int32]bool{}
	var times []int64
	for _, in := range ds.Interactions {
		u, ok := userIdx[in.User]
		if !ok {
			u = int32(len(c.users))
			userIdx[in.User] = u
			c.users = append(c.users, userSeq{ctx: ctxOf[in.User]})
		}
		it := c.vocab.Items.Index(in.Item)
		if seen[[2]int32{u, it}] {
			continue
		}
		seen[[2]int32{u, it}] = true
		c.users[u].items = append(c.users[u].items, it)
		c.users[u].times = append(c.users[u].times, in.Time)
		c.lastTime = max(c.lastTime, in.Time)
		times = append(times, in.Time)
	}
	c.valStart = math.MaxInt64
	if validation > 0 {
		sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
		c.valStart = times[min(len(times)-1, int(float64(len(times))*(1-validation)))]
	}
	c.trainPop = make([]float32, len(c.items))
	for _, in := range ds.Interactions {
		if in.Time < c.valStart {
			c.trainPop[c.vocab.Items.Index(in.Item)]++
		}
	}
	for i, n := range c.trainPop {
		c.trainPop[i] = float32(math.Log1p(float64(n)))
	}
	for u := range c.users {
		for p, t := range c.users[u].times {
			e := example{user: int32(u), pos: int32(p)}
			if t >= c.valStart {
				c.val = append(c.val, e)
			} else {
				c.train = append(c.train, e)
			}
		}
	}
	if len(c.train) < 2 {
		return nil, fmt.Errorf("dataset %q has %d training examples, fewer than 2: nothing to contrast", ds.Name, len(c.train))
	}
	return c, nil
}

func (c *corpus) itemRecord(it *dataset.Item) itemRec {
	r := itemRec{title: it.Title, price: it.Price, released: it.Released}
	for _, cat := range it.Categories {
		r.cats = append(r.cats, c.vocab.Categories.Index(cat))
	}
	return r
}

// all returns every example, training and validation.
func (c *corpus) all() []example {
	return append(append([]example(nil), c.train...), c.val...)
}

// shuffled returns the examples of one epoch in random order: all of ex, or at
// most maxPerUser drawn at random from each user.
func shuffled(rng *rand.Rand, ex []example, maxPerUser int) []example {
	out := append([]example(nil), ex...)
	if maxPerUser > 0 {
		rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
		count := map[int32]int{}
		kept := out[:0]
		for _, e := range out {
			if count[e.user] < maxPerUser {
				count[e.user]++
				kept = append(kept, e)
			}
		}
		out = kept
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}
