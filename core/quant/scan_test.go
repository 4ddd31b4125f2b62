package quant

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// randInt8 returns rows×dim random codes in [−128, 127] (−128 never comes
// from Encode, but a bundle's bytes may hold it) with some rows at the
// extremes, and random scales.
func randInt8(rng *rand.Rand, rows, dim int) *Int8 {
	m := NewInt8(rows, dim)
	for i := range m.Codes {
		m.Codes[i] = int8(rng.IntN(256) - 128)
	}
	for i := range m.Scales {
		m.Scales[i] = rng.Float32() / 100
	}
	if rows > 2 {
		for j := 0; j < dim; j++ {
			m.Codes[j], m.Codes[dim+j] = 127, -128
		}
	}
	return m
}

// dotsRef is Dots' reference loop.
func dotsRef(dst []int32, m *Int8, q *Query, lo int) {
	for i := range dst {
		var s int32
		for j := range q.Codes {
			s += int32(q.Codes[j]) * int32(m.Codes[(lo+i)*m.Dim+j])
		}
		dst[i] = s
	}
}

// TestDots holds the word kernel to its reference loop exactly, for every
// code path (unrolled 64, word loop, scalar fallback, unaligned codes), with
// guard values around the output.
func TestDots(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, dim := range []int{1, 3, 8, 16, 24, 56, 64, 72, 128, 256} {
		for _, aligned := range []bool{true, false} {
			t.Run("dim="+strconv.Itoa(dim)+"/aligned="+strconv.FormatBool(aligned), func(t *testing.T) {
				const rows = 300
				m := randInt8(rng, rows, dim)
				if !aligned {
					// Shift the codes by one byte: the kernel must fall back.
					buf := make([]int8, rows*dim+1)
					copy(buf[1:], m.Codes)
					m.Codes = buf[1:]
				}
				if aligned && dim%8 == 0 && m.words() == nil {
					t.Fatal("aligned codes do not take the word kernel")
				}
				if !aligned && m.words() != nil {
					t.Fatal("unaligned codes take the word kernel")
				}
				for trial := 0; trial < 20; trial++ {
					x := randVec(rng, dim)
					if trial == 0 {
						for j := range x {
							x[j] = float32(1 - 2*(j%2)) // codes ±127
						}
					}
					q := NewQuery(x)
					lo := rng.IntN(rows)
					n := rng.IntN(rows - lo + 1)
					got := make([]int32, n+2)
					got[0], got[n+1] = 12345, -12345
					m.Dots(got[1:n+1], q, lo)
					want := make([]int32, n)
					dotsRef(want, m, q, lo)
					if got[0] != 12345 || got[n+1] != -12345 {
						t.Fatalf("Dots wrote outside dst")
					}
					for i := range want {
						if got[i+1] != want[i] {
							t.Fatalf("rows %d+%d: Dots = %d, reference %d", lo, i, got[i+1], want[i])
						}
					}
					scores := make([]float32, n)
					m.Scores(scores, q, lo)
					for i := range scores {
						ref := q.Scale * m.Scales[lo+i] * float32(DotInt8(q.Codes, m.Row(lo+i)))
						if scores[i] != ref {
							t.Fatalf("row %d: Scores = %v, reference %v", lo+i, scores[i], ref)
						}
					}
				}
			})
		}
	}
}

// TestDotsEveryTail holds the dimension-64 kernels, which take four rows
// a pass and the rest one at a time, to the reference for every start in
// 0…5 and every length in 0…13.
func TestDotsEveryTail(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	const rows = 20
	m := randInt8(rng, rows, 64)
	q := NewQuery(randVec(rng, 64))
	for lo := 0; lo <= 5; lo++ {
		for n := 0; n <= 13 && lo+n <= rows; n++ {
			got := make([]int32, n)
			m.Dots(got, q, lo)
			want := make([]int32, n)
			dotsRef(want, m, q, lo)
			scores := make([]float32, n)
			m.Scores(scores, q, lo)
			for i := range want {
				ref := q.Scale * m.Scales[lo+i] * float32(want[i])
				if got[i] != want[i] || scores[i] != ref {
					t.Fatalf("rows %d+%d of %d: Dots %d, Scores %v; reference %d, %v", lo, i, n, got[i], scores[i], want[i], ref)
				}
			}
		}
	}
}

func TestDotsPanics(t *testing.T) {
	m := NewInt8(4, 8)
	for name, f := range map[string]func(){
		"dimension": func() { m.Dots(make([]int32, 1), NewQuery(make([]float32, 7)), 0) },
		"range":     func() { m.Dots(make([]int32, 2), NewQuery(make([]float32, 8)), 3) },
		"negative":  func() { m.Dots(make([]int32, 1), NewQuery(make([]float32, 8)), -1) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// BenchmarkDots scans 10 000 rows: the word kernel (Dots, and Scores with
// its scaling) beside the one-row-a-pass kernel it replaced, the
// reference loop and DotInt8 per row. Run it in wazero with
//
//	GOOS=wasip1 GOARCH=wasm go test -exec "$(go env GOROOT)/lib/wasm/go_wasip1_wasm_exec" -bench Dots ./core/quant
//
// (GOWASIRUNTIME=wazero and a wazero binary on PATH).
func BenchmarkDots(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, dim := range []int{64, 128} {
		const rows = 10_000
		m := randInt8(rng, rows, dim)
		q := NewQuery(randVec(rng, dim))
		dst := make([]int32, rows)
		b.Run("kernel/dim="+strconv.Itoa(dim), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m.Dots(dst, q, 0)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/rows, "ns/row")
		})
		if dim == 64 {
			b.Run("one-row/dim=64", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					dots64Rows(dst, (*[32]uint64)(q.packed), int32(q.bias), m.words())
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/rows, "ns/row")
			})
			scores := make([]float32, rows)
			b.Run("scores/dim=64", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					m.Scores(scores, q, 0)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/rows, "ns/row")
			})
		}
		b.Run("DotInt8/dim="+strconv.Itoa(dim), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for i := range dst {
					dst[i] = DotInt8(q.Codes, m.Row(i))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/rows, "ns/row")
		})
		b.Run("reference/dim="+strconv.Itoa(dim), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				dotsRef(dst, m, q, 0)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/rows, "ns/row")
		})
	}
}

// TestRowQueryMatchesDecoded: a stored row as a query scores like the
// query of its decoded floats (same codes; the scale may differ in its
// last bit).
func TestRowQueryMatchesDecoded(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	m := NewInt8(50, 64)
	x := make([]float32, 64)
	for i := range m.Rows {
		for j := range x {
			x[j] = float32(rng.NormFloat64())
		}
		m.Set(i, x)
	}
	got, want := make([]float32, m.Rows), make([]float32, m.Rows)
	for i := range m.Rows {
		m.Decode(x, i)
		m.Scores(got, m.RowQuery(i), 0)
		m.Scores(want, NewQuery(x), 0)
		for j := range got {
			if d := math.Abs(float64(got[j] - want[j])); d > 1e-6*math.Abs(float64(want[j]))+1e-7 {
				t.Fatalf("row %d against %d: %v, want %v", i, j, got[j], want[j])
			}
		}
	}
}

// TestQueryReset: a reused Query scores as a new one, for every shape.
func TestQueryReset(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	var q Query
	for _, dim := range []int{64, 8, 12, 128, 64} {
		m := randInt8(rng, 20, dim)
		x := randVec(rng, dim)
		q.Reset(x)
		want := NewQuery(x)
		got, exp := make([]int32, m.Rows), make([]int32, m.Rows)
		m.Dots(got, &q, 0)
		m.Dots(exp, want, 0)
		if !slices.Equal(got, exp) || q.Scale != want.Scale {
			t.Fatalf("dim %d: %v, want %v", dim, got, exp)
		}
	}
}
