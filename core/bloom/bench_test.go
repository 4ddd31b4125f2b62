package bloom

import (
	"fmt"
	"testing"
)

// benchIDs returns n ids shaped like real external ids.
func benchIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("tt%07d", i)
	}
	return ids
}

// BenchmarkAdd adds ids to filters made for 1,000 and 100,000 items at
// p = 0.01 (k = 7).
func BenchmarkAdd(b *testing.B) {
	ids := benchIDs(1 << 12)
	for _, n := range []int{1000, 100_000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			f, _ := New(n, 0.01)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				f.Add(ids[i&(len(ids)-1)])
				i++
			}
		})
	}
}

// BenchmarkMayContain looks up members (all k probes run) and non-members
// (most stop at the first clear bit), beside the naive baseline of a Go map
// of the same ids, which is exact but costs about 50 bytes per id instead of
// 1.2.
func BenchmarkMayContain(b *testing.B) {
	const n = 100_000
	ids := benchIDs(2 * n)
	f, _ := New(n, 0.01)
	set := make(map[string]struct{}, n)
	for _, id := range ids[:n] {
		f.Add(id)
		set[id] = struct{}{}
	}
	for _, c := range []struct {
		name string
		ids  []string
	}{{"member", ids[:n]}, {"non-member", ids[n:]}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			i, hits := 0, 0
			for b.Loop() {
				if f.MayContain(c.ids[i%n]) {
					hits++
				}
				i++
			}
			_ = hits
		})
		b.Run(c.name+"/map-baseline", func(b *testing.B) {
			b.ReportAllocs()
			i, hits := 0, 0
			for b.Loop() {
				if _, ok := set[c.ids[i%n]]; ok {
					hits++
				}
				i++
			}
			_ = hits
		})
	}
}

// BenchmarkDecode decodes a filter for 100,000 items at p = 0.01 (120 KB).
func BenchmarkDecode(b *testing.B) {
	f, _ := New(100_000, 0.01)
	for _, id := range benchIDs(100_000) {
		f.Add(id)
	}
	enc, _ := f.MarshalBinary()
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}
