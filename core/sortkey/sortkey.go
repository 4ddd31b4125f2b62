// Package sortkey orders scored rows as 64-bit integer keys, which is how
// the module sorts: a score's bits made monotone, packed above a row or an
// index, so that one integer comparison orders two entries and no
// comparison callback is called. It also holds the quickselect that top-k
// and medians use.
//
// It is the module's one general sort: each element type or comparison
// function given to slices.Sort adds its own copy of pdqsort to the module
// (RATIONALE.md, "Module size"), and in wazero integer keys sort faster
// than a sort through callbacks (BenchmarkSort).
package sortkey

import (
	"cmp"
	"math"
)

// Monotone maps a float32 to a uint32 that orders like it (−0 maps like +0,
// as they compare equal; NaN never gets here).
func Monotone(f float32) uint32 {
	if f == 0 {
		f = 0
	}
	b := math.Float32bits(f)
	if b>>31 != 0 {
		return ^b
	}
	return b | 1<<31
}

// Float inverts Monotone: the bits of the float32 it was made from.
func Float(u uint32) uint32 {
	if u>>31 != 0 {
		return u &^ (1 << 31)
	}
	return ^u
}

// Descending returns the key that sorts entry i by decreasing score under
// Sort (increasing keys), ties by increasing i.
func Descending(score float32, i uint32) uint64 {
	return uint64(^Monotone(score))<<32 | uint64(i)
}

// Sort sorts x in increasing order: an introsort (Musser 1997) of
// quicksort partitions (median of three, Hoare's scheme, the smaller side
// first) over insertion sorts of at most 12 keys, with a heapsort once the
// depth passes 2·log₂n, so that no input costs more than O(n·log n).
//
// # Notes
//
// Callers pack what they sort into 64-bit keys. In wazero this beats
// slices.Sort, whose pattern-defeating bookkeeping costs more there than
// it saves (BenchmarkSort in wazero: see its comment).
func Sort(x []uint64) {
	depth := 0
	for n := len(x); n > 0; n >>= 1 {
		depth += 2
	}
	introsort(x, depth)
}
func introsort(x []uint64, depth int) {
	for len(x) > 12 {
		if depth == 0 {
			heapsort(x)
			return
		}
		depth--
		m := len(x) / 2
		a, b, c := x[0], x[m], x[len(x)-1]
		if a > b {
			a, b = b, a
		}
		if b > c {
			b = c
			if a > b {
				b = a
			}
		}
		p := b
		i, j := 0, len(x)-1
		for i <= j {
			for x[i] < p {
				i++
			}
			for x[j] > p {
				j--
			}
			if i <= j {
				x[i], x[j] = x[j], x[i]
				i++
				j--
			}
		}
		// Recurse into the smaller side, loop on the larger.
		if j+1 < len(x)-i {
			introsort(x[:j+1], depth)
			x = x[i:]
		} else {
			introsort(x[i:], depth)
			x = x[:j+1]
		}
	}
	for i := 1; i < len(x); i++ {
		v := x[i]
		j := i
		for j > 0 && x[j-1] > v {
			x[j] = x[j-1]
			j--
		}
		x[j] = v
	}
}

// heapsort sorts x in increasing order with a max-heap.
func heapsort(x []uint64) {
	for i := len(x)/2 - 1; i >= 0; i-- {
		siftDown(x, i)
	}
	for n := len(x) - 1; n > 0; n-- {
		x[0], x[n] = x[n], x[0]
		siftDown(x[:n], 0)
	}
}
func siftDown(x []uint64, i int) {
	for {
		c := 2*i + 1
		if c >= len(x) {
			return
		}
		if c+1 < len(x) && x[c+1] > x[c] {
			c++
		}
		if x[i] >= x[c] {
			return
		}
		x[i], x[c] = x[c], x[i]
		i = c
	}
}

// SelectNth reorders s so that s[k] is its k-th smallest value (0-based),
// no value before it larger and no value after it smaller, and returns
// s[k]: Hoare's FIND (CACM 1961), a quickselect. With NaNs among floats the
// order is undefined but the loop still ends. It panics unless
// 0 ≤ k < len(s).
func SelectNth[T cmp.Ordered](s []T, k int) T {
	lo, hi := 0, len(s)-1
	for lo < hi {
		p := s[lo+(hi-lo)/2]
		i, j := lo, hi
		for i <= j {
			for s[i] < p {
				i++
			}
			for s[j] > p {
				j--
			}
			if i <= j {
				s[i], s[j] = s[j], s[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return s[k]
		}
	}
	return s[k]
}
