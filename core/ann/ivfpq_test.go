package ann

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/edgerec/edgerec/core/quant"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// randIVFPQ returns an index of random codebooks, centroids and codes:
// lists lists of random sizes (some empty) holding rows rows in all.
func randIVFPQ(rng *rand.Rand, dim, m, lists, rows int) *IVFPQ {
	p := &quant.PQ{Dim: dim, M: m, Codebooks: make([]float32, quant.PQCentroids*dim)}
	for i := range p.Codebooks {
		p.Codebooks[i] = float32(rng.NormFloat64()) / 8
	}
	ix := &IVFPQ{PQ: p, Centroids: quant.NewInt8(lists, dim), Offsets: make([]uint32, lists+1),
		Codes: make([]byte, rows*m), NProbe: max(1, lists/4)}
	c := make([]float32, dim)
	for l := range lists {
		for j := range c {
			c[j] = float32(rng.NormFloat64()) / 4
		}
		ix.Centroids.Set(l, c)
	}
	cuts := make([]int, lists-1)
	for i := range cuts {
		cuts[i] = rng.IntN(rows + 1)
	}
	sort.Ints(cuts)
	for l, c := range cuts {
		ix.Offsets[l+1] = uint32(c)
	}
	ix.Offsets[lists] = uint32(rows)
	for i := range ix.Codes {
		ix.Codes[i] = byte(rng.IntN(256))
	}
	ix.Prepare()
	return ix
}

// searchRef is IVFPQ.Search with every list probed, by its definition:
// each row's fixed-point score (the centroid score plus PQTable.Score of
// the reference sum), the best k by score then lower row.
func searchRef(ix *IVFPQ, q []float32, k int, skip func(int32) bool) []Hit {
	var tab quant.PQTable
	ix.PQ.Table(&tab, q)
	m := ix.PQ.M
	var all []Hit
	for l := range ix.Lists() {
		base := ix.centroidScore(l, q) // TestCentroidScore checks it
		for r := int(ix.Offsets[l]); r < int(ix.Offsets[l+1]); r++ {
			var s uint32
			for j, c := range ix.Codes[r*m : (r+1)*m] {
				s += uint32(tab.T[j*quant.PQCentroids+int(c)])
			}
			if skip == nil || !skip(int32(r)) {
				all = append(all, Hit{Item: int32(r), Score: base + tab.Offset + tab.Step*float32(s)})
			}
		}
	}
	sort.Slice(all, func(i, j int) bool { return worse(all[j], all[i]) })
	return all[:min(k, len(all))]
}

// TestCentroidScore: a list's score is the inner product with its decoded
// centroid, up to float32 rounding.
func TestCentroidScore(t *testing.T) {
	rng := rand.New(rand.NewPCG(35, 36))
	for _, dim := range []int{64, 12} {
		ix := randIVFPQ(rng, dim, 4, 7, 10)
		q := make([]float32, dim)
		for j := range q {
			q[j] = float32(rng.NormFloat64())
		}
		c := make([]float32, dim)
		for l := range ix.Lists() {
			ix.Centroids.Decode(c, l)
			var want, norm float64
			for j := range c {
				want += float64(q[j]) * float64(c[j])
				norm += math.Abs(float64(q[j]) * float64(c[j]))
			}
			assert.InDelta(t, want, float64(ix.centroidScore(l, q)), 1e-6*norm)
		}
	}
}

// TestIVFPQDecode: a row's reconstruction scores, against any query,
// what its search hit scores (within the table's rounding), and List
// finds the list of every row, empty lists included.
func TestIVFPQDecode(t *testing.T) {
	rng := rand.New(rand.NewPCG(37, 38))
	ix := randIVFPQ(rng, 64, 32, 9, 300)
	for l := range ix.Lists() {
		for r := ix.Offsets[l]; r < ix.Offsets[l+1]; r++ {
			require.Equal(t, l, ix.List(int(r)))
		}
	}
	q := make([]float32, 64)
	for j := range q {
		q[j] = float32(rng.NormFloat64())
	}
	var tab quant.PQTable
	ix.PQ.Table(&tab, q)
	x := make([]float32, 64)
	for _, h := range ix.Search(nil, q, 300, ix.Lists(), nil, nil) {
		ix.Decode(x, int(h.Item))
		var want float64
		for j := range x {
			want += float64(x[j]) * float64(q[j])
		}
		assert.InDelta(t, want, float64(h.Score), float64(tab.Step)*16+1e-4)
	}
	assert.Panics(t, func() { ix.List(300) })
}

// TestIVFPQSearchAllLists: probing every list, Search returns exactly the
// reference's hits (same rows, same scores, same order), with and without
// skip, for k below and above the rows.
func TestIVFPQSearchAllLists(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, shape := range [][2]int{{64, 32}, {64, 16}, {32, 8}} {
		dim, m := shape[0], shape[1]
		ix := randIVFPQ(rng, dim, m, 13, 900)
		require.NoError(t, ix.Validate())
		var s Scratch
		for _, k := range []int{1, 10, 100, 1000} {
			q := make([]float32, dim)
			for j := range q {
				q[j] = float32(rng.NormFloat64())
			}
			skip := func(r int32) bool { return r%7 == 3 }
			for _, sk := range []func(int32) bool{nil, skip} {
				got := ix.Search(nil, q, k, ix.Lists(), sk, &s)
				assert.Equal(t, searchRef(ix, q, k, sk), got, "dim %d M %d k %d", dim, m, k)
			}
		}
	}
}

// TestIVFPQSearchProbes: with nprobe lists, the hits are the reference's
// restricted to the nprobe lists of highest centroid score, and more
// lists are scanned when those hold fewer than k rows.
func TestIVFPQSearchProbes(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	ix := randIVFPQ(rng, 64, 32, 40, 2000)
	q := make([]float32, 64)
	for j := range q {
		q[j] = float32(rng.NormFloat64())
	}
	cs := make([]float32, ix.Lists())
	ix.Centroids.Scores(cs, quant.NewQuery(q), 0) // the lists are ranked in int8
	const nprobe = 5
	probed := map[int32]bool{}
	for _, l := range bestLists(cs, nprobe) {
		for r := ix.Offsets[l]; r < ix.Offsets[l+1]; r++ {
			probed[int32(r)] = true
		}
	}
	want := searchRef(ix, q, 20, func(r int32) bool { return !probed[r] })
	got := ix.Search(nil, q, 20, nprobe, nil, nil)
	assert.Equal(t, want, got)

	// k larger than the probed lists hold: every row is reachable.
	k := len(probed) + 50
	got = ix.Search(nil, q, k, nprobe, nil, nil)
	assert.Len(t, got, k)
}

// TestIVFPQSearchAllocs: with a warm Scratch and room in dst a search
// allocates nothing.
func TestIVFPQSearchAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	ix := randIVFPQ(rng, 64, 32, 64, 20000)
	q := make([]float32, 64)
	for j := range q {
		q[j] = float32(rng.NormFloat64())
	}
	var s Scratch
	dst := ix.Search(nil, q, 100, 16, nil, &s)
	allocs := testing.AllocsPerRun(20, func() { dst = ix.Search(dst[:0], q, 100, 16, nil, &s) })
	assert.Zero(t, allocs)
}

// TestIVFPQLayoutRoundTrip: MarshalBinary then DecodeIVFPQ gives the same
// index, aliasing aligned bytes, and the same search results; unaligned
// bytes decode to copies that search the same.
func TestIVFPQLayoutRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	for _, shape := range [][4]int{{64, 32, 17, 1001}, {64, 16, 1, 5}, {12, 3, 3, 0}} {
		ix := randIVFPQ(rng, shape[0], shape[1], shape[2], shape[3])
		b, err := ix.MarshalBinary()
		require.NoError(t, err)
		assert.Zero(t, len(b)%8)
		got, err := DecodeIVFPQ(b)
		require.NoError(t, err)
		assert.Equal(t, ix, got)
		if shape[3] > 0 {
			assert.Same(t, &b[len(b)-int(pad8(uint64(len(got.Codes))))], &got.Codes[0])
			assert.Same(t, &b[ivfpqHeader], (*byte)(unsafe.Pointer(&got.PQ.Codebooks[0])))
		}
		// Unaligned: copies.
		u := make([]byte, len(b)+1)[1:]
		copy(u, b)
		got2, err := DecodeIVFPQ(u)
		require.NoError(t, err)
		assert.Equal(t, ix, got2)
		q := make([]float32, shape[0])
		for j := range q {
			q[j] = float32(rng.NormFloat64())
		}
		assert.Equal(t, ix.Search(nil, q, 10, 2, nil, nil), got2.Search(nil, q, 10, 2, nil, nil))
		b2, err := got.MarshalBinary()
		require.NoError(t, err)
		assert.Equal(t, b, b2)
	}
}

// TestDecodeIVFPQRejects: each kind of damage is refused with
// ErrIVFPQFormat, never a panic.
func TestDecodeIVFPQRejects(t *testing.T) {
	rng := rand.New(rand.NewPCG(29, 30))
	ix := randIVFPQ(rng, 64, 32, 4, 100) // 5 offsets: 4 bytes of padding
	good, err := ix.MarshalBinary()
	require.NoError(t, err)
	put := func(off int, v uint32) []byte {
		b := bytes.Clone(good)
		b[off], b[off+1], b[off+2], b[off+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
		return b
	}
	cent := ivfpqHeader + 4*quant.PQCentroids*64
	scales := cent + 4*64
	offs := scales + 4*4
	for name, b := range map[string][]byte{
		"empty":             nil,
		"short header":      good[:31],
		"magic":             put(0, 0x51505648),
		"version":           put(4, 2),
		"reserved":          put(28, 1),
		"M does not divide": put(12, 24),
		"dim too large":     put(8, 1<<20),
		"no lists":          put(16, 0),
		"nprobe":            put(24, 5),
		"rows":              put(20, 101),
		"huge rows":         put(20, math.MaxUint32),
		"truncated":         good[:len(good)-8],
		"trailing":          append(bytes.Clone(good), make([]byte, 8)...),
		"NaN scale":         put(scales, math.Float32bits(float32(math.NaN()))),
		"negative scale":    put(scales+4, math.Float32bits(-1)),
		"offsets decrease":  put(offs+8, 1000),
		"first offset":      put(offs, 1),
		"padding":           put(offs+20, 1),
	} {
		_, err := DecodeIVFPQ(b)
		assert.True(t, errors.Is(err, ErrIVFPQFormat), "%s: %v", name, err)
	}
}

// FuzzDecodeIVFPQ: any bytes decode to an error or to a valid index whose
// bytes are the input (round trip) and which searches without a panic.
func FuzzDecodeIVFPQ(f *testing.F) {
	rng := rand.New(rand.NewPCG(31, 32))
	for _, shape := range [][4]int{{8, 4, 3, 20}, {4, 1, 1, 0}, {2, 2, 2, 9}} {
		b, err := randIVFPQ(rng, shape[0], shape[1], shape[2], shape[3]).MarshalBinary()
		require.NoError(f, err)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ix, err := DecodeIVFPQ(b)
		if err != nil {
			if !errors.Is(err, ErrIVFPQFormat) {
				t.Fatalf("error %v does not wrap ErrIVFPQFormat", err)
			}
			return
		}
		out, err := ix.MarshalBinary()
		require.NoError(t, err)
		require.Equal(t, b, out)
		q := make([]float32, ix.PQ.Dim)
		for j := range q {
			q[j] = float32(j%3) - 1
		}
		hits := ix.Search(nil, q, 5, 0, nil, nil)
		require.LessOrEqual(t, len(hits), 5)
	})
}

// BenchmarkIVFPQSearch searches an index written by tools/compact
// (TestWriteBench there): EDGEREC_IVFPQ_BENCH names the index file, and
// FILE.queries holds the queries as little-endian float32 rows. Run it in
// wazero as core/quant's benchmarks run (the file path must be absolute).
func BenchmarkIVFPQSearch(b *testing.B) {
	path := os.Getenv("EDGEREC_IVFPQ_BENCH")
	if path == "" {
		b.Skip("EDGEREC_IVFPQ_BENCH names no index file")
	}
	raw, err := os.ReadFile(path)
	require.NoError(b, err)
	ix, err := DecodeIVFPQ(alignedCopy(raw))
	require.NoError(b, err)
	qb, err := os.ReadFile(path + ".queries")
	require.NoError(b, err)
	qs := float32s(alignedCopy(qb), len(qb)/4)
	dim := ix.PQ.Dim
	nq := len(qs) / dim
	probes := []int{ix.NProbe / 2, ix.NProbe, 2 * ix.NProbe}
	if v := os.Getenv("EDGEREC_IVFPQ_NPROBE"); v != "" {
		// A comma-separated list instead of the default and its half and double.
		probes = probes[:0]
		for _, f := range strings.Split(v, ",") {
			np, err := strconv.Atoi(f)
			require.NoError(b, err)
			probes = append(probes, np)
		}
	}
	for _, np := range probes {
		np = max(np, 1)
		b.Run("nprobe="+strconv.Itoa(np), func(b *testing.B) {
			var s Scratch
			var dst []Hit
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				dst = ix.Search(dst[:0], qs[i*dim:(i+1)*dim], 110, np, nil, &s)
				i = (i + 1) % nq
			}
		})
	}
}

// alignedCopy returns b copied to an 8-byte aligned buffer.
func alignedCopy(b []byte) []byte {
	w := make([]uint64, (len(b)+7)/8)
	out := unsafeBytes(w)[:len(b)]
	copy(out, b)
	return out
}

func unsafeBytes(w []uint64) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), 8*len(w))
}

// TestRowScorer: a row's score alone is the one Search gives it, and
// within the table's rounding (M half-steps) of the inner product with
// the row's reconstruction.
func TestRowScorer(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	const dim = 64
	ix := randIVFPQ(rng, dim, 32, 20, 2000)
	q, rec := make([]float32, dim), make([]float32, dim)
	for trial := 0; trial < 5; trial++ {
		for j := range q {
			q[j] = float32(rng.NormFloat64())
		}
		sc := ix.Scorer(q)
		var tab quant.PQTable
		ix.PQ.Table(&tab, q)
		hits := ix.Search(nil, q, 50, ix.Lists(), nil, nil)
		require.Len(t, hits, 50)
		for _, h := range hits {
			require.Equal(t, h.Score, sc.Score(int(h.Item)), "row %d alone and in the search", h.Item)
			ix.Decode(rec, int(h.Item))
			var dot float32
			for j := range q {
				dot += q[j] * rec[j]
			}
			assert.InDelta(t, dot, h.Score, float64(tab.Step)*16+1e-4, "row %d", h.Item)
		}
	}
}
