package bundle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"slices"
	"testing"

	"github.com/edgerec/edgerec/core/quant"
)

const goldenIndex = "testdata/v3.0-ivf.bundle"

// testIndexBundle is testBundle with a two-list IVF index over its five
// items.
func testIndexBundle() *Bundle {
	b := testBundle()
	x := &Index{Offsets: []uint32{0, 2, 5}, Centroids: quant.NewInt8(2, 4), NProbe: 1, Recall: 0.75}
	x.Centroids.Set(0, []float32{0.5, -0.5, 0.5, -0.5})
	x.Centroids.Set(1, []float32{-0.1, 0.7, 0.7, 0.1})
	b.Index = x
	return b
}

// TestGoldenIndex holds the encoding of a bundle with an index to its
// golden file (go test ./core/bundle -update rewrites it).
func TestGoldenIndex(t *testing.T) {
	got, err := Encode(testIndexBundle())
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, goldenIndex, got)
}

func TestIndexRoundTrip(t *testing.T) {
	want := testIndexBundle()
	data, err := Encode(want)
	if err != nil {
		t.Fatal(err)
	}
	h, err := ReadHeader(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range h.Entries {
		if e.Tag == TagIndex && e.Flags&FlagZstd != 0 {
			t.Error("INDX is compressed; its centroids could not alias the bundle")
		}
	}
	got, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	x, w := got.Index, want.Index
	if x == nil {
		t.Fatal("index lost")
	}
	if !slices.Equal(x.Offsets, w.Offsets) || x.NProbe != w.NProbe || x.Recall != w.Recall ||
		!slices.Equal(x.Centroids.Codes, w.Centroids.Codes) || !slices.Equal(x.Centroids.Scales, w.Centroids.Scales) {
		t.Errorf("index changed: got %+v, want %+v", x, w)
	}
	if ivf := x.IVF(got.Embeddings); ivf.Lists() != 2 || ivf.Validate() != nil {
		t.Errorf("IVF view: %d lists, %v", ivf.Lists(), ivf.Validate())
	}
	// A bundle without the section still decodes, without an index.
	plain, err := Encode(testBundle())
	if err != nil {
		t.Fatal(err)
	}
	if b, err := Decode(plain); err != nil || b.Index != nil {
		t.Errorf("bundle without INDX: index %v, error %v", b.Index, err)
	}
}

// withIndex returns the golden index bundle with its INDX section replaced
// by data (under valid checksums).
func withIndex(t testing.TB, data []byte) []byte {
	good, err := Encode(testIndexBundle())
	if err != nil {
		t.Fatal(err)
	}
	_, sections, err := decodeContainer(good, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	return replaceSection(t, sections, TagIndex, data)
}

// replaceSection encodes sections with the data of tag replaced.
func replaceSection(t testing.TB, sections []Section, tag string, data []byte) []byte {
	ss := slices.Clone(sections)
	for i := range ss {
		if ss[i].Tag == tag {
			ss[i].Data = data
		}
	}
	out, err := encodeContainer(Major, Minor, ss, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestIndexRejects corrupts the section one field at a time: each gives a
// FormatError naming INDX, never a panic.
func TestIndexRejects(t *testing.T) {
	good := encodeIndex(testIndexBundle().Index)
	put := func(off int, v uint32) func([]byte) []byte {
		return func(b []byte) []byte { binary.LittleEndian.PutUint32(b[off:], v); return b }
	}
	offsetsEnd := indexHeaderSize + 4*3
	for name, corrupt := range map[string]func([]byte) []byte{
		"truncated header":  func(b []byte) []byte { return b[:20] },
		"truncated":         func(b []byte) []byte { return b[:len(b)-1] },
		"trailing byte":     func(b []byte) []byte { return append(b, 0) },
		"no lists":          put(4, 0),
		"too many lists":    put(4, MaxIndexLists+1),
		"lists vs length":   put(4, 3),
		"dimension":         put(8, 5),
		"nprobe 0":          put(12, 0),
		"nprobe > lists":    put(12, 3),
		"recall NaN":        put(16, math.Float32bits(float32(math.NaN()))),
		"recall > 1":        put(16, math.Float32bits(1.5)),
		"reserved":          put(24, 1),
		"padding":           func(b []byte) []byte { b[offsetsEnd] = 1; return b },
		"first offset":      put(indexHeaderSize, 1),
		"offsets decrease":  put(indexHeaderSize+4, 6),
		"last offset":       put(indexHeaderSize+8, 4),
		"infinite scale":    func(b []byte) []byte { return put(len(b)-4, math.Float32bits(float32(math.Inf(1))))(b) },
		"negative scale":    func(b []byte) []byte { return put(len(b)-8, math.Float32bits(-1))(b) },
		"huge lists, short": func(b []byte) []byte { return put(4, 1<<20)(b[:40]) },
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Decode(withIndex(t, corrupt(bytes.Clone(good))))
			var fe *FormatError
			if !errors.As(err, &fe) || fe.Section != TagIndex {
				t.Errorf("got %v, want a FormatError in %s", err, TagIndex)
			}
		})
	}
	// An index of a kind this reader does not know is skipped.
	unknown := bytes.Clone(good)
	binary.LittleEndian.PutUint32(unknown, 99)
	b, err := Decode(withIndex(t, unknown))
	if err != nil || b.Index != nil {
		t.Errorf("unknown kind: index %v, error %v; want it skipped", b.Index, err)
	}
	// Encode refuses an inconsistent index.
	bad := testIndexBundle()
	bad.Index.Offsets = []uint32{0, 3}
	if _, err := Encode(bad); err == nil {
		t.Error("Encode accepted offsets that do not cover the items")
	}
}

// FuzzDecodeIndex replaces the INDX section of the golden index bundle with
// fuzzed bytes under valid checksums: Decode must return a bundle or an
// error, never panic, and an accepted index must survive encode → decode.
func FuzzDecodeIndex(f *testing.F) {
	good, err := os.ReadFile(goldenIndex)
	if err != nil {
		f.Fatal(err)
	}
	_, sections, err := decodeContainer(good, nil, true)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range sections {
		if s.Tag == TagIndex {
			f.Add(bytes.Clone(s.Data))
			f.Add(bytes.Clone(s.Data[:len(s.Data)/2]))
			f.Add(bytes.Clone(s.Data[:indexHeaderSize]))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Decode(replaceSection(t, sections, TagIndex, data))
		if err != nil || b.Index == nil {
			return
		}
		again, err := Encode(b)
		if err != nil {
			t.Fatalf("decoded bundle does not re-encode: %v", err)
		}
		b2, err := Decode(again)
		if err != nil {
			t.Fatalf("re-encoded bundle does not decode: %v", err)
		}
		if !slices.Equal(b2.Index.Offsets, b.Index.Offsets) || b2.Index.NProbe != b.Index.NProbe ||
			!slices.Equal(b2.Index.Centroids.Codes, b.Index.Centroids.Codes) {
			t.Fatal("index changed in a round trip")
		}
	})
}

func TestNProbeFor(t *testing.T) {
	x := &Index{Offsets: make([]uint32, 101), NProbe: 10}
	for _, c := range [][2]int{{0, 10}, {-5, 10}, {1, 1}, {25, 25}, {40, 40}, {41, 40}, {1000, 40}} {
		if got := x.NProbeFor(c[0]); got != c[1] {
			t.Errorf("NProbeFor(%d) = %d, want %d", c[0], got, c[1])
		}
	}
	x.NProbe = 50 // 4× would pass the 100 lists
	if got := x.NProbeFor(1000); got != 100 {
		t.Errorf("NProbeFor(1000) with 100 lists = %d, want 100", got)
	}
}
