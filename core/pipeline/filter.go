package pipeline

import (
	"fmt"
	"slices"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bloom"
	"github.com/edgerec/edgerec/core/feature"
	"github.com/edgerec/edgerec/core/sortkey"
)

// AdultAge is the age rating at and above which an item needs a user whose
// age is known: when a request gives no age, such items are filtered out.
const AdultAge = 18

// filter decides which items a request may receive (stage 2). Rules, from
// the bundle and the request:
//
//   - the history, the seed, the bundle's and the request's exclusions are
//     never returned; with a request allow-list, only its items are;
//   - unavailable items are dropped unless the request ignores
//     availability;
//   - an item's age rating must not exceed the user's age (unknown age:
//     ratings below AdultAge only);
//   - an item licensed in a list of regions is returned only to users in
//     one of them (unknown region: only items licensed everywhere);
//   - items the client's consumed filter may contain are dropped (a Bloom
//     filter: a false positive drops an item the user has not consumed, at
//     the filter's false-positive rate; it never lets a consumed one
//     through).
type filter struct {
	r           *Recommender
	exclude     rowSet
	allow       rowSet      // nil: no allow-list
	consumed    *bloom.View // read in the request's bytes: up to 512 KiB a copy would cost
	age         int
	region      int32 // licensing index; −1 unknown region
	ignoreStock bool
	// saturated records a consumed filter ignored for its fill
	// (api.WarnConsumedSaturated).
	saturated bool
	// examined counts the rows keep looked at, limit is how many it may
	// (the work budget, see MaxExamined), and exhausted records that a
	// source or the back-fill wanted more.
	examined, limit int
	exhausted       bool
}

// newFilter builds the filter of a resolved request.
func (r *Recommender) newFilter(req *api.Request, q *Query) (*filter, error) {
	f := &filter{r: r, age: req.Context.Age, region: -1, limit: MaxExamined}
	excl := append([]int32(nil), q.Exclude...)
	if p := r.b.Pipeline; p != nil {
		excl = append(excl, p.Rules.Exclude...)
	}
	if fl := req.Filters; fl != nil {
		excl = append(excl, r.rows(fl.Exclude)...)
		if len(fl.Allow) > 0 {
			f.allow = newRowSet(r.rows(fl.Allow))
			if f.allow == nil {
				f.allow = rowSet{} // an allow-list of unknown ids allows nothing
			}
		}
		f.ignoreStock = fl.IgnoreAvailability
	}
	f.exclude = newRowSet(excl)
	if len(req.Consumed) > 0 {
		c, err := bloom.NewView(req.Consumed)
		if err != nil {
			return nil, fmt.Errorf("consumed filter: %w", err)
		}
		if c.EstimatedFPRate() > api.MaxConsumedFPRate {
			f.saturated = true
		} else {
			f.consumed = c
		}
	}
	if req.Context.Region != "" {
		if i := r.b.Vocab.Licensing.Index(req.Context.Region); i != feature.Unknown {
			f.region = i
		} else {
			f.region = 0 // a known region that licenses nothing special
		}
	}
	return f, nil
}

// keep reports whether row may be returned, and counts it against the
// request's work budget: once the budget is spent it returns false for
// every row. A row outside the request's allow-list is refused first and
// not counted: the sources' walks are bounded on their own (MaxFetch), and
// counting them would let a small allow-list spend the budget on rows it
// never allowed.
func (f *filter) keep(row int32) bool {
	if f.allow != nil && !f.allow.has(row) {
		return false
	}
	return f.keepAllowed(row)
}

// keepAllowed is keep for a row known to be in the allow-list (or with
// none): what the sources that walk the allow-list itself ask.
func (f *filter) keepAllowed(row int32) bool {
	if f.spent() {
		return false
	}
	f.examined++
	return f.rules(row)
}

// spent reports whether the work budget is spent, and if so records that
// the request wanted more.
func (f *filter) spent() bool {
	if f.examined >= f.limit {
		f.exhausted = true
		return true
	}
	return false
}

// allows reports whether row may be returned, without counting it: what
// the order stage asks of pinned items.
func (f *filter) allows(row int32) bool {
	return (f.allow == nil || f.allow.has(row)) && f.rules(row)
}

// rules reports whether row passes every rule but the allow-list.
func (f *filter) rules(row int32) bool {
	it := &f.r.b.Items
	switch {
	case f.exclude.has(row):
		return false
	case !f.ignoreStock && !it.Available[row]:
		return false
	}
	if rating := int(it.AgeRating[row]); rating > 0 {
		if f.age > 0 && f.age < rating || f.age <= 0 && rating >= AdultAge {
			return false
		}
	}
	if regions := it.RegionsOf(int(row)); len(regions) > 0 {
		ok := false
		for _, reg := range regions {
			ok = ok || reg == f.region
		}
		if !ok {
			return false
		}
	}
	if f.consumed != nil && f.consumed.MayContain(it.IDs.At(int(row))) {
		return false
	}
	return true
}

// rows maps ids to rows, dropping unknown ids.
func (r *Recommender) rows(ids []string) []int32 {
	out := make([]int32, 0, len(ids))
	for _, id := range ids {
		if row, ok := r.Lookup(id); ok {
			out = append(out, row)
		}
	}
	return out
}

// rowSet is a sorted, de-duplicated set of rows: a request excludes at most
// a few thousand, so a binary search beats allocating a bitset over the
// whole catalog on every request.
type rowSet []int32

func newRowSet(rows []int32) rowSet {
	sortRows(rows)
	return rowSet(slices.Compact(rows))
}

func (s rowSet) has(row int32) bool {
	_, ok := slices.BinarySearch(s, row)
	return ok
}

// sortRows sorts rows in increasing order, as 64-bit keys (sortkey.Sort).
func sortRows(rows []int32) {
	keys := make([]uint64, len(rows))
	for i, r := range rows {
		keys[i] = uint64(uint32(r) ^ 1<<31)
	}
	sortkey.Sort(keys)
	for i, k := range keys {
		rows[i] = int32(uint32(k) ^ 1<<31)
	}
}
