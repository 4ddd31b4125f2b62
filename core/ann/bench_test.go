package ann

import (
	"flag"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/edgerec/edgerec/core/ann/anntest"
	"github.com/edgerec/edgerec/core/quant"
)

// float16Search is a full scan of float16 embeddings: the near-lossless
// reference point for the quantization recall figures.
func float16Search(m *quant.Float16, q []float32, k int, skip func(int32) bool) []Hit {
	top := NewTopK(k)
	buf := make([]float32, scanChunk)
	for lo := 0; lo < m.Rows; lo += scanChunk {
		s := buf[:min(scanChunk, m.Rows-lo)]
		m.Scores(s, q, lo)
		for i, v := range s {
			if skip == nil || !skip(int32(lo+i)) {
				top.Push(int32(lo+i), v)
			}
		}
	}
	return top.Sorted()
}

// exactDotInt8 is Exact.Search as it was before the word kernel: DotInt8
// on each row, and skip asked about every row. It is the "before" of the
// benchmarks.
func exactDotInt8(m *quant.Int8, q []float32, k int, skip func(int32) bool) []Hit {
	qc := make([]int8, m.Dim)
	qs := quant.Encode(qc, q)
	top := NewTopK(k)
	for i := 0; i < m.Rows; i++ {
		if skip != nil && skip(int32(i)) {
			continue
		}
		top.Push(int32(i), qs*m.Scales[i]*float32(quant.DotInt8(qc, m.Row(i))))
	}
	return top.Sorted()
}

// ivfBinary is IVF with a one-bit first pass inside the probed lists: the
// signs of each item's residual r = x − c against its list's centroid, an
// estimate ⟨q, c⟩ + ‖r‖²/‖r‖₁·⟨q, sign r⟩ (quant.Binary.Estimates; Gao &
// Long, "RaBitQ", SIGMOD 2024), and an int8 re-score of the best rerank.
// It is the IVF variant MEASUREMENTS.md ("Choosing the index") measures
// and edgerec does not ship: at equal recall it was not faster here, and
// it costs more bytes per item.
type ivfBinary struct {
	ix     *IVF
	codes  *quant.Binary
	fac    []float32
	nprobe int
	rerank int
}

func newIVFBinary(ix *IVF, nprobe, rerank int) *ivfBinary {
	s := &ivfBinary{ix: ix, codes: quant.NewBinary(ix.Items.Rows, ix.Items.Dim), fac: make([]float32, ix.Items.Rows),
		nprobe: nprobe, rerank: rerank}
	c := make([]float32, ix.Items.Dim)
	x := make([]float32, ix.Items.Dim)
	for l := 0; l < ix.Lists(); l++ {
		ix.Centroids.Decode(c, l)
		for r := int(ix.Offsets[l]); r < int(ix.Offsets[l+1]); r++ {
			ix.Items.Decode(x, r)
			s.codes.Set(r, x, c)
			var n1, n2 float32
			for j := range x {
				d := x[j] - c[j]
				n1 += float32(math.Abs(float64(d)))
				n2 += d * d
			}
			if n1 > 0 {
				s.fac[r] = n2 / n1
			}
		}
	}
	return s
}

func (s *ivfBinary) search(q []float32, k int, skip func(int32) bool) []Hit {
	ix := s.ix
	qq := quant.NewQuery(q)
	cs := make([]float32, ix.Lists())
	ix.Centroids.Scores(cs, qq, 0)
	bq := quant.NewBinaryQuery(q)
	est := NewTopK(max(s.rerank, k))
	var buf [scanChunk]float32
	for _, l := range bestLists(cs, s.nprobe) {
		for lo := int(ix.Offsets[l]); lo < int(ix.Offsets[l+1]); lo += scanChunk {
			e := buf[:min(scanChunk, int(ix.Offsets[l+1])-lo)]
			s.codes.Estimates(e, bq, lo)
			for i, v := range e {
				est.Push(int32(lo+i), cs[l]+s.fac[lo+i]*v)
			}
		}
	}
	top := NewTopK(k)
	var one [1]float32
	for _, h := range est.Sorted() {
		if skip != nil && skip(h.Item) {
			continue
		}
		ix.Items.Scores(one[:], qq, int(h.Item))
		top.Push(h.Item, one[0])
	}
	return top.Sorted()
}

// searcher is one retrieval method over a fixture; rows are catalog items.
type searcher struct {
	name   string
	search func(q []float32, k int, skip func(int32) bool) []Hit
}

func searchers(f *fixture) []searcher {
	f16 := quant.NewFloat16(f.cat.N, f.cat.Dim)
	for i := 0; i < f.cat.N; i++ {
		f16.Set(i, f.cat.Row(i))
	}
	ivfInCatalogOrder := func(nprobe int) func(q []float32, k int, skip func(int32) bool) []Hit {
		return func(q []float32, k int, skip func(int32) bool) []Hit {
			hits := f.ivf.Search(nil, q, k, nprobe, func(r int32) bool { return skip(f.perm[r]) }, nil)
			for i := range hits {
				hits[i].Item = f.perm[hits[i].Item]
			}
			return hits
		}
	}
	s := []searcher{
		{"float16-exact", func(q []float32, k int, skip func(int32) bool) []Hit { return float16Search(f16, q, k, skip) }},
		{"int8-exact-dotint8", func(q []float32, k int, skip func(int32) bool) []Hit { return exactDotInt8(f.items, q, k, skip) }},
		{"int8-exact", Exact{Items: f.items}.Search},
		{"ivf-nprobe=" + strconv.Itoa(f.ivf.NProbe), ivfInCatalogOrder(f.ivf.NProbe)},
		{"ivf-nprobe=" + strconv.Itoa(2*f.ivf.NProbe), ivfInCatalogOrder(2 * f.ivf.NProbe)},
	}
	for _, r := range []int{1000, 2000, 4000} {
		s = append(s, searcher{"binary-rerank=" + strconv.Itoa(r), NewBinaryRerank(f.items, r).Search})
	}
	for _, r := range []int{500, 1000} {
		for _, m := range []int{1, 2} {
			b := newIVFBinary(f.ivf, m*f.ivf.NProbe, r)
			s = append(s, searcher{"ivf-binary-nprobe=" + strconv.Itoa(b.nprobe) + "-rerank=" + strconv.Itoa(r),
				func(q []float32, k int, skip func(int32) bool) []Hit {
					hits := b.search(q, k, func(row int32) bool { return skip(f.perm[row]) })
					for i := range hits {
						hits[i].Item = f.perm[hits[i].Item]
					}
					return hits
				}})
		}
	}
	return s
}

// TestQuantizationRecall measures recall@100 against exact float32 search
// for each encoding and index on the fixed synthetic set, and holds the
// ones that serve to floors.
func TestQuantizationRecall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 20k catalog in several encodings")
	}
	f := newFixture(t, 20_000)
	qs := f.queries(100, 100, 10)
	floors := map[string]float64{"float16-exact": 0.995, "int8-exact": 0.96}
	for _, s := range searchers(f) {
		var r float64
		for _, u := range qs {
			var got []int32
			for _, h := range s.search(u.q, 100, func(i int32) bool { return slices.Contains(u.history, i) }) {
				got = append(got, h.Item)
			}
			r += anntest.Recall(got, u.want)
		}
		r /= float64(len(qs))
		t.Logf("%-20s recall@100 against float32: %.4f", s.name, r)
		if fl, ok := floors[s.name]; ok && r < fl {
			t.Errorf("%s: recall %.4f < floor %.3f", s.name, r, fl)
		}
	}
}

var bench1M = flag.Bool("bench1m", false, "BenchmarkSearch also on 1M items (a minute of set-up)")

// BenchmarkSearch times each method on 10k and 100k clustered items, with
// its recall@100 against float32 as a metric. In wazero:
//
//	GOOS=wasip1 GOARCH=wasm go test -exec "$(go env GOROOT)/lib/wasm/go_wasip1_wasm_exec" -run '^$' -bench Search ./core/ann
func BenchmarkSearch(b *testing.B) {
	sizes := []int{10_000, 100_000}
	if *bench1M {
		sizes = append(sizes, 1_000_000)
	}
	for _, n := range sizes {
		f := newFixture(b, n)
		qs := f.queries(20, 100, 11)
		for _, s := range searchers(f) {
			b.Run(s.name+"/n="+strconv.Itoa(n), func(b *testing.B) {
				var r float64
				for _, u := range qs {
					var got []int32
					for _, h := range s.search(u.q, 100, func(i int32) bool { return slices.Contains(u.history, i) }) {
						got = append(got, h.Item)
					}
					r += anntest.Recall(got, u.want)
				}
				runs := 0
				b.ReportAllocs()
				for b.Loop() {
					u := qs[runs%len(qs)]
					s.search(u.q, 100, func(i int32) bool { return slices.Contains(u.history, i) })
					runs++
				}
				b.ReportMetric(r/float64(len(qs)), "recall@100")
			})
		}
	}
}

// bestListsSorted is bestLists before the block bound: the best so far
// kept in a sorted array, a binary search and a copy per score that
// enters. It is the baseline of BenchmarkBestLists.
func bestListsSorted(scores []float32, n int) []int32 {
	n = min(n, len(scores))
	best := make([]Hit, 0, n)
	for l, s := range scores {
		if len(best) == n && !(s > best[n-1].Score) {
			continue
		}
		lo, hi := 0, len(best)
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if best[m].Score >= s {
				lo = m + 1
			} else {
				hi = m
			}
		}
		if len(best) < n {
			best = append(best, Hit{})
		}
		copy(best[lo+1:], best[lo:len(best)-1])
		best[lo] = Hit{Item: int32(l), Score: s}
	}
	out := make([]int32, len(best))
	for i, h := range best {
		out[i] = h.Item
	}
	return out
}

// BenchmarkBestLists chooses 28 of 633 and 48 of 1 265 normal scores (the
// lists a search probes at 100k items with 2√N and 4√N lists), against
// the sorted-array baseline; and sorts 174 keys (a pipeline search's top
// k) with SortKeys and with slices.Sort. In wazero:
//
//	GOOS=wasip1 GOARCH=wasm go test -exec "$(go env GOROOT)/lib/wasm/go_wasip1_wasm_exec" -run '^$' -bench 'BestLists|SortKeys' ./core/ann
func BenchmarkBestLists(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct{ lists, n int }{{633, 28}, {1265, 48}} {
		scores := make([]float32, c.lists)
		for i := range scores {
			scores[i] = float32(rng.NormFloat64())
		}
		if !slices.Equal(bestLists(scores, c.n), bestListsSorted(scores, c.n)) {
			b.Fatal("bestLists and the baseline differ")
		}
		name := strconv.Itoa(c.n) + "of" + strconv.Itoa(c.lists)
		b.Run("block/"+name, func(b *testing.B) {
			for b.Loop() {
				bestLists(scores, c.n)
			}
		})
		b.Run("sorted/"+name, func(b *testing.B) {
			for b.Loop() {
				bestListsSorted(scores, c.n)
			}
		})
	}
}

// BenchmarkSearchParts splits an IVF search on the 100k fixture (k = 164,
// what the pipeline's two-tower source fetches for 100 candidates; the
// default nprobe) into its parts, each timed alone: the centroid scores,
// the choice of lists, the int8 kernel over the probed rows, the kernel
// with the top k's admission test (scan), and that with the final sort.
// The whole search less the parts shows what is left; module against
// native, it shows which parts the module pays most for:
//
//	GOWASIRUNTIME=wazero GOOS=wasip1 GOARCH=wasm go test -exec "$(go env GOROOT)/lib/wasm/go_wasip1_wasm_exec" -run '^$' -bench SearchParts ./core/ann
func BenchmarkSearchParts(b *testing.B) {
	f := newFixture(b, 100_000)
	q := f.cat.Query(f.cat.User(rand.New(rand.NewPCG(1, 2)), 5))
	ix, k := f.ivf, 164
	var s Scratch
	b.Run("search", func(b *testing.B) {
		var dst []Hit
		for b.Loop() {
			dst = ix.Search(dst[:0], q, k, 0, nil, &s)
		}
	})
	s.query.Reset(q)
	cs := s.centroidScores(ix.Lists())
	b.Run("centroids", func(b *testing.B) {
		for b.Loop() {
			ix.Centroids.Scores(cs, &s.query, 0)
		}
	})
	b.Run("lists", func(b *testing.B) {
		for b.Loop() {
			s.lists.best(cs, ix.NProbe)
		}
	})
	probed := slices.Clone(s.lists.best(cs, ix.NProbe))
	b.Run("kernel", func(b *testing.B) {
		for b.Loop() {
			for _, l := range probed {
				for lo, hi := int(ix.Offsets[l]), int(ix.Offsets[l+1]); lo < hi; lo += scanChunk {
					ix.Items.Scores(s.scores[:min(scanChunk, hi-lo)], &s.query, lo)
				}
			}
		}
	})
	scanAll := func() TopK {
		top := s.topK(k)
		for _, l := range probed {
			scan(&top, ix.Items, &s.query, int(ix.Offsets[l]), int(ix.Offsets[l+1]), nil, nil, s.scores[:])
		}
		return top
	}
	b.Run("scan", func(b *testing.B) {
		for b.Loop() {
			top := scanAll()
			s.keepKeys(&top)
		}
	})
	b.Run("scan+sort", func(b *testing.B) {
		var dst []Hit
		for b.Loop() {
			top := scanAll()
			dst = top.appendSorted(dst[:0])
			s.keepKeys(&top)
		}
	})
}
