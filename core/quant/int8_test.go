package quant

import (
	"math"
	"math/rand/v2"
	"slices"
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

// encodeRef is Encode as first written, with max, min and math.Round.
func encodeRef(dst []int8, x []float32) float32 {
	var m float32
	for _, v := range x {
		m = max(m, float32(math.Abs(float64(v))))
	}
	if m == 0 || math.IsNaN(float64(m)) || math.IsInf(float64(m), 0) {
		clear(dst)
		return 0
	}
	scale := m / 127
	inv := 1 / scale
	for i, v := range x {
		c := math.Round(float64(v * inv))
		dst[i] = int8(max(-127, min(127, c)))
	}
	return scale
}

// TestEncodeMatchesReference holds Encode to encodeRef bit for bit: random
// vectors at many magnitudes, values at exact halves of the scale, ±0,
// NaN, ±Inf and subnormals.
func TestEncodeMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)),
		math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32, math.MaxFloat32, -math.MaxFloat32}
	for trial := range 20000 {
		n := 1 + rng.IntN(70)
		x := make([]float32, n)
		mag := math.Pow(10, float64(rng.IntN(60)-30))
		for i := range x {
			switch rng.IntN(10) {
			case 0:
				x[i] = special[rng.IntN(len(special))]
			case 1: // an exact half step of a 127-step scale
				x[i] = float32(float64(rng.IntN(255)-127)+0.5) / 127 * float32(mag)
			default:
				x[i] = float32(rng.NormFloat64() * mag)
			}
		}
		if trial%3 == 0 { // keep most vectors finite
			for i := range x {
				if v := float64(x[i]); math.IsNaN(v) || math.IsInf(v, 0) {
					x[i] = 1
				}
			}
		}
		got, want := make([]int8, n), make([]int8, n)
		gs, ws := Encode(got, x), encodeRef(want, x)
		if ws == 0 {
			// The reference's zero scale: a zero or non-finite vector (zero
			// codes from both), or one too small for a scale, whose codes
			// the reference left at ±127 and Encode zeroes.
			clear(want)
		}
		if math.Float32bits(gs) != math.Float32bits(ws) || !slices.Equal(got, want) {
			t.Fatalf("trial %d: Encode(%v) = %v, %v; reference %v, %v", trial, x, gs, got, ws, want)
		}
	}
}

// BenchmarkEncode quantizes a 64-dim query, against the reference form.
// In wazero:
//
//	GOOS=wasip1 GOARCH=wasm go test -exec "$(go env GOROOT)/lib/wasm/go_wasip1_wasm_exec" -run '^$' -bench Encode ./core/quant
func BenchmarkEncode(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	x := randVec(rng, 64)
	dst := make([]int8, 64)
	b.Run("Encode", func(b *testing.B) {
		for b.Loop() {
			Encode(dst, x)
		}
	})
	b.Run("reference", func(b *testing.B) {
		for b.Loop() {
			encodeRef(dst, x)
		}
	})
}
