package nn

import (
	"fmt"
	"math"
	"testing"

	"github.com/edgerec/edgerec/core/vec"
)

// denseRef is Dense.Forward's reference loop.
func denseRef(d *Dense, x []float32) []float32 {
	y := make([]float32, d.Out)
	for o := range y {
		s := d.B[o]
		for i := range x {
			s += d.W[o*d.In+i] * x[i]
		}
		if d.Act == ReLU && s < 0 {
			s = 0
		}
		y[o] = s
	}
	return y
}

func TestDenseMatchesReference(t *testing.T) {
	for _, act := range []Activation{Linear, ReLU} {
		d := Dense{In: 7, Out: 5, W: make([]float32, 35), B: make([]float32, 5), Act: act}
		for i := range d.W {
			d.W[i] = float32(math.Sin(float64(i)))
		}
		for i := range d.B {
			d.B[i] = float32(i) - 2
		}
		x := []float32{1, -2, 0.5, 3, -1, 0, 2}
		// Guard values around dst catch writes out of bounds.
		buf := []float32{42, 0, 0, 0, 0, 0, 42}
		d.Forward(buf[1:6], x)
		want := denseRef(&d, x)
		for o := range want {
			if math.Abs(float64(buf[1+o]-want[o])) > 1e-5 {
				t.Errorf("%v output %d: %v, want %v", act, o, buf[1+o], want[o])
			}
		}
		if buf[0] != 42 || buf[6] != 42 {
			t.Error("Forward wrote outside dst")
		}
	}
}

func TestMLPValidate(t *testing.T) {
	good := MLP{Layers: []Dense{
		{In: 3, Out: 2, W: make([]float32, 6), B: make([]float32, 2), Act: ReLU},
		{In: 2, Out: 1, W: make([]float32, 2), B: make([]float32, 1)},
	}}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := good
	bad.Layers = []Dense{good.Layers[0], {In: 3, Out: 1, W: make([]float32, 3), B: make([]float32, 1)}}
	if bad.Validate() == nil {
		t.Error("mismatched layer widths accepted")
	}
	short := MLP{Layers: []Dense{{In: 3, Out: 2, W: make([]float32, 5), B: make([]float32, 2)}}}
	if short.Validate() == nil {
		t.Error("short weights accepted")
	}
	if (&MLP{}).Validate() == nil {
		t.Error("empty MLP accepted")
	}
}

func TestDenseShapePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Forward with a wrong-sized input did not panic")
		}
	}()
	d := Dense{In: 2, Out: 1, W: make([]float32, 2), B: make([]float32, 1)}
	d.Forward(make([]float32, 1), make([]float32, 3))
}

// BenchmarkDense times Forward beside the naive loop (one vec.Dot call
// per output, the previous Forward) on a ranker layer and a tower layer. In
// wazero:
//
//	GOOS=wasip1 GOARCH=wasm go test -exec "$(go env GOROOT)/lib/wasm/go_wasip1_wasm_exec" -run '^$' -bench Dense ./core/nn
func BenchmarkDense(b *testing.B) {
	for _, shape := range [][2]int{{26, 8}, {64, 128}} {
		in, out := shape[0], shape[1]
		d := Dense{In: in, Out: out, W: make([]float32, in*out), B: make([]float32, out), Act: ReLU}
		for i := range d.W {
			d.W[i] = float32(math.Sin(float64(i)))
		}
		x := make([]float32, in)
		for i := range x {
			x[i] = float32(math.Cos(float64(i)))
		}
		dst := make([]float32, out)
		name := fmt.Sprintf("%dx%d", in, out)
		b.Run("naive/"+name, func(b *testing.B) {
			for b.Loop() {
				for o := range dst {
					s := d.B[o] + vec.Dot(d.W[o*in:(o+1)*in], x)
					if s < 0 {
						s = 0
					}
					dst[o] = s
				}
			}
		})
		b.Run("forward/"+name, func(b *testing.B) {
			for b.Loop() {
				d.Forward(dst, x)
			}
		})
	}
}

// TestCrossMatchesReference holds Cross.Forward to its reference loop.
func TestCrossMatchesReference(t *testing.T) {
	const dim = 7
	c := Cross{Dim: dim, W: make([]float32, dim*dim), B: make([]float32, dim)}
	for i := range c.W {
		c.W[i] = float32(math.Sin(float64(3 * i)))
	}
	for i := range c.B {
		c.B[i] = float32(i)/4 - 1
	}
	x0 := []float32{1, -2, 0.5, 3, -1, 0, 2}
	x := []float32{0.3, 1, -1, 2, 0.5, -0.25, 1.5}
	dst, lin := make([]float32, dim), make([]float32, dim)
	c.Forward(dst, lin, x0, x)
	for o := range dst {
		l := c.B[o]
		for i := range x {
			l += c.W[o*dim+i] * x[i]
		}
		if want := x0[o]*l + x[o]; math.Abs(float64(dst[o]-want)) > 1e-5 || math.Abs(float64(lin[o]-l)) > 1e-5 {
			t.Errorf("output %d: %v (lin %v), want %v (lin %v)", o, dst[o], lin[o], want, l)
		}
	}
}
