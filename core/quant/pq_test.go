package quant

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// randPQ returns a PQ of m subspaces of a dim-wide vector with random
// codebooks.
func randPQ(rng *rand.Rand, dim, m int) *PQ {
	p := &PQ{Dim: dim, M: m, Codebooks: make([]float32, PQCentroids*dim)}
	for i := range p.Codebooks {
		p.Codebooks[i] = float32(rng.NormFloat64()) / 4
	}
	return p
}

// alignedBytes returns n bytes starting at an address that is a multiple
// of 8 plus off.
func alignedBytes(n, off int) []byte {
	b := make([]byte, n+16)
	s := int(uintptr(unsafe.Pointer(&b[0])) % 8)
	lo := (8-s)%8 + off
	return b[lo : lo+n : lo+n]
}

// TestPQSums holds the kernel to its reference loop exactly: M = 32 (the
// word kernel) aligned and not, other M (the loop), random tables with
// entries at the extremes, guard values after dst.
func TestPQSums(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, m := range []int{32, 16, 8, 5, 1} {
		for _, off := range []int{0, 1, 4} {
			for _, rows := range []int{0, 1, 3, 64, 257} {
				name := "m=" + strconv.Itoa(m) + "/off=" + strconv.Itoa(off) + "/rows=" + strconv.Itoa(rows)
				t.Run(name, func(t *testing.T) {
					tab := &PQTable{M: m, T: make([]uint16, m*PQCentroids)}
					for i := range tab.T {
						tab.T[i] = uint16(rng.IntN(65536))
					}
					tab.T[0], tab.T[len(tab.T)-1] = 65535, 65535
					codes := alignedBytes(rows*m, off)
					for i := range codes {
						codes[i] = byte(rng.IntN(256))
					}
					if rows > 1 {
						for j := range m {
							codes[j] = 255
							codes[m+j] = 0
						}
					}
					const guard = 0xdeadbeef
					buf := make([]uint32, rows+2)
					buf[rows], buf[rows+1] = guard, guard
					tab.Sums(buf[:rows], codes)
					want := make([]uint32, rows)
					pqSumsRef(want, tab.T, m, codes)
					assert.Equal(t, want, buf[:rows])
					assert.Equal(t, []uint32{guard, guard}, buf[rows:])
				})
			}
		}
	}
}

// TestPQSumsPanics: a codes length that is not len(dst)·M is a programmer
// error.
func TestPQSumsPanics(t *testing.T) {
	tab := &PQTable{M: 32, T: make([]uint16, 32*PQCentroids)}
	assert.Panics(t, func() { tab.Sums(make([]uint32, 2), make([]byte, 63)) })
}

// TestPQTable: a code's fixed-point score is within the table's rounding
// (Step·M/2, plus float rounding) of the inner product of the query with
// the code's reconstruction.
func TestPQTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, shape := range [][2]int{{64, 32}, {64, 16}, {48, 8}, {7, 7}} {
		dim, m := shape[0], shape[1]
		p := randPQ(rng, dim, m)
		require.NoError(t, p.Validate())
		var tab, prepared PQTable
		q := randVec(rng, dim)
		p.Table(&tab, q)
		pp := *p
		pp.Prepare()
		pp.Table(&prepared, q)
		assert.Equal(t, tab.T, prepared.T, "the radii computed per call or by Prepare")
		assert.Equal(t, tab.Step, prepared.Step)
		assert.Equal(t, tab.Offset, prepared.Offset)
		const rows = 200
		codes := make([]byte, rows*m)
		for i := range codes {
			codes[i] = byte(rng.IntN(256))
		}
		sums := make([]uint32, rows)
		tab.Sums(sums, codes)
		x := make([]float32, dim)
		for i := range rows {
			p.Decode(x, codes[i*m:(i+1)*m])
			var want float64
			for j := range x {
				want += float64(x[j]) * float64(q[j])
			}
			got := float64(tab.Score(sums[i]))
			tol := float64(tab.Step)*float64(m)/2 + 1e-5*(1+math.Abs(want))
			assert.InDelta(t, want, got, tol, "dim %d, M %d, row %d", dim, m, i)
		}
	}
}

// TestPQTableDegenerate: a zero query gives a zero table and step; a NaN
// query scores NaN, never a finite value.
func TestPQTableDegenerate(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	p := randPQ(rng, 64, 32)
	var tab PQTable
	p.Table(&tab, make([]float32, 64))
	assert.Zero(t, tab.Step)
	assert.Zero(t, tab.Score(12345))
	q := randVec(rng, 64)
	q[3] = float32(math.NaN())
	p.Table(&tab, q)
	assert.True(t, math.IsNaN(float64(tab.Score(0))))
}

// TestPQEncode: a vector made of centroids encodes to their indices, and
// Encode picks the nearest centroid of each subspace (checked against a
// brute-force search).
func TestPQEncode(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, shape := range [][2]int{{64, 32}, {64, 16}, {12, 4}} {
		dim, m := shape[0], shape[1]
		p := randPQ(rng, dim, m)
		code := make([]byte, m)
		for i := range code {
			code[i] = byte(rng.IntN(256))
		}
		x := make([]float32, dim)
		p.Decode(x, code)
		got := make([]byte, m)
		p.Encode(got, x)
		assert.Equal(t, code, got)

		x = randVec(rng, dim)
		p.Encode(got, x)
		s := p.Sub()
		for sp := range m {
			best, bd := 0, math.Inf(1)
			for k := range PQCentroids {
				var d float64
				for j, c := range p.centroid(sp, k) {
					e := float64(x[sp*s+j] - c)
					d += e * e
				}
				if d < bd {
					best, bd = k, d
				}
			}
			assert.Equal(t, byte(best), got[sp], "subspace %d", sp)
		}
	}
}

// TestPQValidate rejects shapes and codebooks that do not agree.
func TestPQValidate(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	good := randPQ(rng, 64, 32)
	require.NoError(t, good.Validate())
	for name, p := range map[string]*PQ{
		"M does not divide Dim": {Dim: 64, M: 24, Codebooks: good.Codebooks},
		"zero M":                {Dim: 64, M: 0, Codebooks: good.Codebooks},
		"short codebooks":       {Dim: 64, M: 32, Codebooks: good.Codebooks[1:]},
		"NaN":                   {Dim: 64, M: 32, Codebooks: append([]float32{float32(math.NaN())}, good.Codebooks[1:]...)},
	} {
		assert.Error(t, p.Validate(), name)
	}
}

// BenchmarkPQSums scans 10 000 rows of 32-byte codes with the kernel and
// with its reference loop (ns/row); the int8 kernel's figure for the same
// rows is BenchmarkDots. In wazero:
//
//	GOOS=wasip1 GOARCH=wasm go test -exec "$(go env GOROOT)/lib/wasm/go_wasip1_wasm_exec" -run '^$' -bench 'PQ|Dots' ./core/quant
func BenchmarkPQSums(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	const rows = 10_000
	for _, m := range []int{32, 16} {
		p := randPQ(rng, 64, m)
		var tab PQTable
		p.Table(&tab, randVec(rng, 64))
		codes := alignedBytes(rows*m, 0)
		for i := range codes {
			codes[i] = byte(rng.IntN(256))
		}
		dst := make([]uint32, rows)
		b.Run("kernel/m="+strconv.Itoa(m), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tab.Sums(dst, codes)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/rows, "ns/row")
		})
		b.Run("reference/m="+strconv.Itoa(m), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				pqSumsRef(dst, tab.T, m, codes)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/rows, "ns/row")
		})
	}
}

// BenchmarkPQTable builds a query's table (32 subspaces of 2 dimensions,
// prepared): a fixed cost per query.
func BenchmarkPQTable(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	p := randPQ(rng, 64, 32)
	p.Prepare()
	q := randVec(rng, 64)
	var tab PQTable
	b.ReportAllocs()
	for b.Loop() {
		p.Table(&tab, q)
	}
}
