package sortkey

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSort holds Sort to slices.Sort: sizes around the insertion
// sort's cut-off, duplicates, sorted, reversed and organ-pipe input, and
// the heapsort that takes over past the depth limit.
func TestSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for trial := 0; trial < 3000; trial++ {
		x := make([]uint64, rng.IntN(400))
		for i := range x {
			switch trial % 5 {
			case 0:
				x[i] = rng.Uint64()
			case 1:
				x[i] = uint64(rng.IntN(5)) // many duplicates
			case 2:
				x[i] = uint64(i)
			case 3:
				x[i] = uint64(len(x) - i)
			default:
				x[i] = uint64(min(i, len(x)-i))
			}
		}
		want := slices.Sorted(slices.Values(x))
		y := slices.Clone(x)
		Sort(x)
		if !slices.Equal(x, want) {
			t.Fatalf("trial %d: %v, want %v", trial, x, want)
		}
		introsort(y, 1) // the heapsort after one partition
		if !slices.Equal(y, want) {
			t.Fatalf("trial %d, depth 1: %v, want %v", trial, y, want)
		}
	}
}

// TestSelectNth holds SelectNth to sorting: the k-th smallest in place,
// nothing larger before it, nothing smaller after it, with many ties.
func TestSelectNth(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	for trial := 0; trial < 2000; trial++ {
		s := make([]float64, 1+rng.IntN(300))
		for i := range s {
			s[i] = float64(rng.IntN(1 + trial%30))
		}
		k := rng.IntN(len(s))
		want := slices.Sorted(slices.Values(s))[k]
		if got := SelectNth(s, k); got != want || s[k] != want {
			t.Fatalf("trial %d: k=%d: %v (s[k] %v), want %v", trial, k, got, s[k], want)
		}
		for i := range s {
			if i < k && s[i] > want || i > k && s[i] < want {
				t.Fatalf("trial %d: s[%d] = %v on the wrong side of %v at %d", trial, i, s[i], want, k)
			}
		}
	}
}

// BenchmarkSort compares Sort with slices.Sort on the 174 keys of a
// typical pipeline search. In wazero:
//
//	GOOS=wasip1 GOARCH=wasm go test -exec "$(go env GOROOT)/lib/wasm/go_wasip1_wasm_exec" -run '^$' -bench Sort ./core/sortkey
func BenchmarkSort(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	src := make([]uint64, 174)
	for i := range src {
		src[i] = rng.Uint64()
	}
	x := make([]uint64, len(src))
	b.Run("sortkey.Sort", func(b *testing.B) {
		for b.Loop() {
			copy(x, src)
			Sort(x)
		}
	})
	b.Run("slices.Sort", func(b *testing.B) {
		for b.Loop() {
			copy(x, src)
			slices.Sort(x)
		}
	})
}
