package ann

import (
	"testing"

	"github.com/edgerec/edgerec/core/quant"
)

func BenchmarkExpParts(b *testing.B) {
	f := newFixture(b, 100_000)
	qs := f.queries(20, 100, 11)
	ix := f.ivf
	q := qs[0].q
	b.Logf("lists %d nprobe %d", ix.Lists(), ix.NProbe)
	b.Run("search174", func(b *testing.B) {
		for b.Loop() {
			ix.Search(q, 174, 48, nil)
		}
	})
	qq := quant.NewQuery(q)
	cs := make([]float32, ix.Lists())
	b.Run("centroids", func(b *testing.B) {
		for b.Loop() {
			ix.Centroids.Scores(cs, qq, 0)
		}
	})
	b.Run("bestLists", func(b *testing.B) {
		for b.Loop() {
			bestLists(cs, 48)
		}
	})
	order := bestLists(cs, 48)
	rows := 0
	for _, l := range order {
		rows += int(ix.Offsets[l+1] - ix.Offsets[l])
	}
	b.Logf("rows %d", rows)
	var buf [scanChunk]float32
	b.Run("scores", func(b *testing.B) {
		for b.Loop() {
			for _, l := range order {
				lo, hi := int(ix.Offsets[l]), int(ix.Offsets[l+1])
				for lo < hi {
					n := min(hi-lo, len(buf))
					ix.Items.Scores(buf[:n], qq, lo)
					lo += n
				}
			}
		}
	})
	b.Run("scan", func(b *testing.B) {
		for b.Loop() {
			top := NewTopK(174)
			for _, l := range order {
				scan(top, ix.Items, qq, int(ix.Offsets[l]), int(ix.Offsets[l+1]), nil, buf[:])
			}
			top.Sorted()
		}
	})
}
