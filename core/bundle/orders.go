package bundle

import (
	"fmt"
	"sort"

	"github.com/edgerec/edgerec/core/sortkey"
)

// Orders are the catalog's orderings that the candidate sources walk
// (section ORDR, FORMAT.md §8.4). The builder computes them and a reader
// of format 2 uses them in place; a reader of format 1 computes them at
// load.
type Orders struct {
	// Popularity holds the PopularOrderRows most popular rows (all of them
	// in a smaller catalog), most popular first, ties by lower row.
	Popularity []int32
	Release    []int32 // the rows with a release time, newest first (ties by lower row)
	Tail       []int32 // the rows at or below the median popularity, in row order
}

// PopularOrderRows is how much of the popularity order a bundle keeps:
// the back-fill that walks it looks at most at a request's work budget of
// rows (core/pipeline.MaxExamined, which a test holds below this), so the
// rest would be bytes no request reads.
const PopularOrderRows = 1 << 14

// newOrders computes the orders of it.
func newOrders(it *Items) Orders {
	o := Orders{Release: byRelease(it.Released), Popularity: byPopularity(it.Popularity), Tail: []int32{}}
	if n := len(it.Popularity); n > 0 {
		// The median: the (n/2)-th smallest, through the popularity order.
		median := it.Popularity[o.Popularity[n-1-n/2]]
		for row, p := range it.Popularity {
			if p <= median {
				o.Tail = append(o.Tail, int32(row))
			}
		}
	}
	o.Popularity = o.Popularity[:min(len(o.Popularity), PopularOrderRows)]
	return o
}

// check validates that every entry is a row of n and that the popularity
// order is as long as n items give: what a source reads from an order is
// a row.
func (o *Orders) check(n int) error {
	if len(o.Popularity) != min(n, PopularOrderRows) || len(o.Release) > n || len(o.Tail) > n {
		return fmt.Errorf("orders of %d, %d and %d rows for %d items", len(o.Popularity), len(o.Release), len(o.Tail), n)
	}
	for _, l := range [][]int32{o.Popularity, o.Release, o.Tail} {
		for _, row := range l {
			if row < 0 || int(row) >= n {
				return fmt.Errorf("row %d outside the %d items", row, n)
			}
		}
	}
	return nil
}

// byRelease returns the rows with a release time, newest first (ties by
// lower row).
//
// # Notes
//
// byRelease and byPopularity sort once per load, a catalog's worth of
// rows. A stable sort with a comparison callback (slices.SortStableFunc,
// O(n·log²n) calls) took a third of a load in wazero (BenchmarkLoad); sorting
// (key, row) pairs with the row in the order makes the order total, so an
// unstable sort gives the same result, and the popularity order sorts
// plain 64-bit keys with no callback at all (TestOrders).
func byRelease(released []int64) []int32 {
	// Release times below 2³⁷ s (the year 6325) and rows below 2²⁶
	// (bundle.MaxItems) pack into one key: newest first, then lower row.
	const relBits, rowBits = 37, 26
	var keys []uint64
	packs := len(released) <= 1<<rowBits
	for row, rel := range released {
		if rel > 0 {
			if rel >= 1<<relBits {
				packs = false
				break
			}
			keys = append(keys, uint64(1<<relBits-1-rel)<<rowBits|uint64(row))
		}
	}
	if packs {
		sortkey.Sort(keys)
		out := make([]int32, len(keys))
		for i, k := range keys {
			out[i] = int32(k & (1<<rowBits - 1))
		}
		return out
	}
	var rows []int32
	for row, rel := range released {
		if rel > 0 {
			rows = append(rows, int32(row))
		}
	}
	// Release times beyond the year 6325 or more than 2²⁶ rows: a sort
	// with a callback, which the module already holds for ann's rare paths.
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if released[a] != released[b] {
			return released[a] > released[b]
		}
		return a < b
	})
	return rows
}

// byPopularity returns every row, most popular first (ties by lower row).
// The popularities must not be NaN (bundle validation refuses them): the
// keys would rank one above +Inf.
func byPopularity(pop []float32) []int32 {
	rows := make([]int32, len(pop))
	for i := range rows {
		rows[i] = int32(i)
	}
	return SortByPopularity(pop, rows)
}

// SortByPopularity returns rows, most popular first (ties by lower row).
func SortByPopularity(pop []float32, rows []int32) []int32 {
	keys := make([]uint64, len(rows))
	for i, row := range rows {
		keys[i] = sortkey.Descending(pop[row], uint32(row))
	}
	sortkey.Sort(keys)
	out := make([]int32, len(keys))
	for i, k := range keys {
		out[i] = int32(uint32(k))
	}
	return out
}
