package pipeline

// rowIndex maps item rows to small non-negative ints (a candidate's index in
// its pool, a count): an open-addressing hash table with linear probing.
//
// # Notes
//
// It replaces Go maps on the request path. In WebAssembly the runtime
// hashes map keys without the AES instructions it uses natively, and every
// map operation is a call into the runtime; this table is a multiply, a
// shift and a few loads, inline (BenchmarkRowIndex: several times faster than
// map[int32]int, in wazero and natively, for a pool's few hundred rows).
type rowIndex struct {
	// slots hold row+1 (0: empty) in the low 32 bits and the value in the
	// high 32 bits.
	slots []uint64
	shift uint
	n     int
}

// newRowIndex returns an index sized for about n rows (it grows past that).
func newRowIndex(n int) *rowIndex {
	x := &rowIndex{}
	x.init(n)
	return x
}

func (x *rowIndex) init(n int) {
	size, shift := 16, uint(64-4)
	for size < 2*n {
		size, shift = size*2, shift-1
	}
	x.slots, x.shift, x.n = make([]uint64, size), shift, 0
}

// slot returns where row is, or the empty slot where it would go.
func (x *rowIndex) slot(row int32) int {
	mask := len(x.slots) - 1
	key := uint64(uint32(row)) + 1
	i := int((uint64(uint32(row)) * 0x9E3779B97F4A7C15) >> x.shift)
	for {
		s := x.slots[i]
		if s == 0 || s&0xFFFFFFFF == key {
			return i
		}
		i = (i + 1) & mask
	}
}

// get returns the value of row and whether it is present.
func (x *rowIndex) get(row int32) (int, bool) {
	s := x.slots[x.slot(row)]
	return int(s >> 32), s != 0
}

// put sets the value of row (0 ≤ v < 2³²).
func (x *rowIndex) put(row int32, v int) {
	i := x.slot(row)
	if x.slots[i] == 0 {
		if 2*(x.n+1) > len(x.slots) {
			x.grow()
			i = x.slot(row)
		}
		x.n++
	}
	x.slots[i] = uint64(v)<<32 | (uint64(uint32(row)) + 1)
}

func (x *rowIndex) grow() {
	old := x.slots
	x.init(len(old))
	for _, s := range old {
		if s != 0 {
			x.slots[x.slot(int32(uint32(s)-1))] = s
			x.n++
		}
	}
}

// len returns the number of rows present.
func (x *rowIndex) len() int { return x.n }
