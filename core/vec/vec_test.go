package vec

import (
	"math"
	"testing"
)

func TestDotMatchesReference(t *testing.T) {
	for n := 0; n < 20; n++ {
		x, y := make([]float32, n), make([]float32, n)
		var want float64
		for i := range x {
			x[i], y[i] = float32(i)-3, float32(2*i%7)-1
			want += float64(x[i]) * float64(y[i])
		}
		if got := Dot(x, y); math.Abs(float64(got)-want) > 1e-4 {
			t.Errorf("n=%d: Dot = %v, want %v", n, got, want)
		}
	}
}

func TestL2Normalize(t *testing.T) {
	x := []float32{3, 4}
	if n := L2Normalize(x); n != 5 || x[0] != 0.6 || x[1] != 0.8 {
		t.Errorf("norm %v, x %v", n, x)
	}
	z := []float32{0, 0}
	L2Normalize(z)
	if z[0] != 0 || math.IsNaN(float64(z[1])) {
		t.Errorf("zero vector became %v", z)
	}
}
