package bundle

import "fmt"

// IDIndex finds an item's row by its id: an open-addressing hash table
// (FNV-1a 32 of the id's bytes, linear probing) that the builder lays out
// and the reader uses in place (section IDIX, FORMAT.md §8.3), so that
// loading builds no map. Each slot holds row+1, 0 when empty.
type IDIndex struct {
	slots []uint32 // a power of two of them
	// maxProbe bounds the slots a lookup examines past its home slot: what
	// a lookup costs is bounded by the table, not by what a request asks.
	maxProbe uint32
}

// maxIDProbe bounds IDIndex.maxProbe; the builder grows the table until
// its longest probe fits.
const maxIDProbe = 64

func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

// newIDIndex builds the table of ids: the first power of two of slots at
// least 5/4 of the ids (a load of at most 0.8, so that the table costs
// about 5 bytes an item), doubled until no id lies more than maxIDProbe
// slots past its home. Rows are placed Robin Hood style (Celis, Larson &
// Munro, 1985): an id that has probed further than a slot's occupant
// takes the slot and the occupant moves on, which keeps the longest probe
// short at that load (plain linear probing needs a table twice as large
// for the same bound). Lookups are plain linear probing.
func newIDIndex(ids Strings) IDIndex {
	n := ids.Len()
	size := 8
	for size < n+n/4+1 {
		size *= 2
	}
	for {
		if x, ok := robinHood(ids, size); ok {
			return x
		}
		size *= 2
	}
}

// robinHood places every id in a table of size slots, or reports that
// some id lies more than maxIDProbe slots past its home.
func robinHood(ids Strings, size int) (IDIndex, bool) {
	x := IDIndex{slots: make([]uint32, size)}
	mask := uint32(size - 1)
	home := make([]uint32, size) // home slot of each placed row's id
	for row := 0; row < ids.Len(); row++ {
		v, h := uint32(row)+1, fnv32(ids.At(row))&mask
		j, d := h, uint32(0)
		for {
			if d > maxIDProbe {
				return IDIndex{}, false
			}
			if x.slots[j] == 0 {
				x.slots[j], home[j] = v, h
				x.maxProbe = max(x.maxProbe, d)
				break
			}
			if od := (j - home[j]) & mask; od < d {
				// The occupant is closer to its home than we are to ours:
				// it moves on, we stay.
				x.slots[j], v = v, x.slots[j]
				home[j], h = h, home[j]
				x.maxProbe = max(x.maxProbe, d)
				d = od
			}
			j = (j + 1) & mask
			d++
		}
	}
	return x, true
}

// Lookup returns the row of id in ids, the column the index was built
// over.
func (x *IDIndex) Lookup(ids Strings, id string) (int32, bool) {
	if len(x.slots) == 0 {
		return 0, false
	}
	mask := uint32(len(x.slots) - 1)
	j := fnv32(id) & mask
	for d := uint32(0); d <= x.maxProbe; d++ {
		v := x.slots[j]
		if v == 0 {
			return 0, false
		}
		if ids.At(int(v-1)) == id {
			return int32(v - 1), true
		}
		j = (j + 1) & mask
	}
	return 0, false
}

// check validates the table against its column: a power of two of slots,
// more than the ids, every slot empty or a row, and every id found at its
// own row, which also proves the ids unique and non-empty ones reachable.
func (x *IDIndex) check(ids Strings) error {
	n := ids.Len()
	s := len(x.slots)
	if s < 8 || s&(s-1) != 0 || s <= n {
		return fmt.Errorf("%d slots for %d ids (a power of two above the ids, at least 8)", s, n)
	}
	if x.maxProbe > maxIDProbe {
		return fmt.Errorf("longest probe %d, more than %d", x.maxProbe, maxIDProbe)
	}
	for j, v := range x.slots {
		if v > uint32(n) {
			return fmt.Errorf("slot %d holds row %d of %d", j, int64(v)-1, n)
		}
	}
	for row := range n {
		id := ids.At(row)
		if id == "" {
			return fmt.Errorf("item %d has an empty id", row)
		}
		if got, ok := x.Lookup(ids, id); !ok || int(got) != row {
			if ok {
				return fmt.Errorf("item id %q appears twice (rows %d and %d)", id, got, row)
			}
			return fmt.Errorf("item id %q (row %d) is not where the table says", id, row)
		}
	}
	return nil
}
