package ann

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"testing"

	"github.com/edgerec/edgerec/core/quant"
	"github.com/edgerec/edgerec/core/vec"
)

func randomItems(rng *rand.Rand, n, dim int) ([][]float32, *quant.Int8) {
	raw := make([][]float32, n)
	m := quant.NewInt8(n, dim)
	for i := range raw {
		raw[i] = make([]float32, dim)
		for j := range raw[i] {
			raw[i][j] = float32(rng.NormFloat64())
		}
		vec.L2Normalize(raw[i])
		m.Set(i, raw[i])
	}
	return raw, m
}

// naiveSearch scores every item by quantized dot product, sorts them all and
// keeps k: the reference for Exact.Search.
func naiveSearch(m *quant.Int8, q []float32, k int, skip func(int32) bool) []Hit {
	qc := make([]int8, m.Dim)
	qs := quant.Encode(qc, q)
	var all []Hit
	for i := 0; i < m.Rows; i++ {
		if skip != nil && skip(int32(i)) {
			continue
		}
		all = append(all, Hit{Item: int32(i), Score: qs * m.Scales[i] * float32(quant.DotInt8(qc, m.Row(i)))})
	}
	sort.SliceStable(all, func(a, b int) bool { return all[a].Score > all[b].Score })
	return all[:min(k, len(all))]
}

func TestExactMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	_, m := randomItems(rng, 3000, 32)
	for trial := 0; trial < 20; trial++ {
		q := make([]float32, 32)
		for j := range q {
			q[j] = float32(rng.NormFloat64())
		}
		k := []int{0, 1, 10, 100, 5000}[trial%5]
		skip := func(i int32) bool { return i%7 == int32(trial%7) }
		got := Exact{Items: m}.Search(q, k, skip)
		want := naiveSearch(m, q, k, skip)
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d k=%d: got %d hits, want %d; first got %v want %v", trial, k, len(got), len(want), got[:min(3, len(got))], want[:min(3, len(want))])
		}
	}
}

// TestExactRecallAgainstFloat measures how much int8 quantization changes
// the top 100 compared with float32 scores.
func TestExactRecallAgainstFloat(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	raw, m := randomItems(rng, 5000, 64)
	var hit, total int
	for trial := 0; trial < 20; trial++ {
		q := raw[rng.IntN(len(raw))]
		top := NewTopK(100)
		for i, v := range raw {
			top.Push(int32(i), vec.Dot(q, v))
		}
		want := map[int32]bool{}
		for _, h := range top.Sorted() {
			want[h.Item] = true
		}
		for _, h := range (Exact{Items: m}).Search(q, 100, nil) {
			if want[h.Item] {
				hit++
			}
		}
		total += 100
	}
	recall := float64(hit) / float64(total)
	t.Logf("int8 exact search recall@100 against float32: %.4f", recall)
	if recall < 0.95 {
		t.Errorf("recall@100 %.4f < 0.95", recall)
	}
}

func TestTopKOrder(t *testing.T) {
	top := NewTopK(3)
	for i, s := range []float32{0.1, 0.9, 0.5, 0.9, 0.3, 0.7} {
		top.Push(int32(i), s)
	}
	got := top.Sorted()
	want := []Hit{{1, 0.9}, {3, 0.9}, {5, 0.7}}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func BenchmarkExact(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, n := range []int{10_000, 100_000} {
		_, m := randomItems(rng, n, 64)
		q := make([]float32, 64)
		for j := range q {
			q[j] = float32(rng.NormFloat64())
		}
		b.Run("heap/n="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Exact{Items: m}.Search(q, 100, nil)
			}
		})
		b.Run("sort-all/n="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				naiveSearch(m, q, 100, nil)
			}
		})
	}
}

// TestTopKMatchesSort holds TopK to sorting everything, with ties, NaN and
// k around the buffer's reductions.
func TestTopKMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for trial := 0; trial < 500; trial++ {
		n := rng.IntN(3000)
		k := []int{0, 1, 2, 31, 32, 33, 100, 1000, 5000}[trial%9]
		var all []Hit
		top := NewTopK(k)
		for i := 0; i < n; i++ {
			s := float32(rng.IntN(1 + trial%50))
			if trial%7 == 0 {
				s = rng.Float32()
			}
			item := int32(rng.IntN(1 << 20))
			if trial%11 == 0 && i%10 == 0 {
				s = float32(math.NaN())
			} else {
				all = append(all, Hit{item, s})
			}
			top.Push(item, s)
			if top.Len() > k || top.Len() > i+1 {
				t.Fatalf("Len %d after %d pushes, k=%d", top.Len(), i+1, k)
			}
		}
		sort.SliceStable(all, func(a, b int) bool { return worse(all[b], all[a]) })
		want := all[:min(k, len(all))]
		if got := top.Sorted(); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("trial %d, n=%d, k=%d: got %v…, want %v…", trial, n, k, got[:min(3, len(got))], want[:min(3, len(want))])
		}
	}
}
