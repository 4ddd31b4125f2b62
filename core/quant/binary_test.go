package quant

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"strconv"
	"testing"
)

func randBinary(rng *rand.Rand, rows, dim int) *Binary {
	b := NewBinary(rows, dim)
	for i := 0; i < rows; i++ {
		b.Set(i, randVec(rng, dim), nil)
	}
	return b
}

// hammingRef is Hamming's reference loop, bit by bit.
func hammingRef(b *Binary, q []uint64, i int) int32 {
	var h int32
	for j := 0; j < b.Dim; j++ {
		if q[j/64]>>(j%64)&1 != b.Bits[i*b.Words+j/64]>>(j%64)&1 {
			h++
		}
	}
	return h
}

// estimateRef is Estimates' reference loop.
func estimateRef(b *Binary, x []float32, i int) float32 {
	var s float32
	for j := 0; j < b.Dim; j++ {
		s += x[j] * float32(int(b.Bits[i*b.Words+j/64]>>(j%64)&1)*2-1)
	}
	return s
}

func TestSignBits(t *testing.T) {
	x := []float32{1, -1, 0, 0.5, -0.0, 3}
	dst := make([]uint64, 1)
	SignBits(dst, x, nil)
	if dst[0] != 0b101001 {
		t.Errorf("no center: %b, want 101001", dst[0])
	}
	SignBits(dst, x, []float32{2, -2, -1, 1, 0, 3})
	if dst[0] != 0b000110 {
		t.Errorf("centered: %b, want 000110", dst[0])
	}
	b := NewBinary(1, 6)
	b.Set(0, x, nil)
	got := make([]float32, 6)
	b.Decode(got, 0)
	for j, want := range []float32{1, -1, -1, 1, -1, 1} {
		if got[j] != want {
			t.Errorf("Decode[%d] = %v, want %v", j, got[j], want)
		}
	}
	if err := b.Validate(); err != nil {
		t.Error(err)
	}
	b.Bits[0] |= 1 << 10
	if b.Validate() == nil {
		t.Error("bit past the dimension accepted")
	}
}

// TestBinaryKernels holds Hamming (exactly) and Estimates (within float
// rounding) to their reference loops.
func TestBinaryKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, dim := range []int{1, 7, 63, 64, 65, 128, 200} {
		t.Run("dim="+strconv.Itoa(dim), func(t *testing.T) {
			const rows = 200
			b := randBinary(rng, rows, dim)
			for trial := 0; trial < 10; trial++ {
				x := randVec(rng, dim)
				q := NewBinaryQuery(x)
				lo := rng.IntN(rows)
				n := rng.IntN(rows - lo + 1)
				h := make([]int32, n+1)
				h[n] = -7
				b.Hamming(h[:n], q.Sign(), lo)
				e := make([]float32, n+1)
				e[n] = -7
				b.Estimates(e[:n], q, lo)
				if h[n] != -7 || e[n] != -7 {
					t.Fatal("kernel wrote past dst")
				}
				for i := 0; i < n; i++ {
					if want := hammingRef(b, q.Sign(), lo+i); h[i] != want {
						t.Fatalf("row %d: Hamming = %d, reference %d", lo+i, h[i], want)
					}
					want := estimateRef(b, x, lo+i)
					if d := math.Abs(float64(e[i] - want)); d > 1e-4*float64(dim) {
						t.Fatalf("row %d: Estimates = %v, reference %v", lo+i, e[i], want)
					}
				}
			}
		})
	}
}

// TestHammingEstimatesAngle checks the SimHash property the first pass
// relies on, on random rotations: E[h/Dim] = θ/π.
func TestHammingEstimatesAngle(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	const dim, pairs = 64, 4000
	var errSum float64
	for p := 0; p < pairs; p++ {
		x, y := randVec(rng, dim), randVec(rng, dim)
		var dot, nx, ny float64
		for j := range x {
			dot += float64(x[j] * y[j])
			nx += float64(x[j] * x[j])
			ny += float64(y[j] * y[j])
		}
		theta := math.Acos(dot / math.Sqrt(nx*ny))
		bx, by := make([]uint64, 1), make([]uint64, 1)
		SignBits(bx, x, nil)
		SignBits(by, y, nil)
		errSum += float64(bits.OnesCount64(bx[0]^by[0]))/dim - theta/math.Pi
	}
	if mean := errSum / pairs; math.Abs(mean) > 0.01 {
		t.Errorf("mean of h/D − θ/π = %.4f, want ≈ 0", mean)
	}
}

func BenchmarkBinary(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	const rows = 10_000
	m := randBinary(rng, rows, 64)
	x := randVec(rng, 64)
	q := NewBinaryQuery(x)
	h := make([]int32, rows)
	e := make([]float32, rows)
	b.Run("hamming/kernel", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m.Hamming(h, q.Sign(), 0)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/rows, "ns/row")
	})
	b.Run("hamming/reference", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for i := range h {
				h[i] = hammingRef(m, q.Sign(), i)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/rows, "ns/row")
	})
	b.Run("estimates/kernel", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m.Estimates(e, q, 0)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/rows, "ns/row")
	})
	b.Run("estimates/reference", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for i := range e {
				e[i] = estimateRef(m, x, i)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/rows, "ns/row")
	})
}
