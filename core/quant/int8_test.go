package quant

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

func randVec(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// TestEncodeErrorBound: every decoded value is within scale/2 of the input.
func TestEncodeErrorBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, dim := range []int{1, 3, 64, 257} {
		m := NewInt8(20, dim)
		for i := 0; i < m.Rows; i++ {
			x := randVec(rng, dim)
			m.Set(i, x)
			got := make([]float32, dim)
			m.Decode(got, i)
			for j := range x {
				if d := math.Abs(float64(got[j] - x[j])); d > float64(m.Scales[i])/2+1e-6 {
					t.Fatalf("dim %d row %d col %d: |%v − %v| = %v > scale/2 = %v", dim, i, j, got[j], x[j], d, m.Scales[i]/2)
				}
			}
		}
	}
}

func TestEncodeEdgeCases(t *testing.T) {
	dst := make([]int8, 3)
	if s := Encode(dst, []float32{0, 0, 0}); s != 0 || dst[0] != 0 {
		t.Errorf("zero vector: scale %v codes %v", s, dst)
	}
	if s := Encode(dst, []float32{1, float32(math.NaN()), 2}); s != 0 {
		t.Errorf("NaN input: scale %v, want 0 (refused)", s)
	}
	if s := Encode(dst, []float32{-2, 1, 2}); dst[0] != -127 || dst[2] != 127 || s != 2.0/127 {
		t.Errorf("extremes: scale %v codes %v", s, dst)
	}
}

// dotRef is DotInt8's reference loop.
func dotRef(a, b []int8) int32 {
	var s int32
	for i := range a {
		s += int32(a[i]) * int32(b[i])
	}
	return s
}

func TestDotInt8MatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := 0; n < 70; n++ {
		a, b := make([]int8, n), make([]int8, n)
		for i := range a {
			a[i], b[i] = int8(rng.IntN(255)-127), int8(rng.IntN(255)-127)
		}
		if got, want := DotInt8(a, b), dotRef(a, b); got != want {
			t.Fatalf("n=%d: DotInt8 = %d, reference %d", n, got, want)
		}
	}
}

func TestValidate(t *testing.T) {
	m := NewInt8(2, 4)
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	m.Scales[1] = float32(math.Inf(1))
	if m.Validate() == nil {
		t.Error("infinite scale accepted")
	}
	m.Scales[1] = -1
	if m.Validate() == nil {
		t.Error("negative scale accepted")
	}
	m = &Int8{Rows: 2, Dim: 4, Codes: make([]int8, 7), Scales: make([]float32, 2)}
	if m.Validate() == nil {
		t.Error("short codes accepted")
	}
}

func BenchmarkDotInt8(b *testing.B) {
	for _, n := range []int{64, 256} {
		x, y := make([]int8, n), make([]int8, n)
		for i := range x {
			x[i], y[i] = int8(i), int8(-i)
		}
		b.Run("unrolled/dim="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			var s int32
			for b.Loop() {
				s += DotInt8(x, y)
			}
			_ = s
		})
		b.Run("reference/dim="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			var s int32
			for b.Loop() {
				s += dotRef(x, y)
			}
			_ = s
		})
	}
}
