package quant

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestHalfRoundTrip checks every binary16 value: FromHalf then ToHalf is
// the identity for finite values (and FromHalf agrees with a float64
// computation of the value).
func TestHalfRoundTrip(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		exp, frac := h>>10&0x1f, h&0x3ff
		if exp == 0x1f {
			continue
		}
		var want float64
		if exp == 0 {
			want = float64(frac) * math.Pow(2, -24)
		} else {
			want = (1 + float64(frac)/1024) * math.Pow(2, float64(exp-15))
		}
		if h&0x8000 != 0 {
			want = -want
		}
		f := FromHalf(uint16(h))
		if float64(f) != want {
			t.Fatalf("FromHalf(%#04x) = %v, want %v", h, f, want)
		}
		if back := ToHalf(f); back != uint16(h) && !(f == 0 && back&0x7fff == 0) {
			t.Fatalf("ToHalf(FromHalf(%#04x)) = %#04x", h, back)
		}
	}
}

// TestToHalfRounding: ToHalf rounds to the nearest binary16, ties to even,
// checked against the neighbours of random float32 values; beyond ±65504 it
// saturates, NaN gives 0.
func TestToHalfRounding(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for i := 0; i < 200000; i++ {
		x := float32(math.Ldexp(rng.Float64()*2-1, rng.IntN(44)-28))
		h := ToHalf(x)
		got := float64(FromHalf(h))
		// No other finite half may be strictly closer.
		for _, n := range []uint16{h + 1, h - 1, h ^ 0x8000} {
			if n&0x7c00 == 0x7c00 {
				continue
			}
			if alt := float64(FromHalf(n)); math.Abs(alt-float64(x)) < math.Abs(got-float64(x)) {
				t.Fatalf("ToHalf(%v) = %v, but %v is closer", x, got, alt)
			}
		}
	}
	for _, c := range []struct {
		x    float32
		want uint16
	}{{1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {1e9, 0x7bff}, {-1e9, 0xfbff},
		{float32(math.NaN()), 0}, {1 + 1.0/2048, 0x3c00}, {1 + 3.0/2048, 0x3c02}, {0x1p-25, 0}, {0x1p-24, 1}} {
		if got := ToHalf(c.x); got != c.want {
			t.Errorf("ToHalf(%v) = %#04x, want %#04x", c.x, got, c.want)
		}
	}
}

// float16Ref is Float16.Scores' reference loop.
func float16Ref(m *Float16, q []float32, i int) float32 {
	var s float32
	for j, h := range m.Row(i) {
		s += q[j] * FromHalf(h)
	}
	return s
}

func TestFloat16Scores(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	for _, dim := range []int{1, 5, 64, 300} {
		t.Run("dim="+strconv.Itoa(dim), func(t *testing.T) {
			const rows = 100
			m := NewFloat16(rows, dim)
			for i := 0; i < rows; i++ {
				x := randVec(rng, dim)
				if i == 0 {
					x[0] = 1e-6 // subnormal half
				}
				m.Set(i, x)
				dec := make([]float32, dim)
				m.Decode(dec, i)
				for j := range x {
					if d := math.Abs(float64(dec[j] - x[j])); d > math.Abs(float64(x[j]))/2048+0x1p-25 {
						t.Fatalf("row %d col %d: %v decodes to %v", i, j, x[j], dec[j])
					}
				}
			}
			if err := m.Validate(); err != nil {
				t.Fatal(err)
			}
			for _, big := range []bool{false, true} {
				q := randVec(rng, dim)
				if big {
					q[0] = 1e6 // takes the fallback
				}
				got := make([]float32, rows)
				m.Scores(got, q, 0)
				for i := range got {
					want := float16Ref(m, q, i)
					if d := math.Abs(float64(got[i] - want)); d > 1e-5*(1+math.Abs(float64(want)))*float64(dim) {
						t.Fatalf("big=%v row %d: Scores = %v, reference %v", big, i, got[i], want)
					}
				}
			}
			m.Bits[0] = 0x7c00
			if m.Validate() == nil {
				t.Error("infinity accepted")
			}
		})
	}
}

func BenchmarkFloat16(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	const rows = 10_000
	m := NewFloat16(rows, 64)
	for i := 0; i < rows; i++ {
		m.Set(i, randVec(rng, 64))
	}
	q := randVec(rng, 64)
	dst := make([]float32, rows)
	b.Run("kernel", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m.Scores(dst, q, 0)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/rows, "ns/row")
	})
	b.Run("reference", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for i := range dst {
				dst[i] = float16Ref(m, q, i)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/rows, "ns/row")
	})
}
