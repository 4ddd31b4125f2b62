package pipeline

import (
	"math/rand/v2"
	"testing"
)

// TestRowIndexMatchesMap differentially tests rowIndex against a Go map
// through growth, overwrites and misses, with rows spread over int32.
func TestRowIndexMatchesMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 7, 300, 5000} {
		x := newRowIndex(n / 3)
		want := map[int32]int{}
		for range n {
			row := int32(rng.IntN(4 * (n + 1)))
			if rng.IntN(10) == 0 {
				row = rng.Int32() // far rows
			}
			v := rng.IntN(1 << 20)
			x.put(row, v)
			want[row] = v
		}
		if x.len() != len(want) {
			t.Fatalf("n=%d: len %d, want %d", n, x.len(), len(want))
		}
		for row, v := range want {
			if got, ok := x.get(row); !ok || got != v {
				t.Fatalf("n=%d: get(%d) = %d, %v; want %d", n, row, got, ok, v)
			}
		}
		for range 1000 {
			row := rng.Int32()
			_, inMap := want[row]
			if _, ok := x.get(row); ok != inMap {
				t.Fatalf("n=%d: get(%d) present %v, map says %v", n, row, ok, inMap)
			}
		}
	}
}

// BenchmarkRowIndex compares rowIndex with map[int32]int on a pool-sized
// workload: 300 puts of rows from a 100k catalog, then 600 lookups.
//
//	GOOS=wasip1 GOARCH=wasm go test -exec "$(go env GOROOT)/lib/wasm/go_wasip1_wasm_exec" -run '^$' -bench RowIndex ./core/pipeline
func BenchmarkRowIndex(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	rows := make([]int32, 900)
	for i := range rows {
		rows[i] = int32(rng.IntN(100_000))
	}
	b.Run("map", func(b *testing.B) {
		for b.Loop() {
			m := map[int32]int{}
			for i, r := range rows[:300] {
				if _, ok := m[r]; !ok {
					m[r] = i
				}
			}
			s := 0
			for _, r := range rows {
				if v, ok := m[r]; ok {
					s += v
				}
			}
		}
	})
	b.Run("rowIndex", func(b *testing.B) {
		for b.Loop() {
			x := newRowIndex(64)
			for i, r := range rows[:300] {
				if _, ok := x.get(r); !ok {
					x.put(r, i)
				}
			}
			s := 0
			for _, r := range rows {
				if v, ok := x.get(r); ok {
					s += v
				}
			}
		}
	})
}
