package train

import (
	"fmt"
	"math/rand/v2"

	"github.com/edgerec/edgerec/core/feature"
	"github.com/edgerec/edgerec/tools/dataset"
	"github.com/edgerec/edgerec/tools/model"
)

// corpus is a dataset turned into tower indices.
type corpus struct {
	vocab    model.Vocab
	seqs     [][]int32   // per user: distinct item rows in time order
	fields   [][]int32   // per user: the query tower's field indices
	itemCats [][]int32   // per item row (0 = unknown): category indices
	examples []example   // every (user, position) pair
	lastTime int64       // time of the last interaction
	perUser  [][]example // examples grouped by user, for MaxPerUser
}

// example is the target item seqs[user][pos] with history seqs[user][:pos].
type example struct {
	user int32
	pos  int32
}

func (c *corpus) target(e example) int32 { return c.seqs[e.user][e.pos] }

func (c *corpus) history(e example, maxLen int) []int32 {
	s := c.seqs[e.user]
	lo := max(0, int(e.pos)-maxLen)
	return s[lo:e.pos]
}

// newCorpus indexes ds: the item vocabulary is every item that appears in an
// interaction, in catalog order; a repeated (user, item) pair keeps its first
// interaction.
func newCorpus(ds *dataset.Dataset) (*corpus, error) {
	if len(ds.Interactions) == 0 {
		return nil, fmt.Errorf("dataset %q has no interactions to train on", ds.Name)
	}
	c := &corpus{}
	used := make(map[string]bool, len(ds.Items))
	for _, in := range ds.Interactions {
		used[in.Item] = true
	}
	c.itemCats = [][]int32{nil}
	for _, it := range ds.Items {
		for _, cat := range it.Categories {
			c.vocab.Categories.Add(cat)
		}
		if !used[it.ID] {
			continue
		}
		c.vocab.Items.Add(it.ID)
		cats := make([]int32, 0, len(it.Categories))
		for _, cat := range it.Categories {
			cats = append(cats, c.vocab.Categories.Index(cat))
		}
		c.itemCats = append(c.itemCats, cats)
	}
	if c.vocab.Items.Size()-1 != len(used) {
		return nil, fmt.Errorf("dataset %q: %d interacted items but %d in the catalog", ds.Name, len(used), c.vocab.Items.Size()-1)
	}

	users := map[string]int32{}
	for _, u := range ds.Users {
		c.vocab.Region.Add(u.Region)
		c.vocab.Device.Add(u.Device)
		c.vocab.Gender.Add(u.Gender)
	}
	fieldsOf := map[string][]int32{}
	for _, u := range ds.Users {
		fieldsOf[u.ID] = []int32{c.vocab.Region.Index(u.Region), c.vocab.Device.Index(u.Device),
			c.vocab.Gender.Index(u.Gender), feature.AgeBucket(u.Age)}
	}
	seen := map[[2]int32]bool{}
	for _, in := range ds.Interactions {
		u, ok := users[in.User]
		if !ok {
			u = int32(len(c.seqs))
			users[in.User] = u
			c.seqs = append(c.seqs, nil)
			f := fieldsOf[in.User]
			if f == nil {
				f = make([]int32, 4)
			}
			c.fields = append(c.fields, f)
		}
		it := c.vocab.Items.Index(in.Item)
		if seen[[2]int32{u, it}] {
			continue
		}
		seen[[2]int32{u, it}] = true
		c.seqs[u] = append(c.seqs[u], it)
		c.lastTime = max(c.lastTime, in.Time)
	}
	c.perUser = make([][]example, len(c.seqs))
	for u, s := range c.seqs {
		for p := range s {
			e := example{user: int32(u), pos: int32(p)}
			c.examples = append(c.examples, e)
			c.perUser[u] = append(c.perUser[u], e)
		}
	}
	return c, nil
}

// epoch returns the examples of one epoch in random order: all of them, or
// at most maxPerUser drawn at random from each user.
func (c *corpus) epoch(rng *rand.Rand, maxPerUser int) []example {
	var ex []example
	if maxPerUser <= 0 {
		ex = append(ex, c.examples...)
	} else {
		for _, ue := range c.perUser {
			if len(ue) <= maxPerUser {
				ex = append(ex, ue...)
				continue
			}
			for _, i := range rng.Perm(len(ue))[:maxPerUser] {
				ex = append(ex, ue[i])
			}
		}
	}
	rng.Shuffle(len(ex), func(i, j int) { ex[i], ex[j] = ex[j], ex[i] })
	return ex
}
