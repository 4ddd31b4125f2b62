package bundle

import "fmt"

// IDIndex finds an item's row by its id: an open-addressing hash table
// (a hash of the id's bytes, linear probing) that the builder lays out
// and the reader uses in place (section IDIX, FORMAT.md §8.3), so that
// loading builds no map. Each slot holds row+1, 0 when empty.
type IDIndex struct {
	slots []uint32
	// maxProbe bounds the slots a lookup examines past its home slot: what
	// a lookup costs is bounded by the table, not by what a request asks.
	maxProbe uint32
}

// maxIDProbe bounds IDIndex.maxProbe; the builder grows the table until
// its longest probe fits.
const maxIDProbe = 64

// idHash is FNV-1a 32 of s's bytes, its bits mixed by MurmurHash3's
// finalizer: home takes the hash's high bits, which FNV-1a leaves poorly
// mixed for short ids that differ in their last bytes.
func idHash(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

// home returns the slot where a lookup of an id hashing to h starts in a
// table of size slots: h scaled to [0, size) by a multiply and a shift
// (Lemire's reduction), so that any size works, not only powers of two.
func home(h uint32, size int) uint32 { return uint32(uint64(h) * uint64(size) >> 32) }

// newIDIndex builds the table of ids: 5/4 as many slots as ids, at least
// 8 (a load of 0.8, so that the table costs 5 bytes an item), grown by a
// half until no id lies more than maxIDProbe slots past its home. Rows
// are placed Robin Hood style (Celis, Larson &
// Munro, 1985): an id that has probed further than a slot's occupant
// takes the slot and the occupant moves on, which keeps the longest probe
// short at that load (plain linear probing needs a table twice as large
// for the same bound). Lookups are plain linear probing.
func newIDIndex(ids Strings) IDIndex {
	n := ids.Len()
	size := max(8, n+n/4+1)
	for {
		if x, ok := robinHood(ids, size); ok {
			return x
		}
		size += size / 2
	}
}

// robinHood places every id in a table of size slots, or reports that
// some id lies more than maxIDProbe slots past its home.
func robinHood(ids Strings, size int) (IDIndex, bool) {
	x := IDIndex{slots: make([]uint32, size)}
	n := uint32(size)
	at := make([]uint32, size) // the home slot of each placed row's id
	for row := 0; row < ids.Len(); row++ {
		v, h := uint32(row)+1, home(idHash(ids.At(row)), size)
		j, d := h, uint32(0)
		for {
			if d > maxIDProbe {
				return IDIndex{}, false
			}
			if x.slots[j] == 0 {
				x.slots[j], at[j] = v, h
				x.maxProbe = max(x.maxProbe, d)
				break
			}
			if od := (j + n - at[j]) % n; od < d {
				// The occupant is closer to its home than we are to ours:
				// it moves on, we stay.
				x.slots[j], v = v, x.slots[j]
				at[j], h = h, at[j]
				x.maxProbe = max(x.maxProbe, d)
				d = od
			}
			if j++; j == n {
				j = 0
			}
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
	n := uint32(len(x.slots))
	j := home(idHash(id), len(x.slots))
	for d := uint32(0); d <= x.maxProbe; d++ {
		v := x.slots[j]
		if v == 0 || int(v) > ids.Len() {
			return 0, false
		}
		if ids.At(int(v-1)) == id {
			return int32(v - 1), true
		}
		if j++; j == n {
			j = 0
		}
	}
	return 0, false
}

// check validates the table against its column: more slots than ids, every slot empty or a row, and every id found at its
// own row, which also proves the ids unique and non-empty ones reachable.
//
// It walks each id's probe as Lookup would, but compares hashes, computed
// once per id, before bytes: a probe passes other ids, and comparing
// their bytes (ids of one length, as a catalog's often are, compare to
// the end) made the check most of a native load's time at 1M items.
func (x *IDIndex) check(ids Strings) error {
	n := ids.Len()
	s := len(x.slots)
	if s < 8 || s <= n {
		return fmt.Errorf("%d slots for %d ids (more than the ids, at least 8)", s, n)
	}
	if x.maxProbe > maxIDProbe {
		return fmt.Errorf("longest probe %d, more than %d", x.maxProbe, maxIDProbe)
	}
	for j, v := range x.slots {
		if v > uint32(n) {
			return fmt.Errorf("slot %d holds row %d of %d", j, int64(v)-1, n)
		}
	}
	hs := make([]uint32, n)
	for row := range n {
		id := ids.At(row)
		if id == "" {
			return fmt.Errorf("item %d has an empty id", row)
		}
		hs[row] = idHash(id)
	}
	for row := range n {
		h := hs[row]
		j, found := home(h, s), false
		for d := uint32(0); d <= x.maxProbe; d++ {
			v := x.slots[j]
			if v == 0 {
				break
			}
			if r := int(v - 1); r == row {
				found = true
				break
			} else if hs[r] == h && ids.At(r) == ids.At(row) {
				return fmt.Errorf("item id %q appears twice (rows %d and %d)", ids.At(row), r, row)
			}
			if j++; j == uint32(s) {
				j = 0
			}
		}
		if !found {
			return fmt.Errorf("item id %q (row %d) is not where the table says", ids.At(row), row)
		}
	}
	return nil
}
