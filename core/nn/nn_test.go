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

// affineDot4 is the kernel affine replaced: a dot product per output with
// four accumulators over four-element sub-slices. BenchmarkDense keeps it
// as the baseline.
func affineDot4(dst, w, b, x []float32) {
	n := len(x)
	for o := range dst {
		wo := w[o*n : o*n+n]
		var s0, s1, s2, s3 float32
		i := 0
		for ; i+4 <= n; i += 4 {
			xx := x[i : i+4 : i+4]
			ww := wo[i : i+4 : i+4]
			s0 += ww[0] * xx[0]
			s1 += ww[1] * xx[1]
			s2 += ww[2] * xx[2]
			s3 += ww[3] * xx[3]
		}
		for ; i < n; i++ {
			s0 += wo[i] * x[i]
		}
		dst[o] = b[o] + ((s0 + s1) + (s2 + s3))
	}
}

// TestAffineMatchesReference holds affine (every block size and tail) and
// the baseline to the reference loop.
func TestAffineMatchesReference(t *testing.T) {
	for n := 1; n <= 150; n++ {
		for _, out := range []int{1, 3, 16} {
			w, b, x := make([]float32, n*out), make([]float32, out), make([]float32, n)
			for i := range w {
				w[i] = float32(math.Sin(float64(7*i + n)))
			}
			for i := range b {
				b[i] = float32(i) - 1
			}
			for i := range x {
				x[i] = float32(math.Cos(float64(3*i + out)))
			}
			// Weights and biases longer than needed, and guard values
			// around the output, which affine must leave alone.
			w, b = append(w, 99, 99), append(b, 99)
			buf := make([]float32, out+2)
			buf[0], buf[out+1] = -7, -7
			got, base := buf[1:out+1], make([]float32, out)
			affine(got, w, b, x)
			affineDot4(base, w, b, x)
			if buf[0] != -7 || buf[out+1] != -7 {
				t.Fatalf("n=%d out=%d: affine wrote outside dst", n, out)
			}
			for o := range got {
				want := float64(b[o])
				for i := range x {
					want += float64(w[o*n+i]) * float64(x[i])
				}
				if math.Abs(float64(got[o])-want) > 1e-4 || math.Abs(float64(base[o])-want) > 1e-4 {
					t.Fatalf("n=%d out=%d o=%d: affine %v, baseline %v, reference %v", n, out, o, got[o], base[o], want)
				}
			}
		}
	}
}

// BenchmarkDense times affine beside the naive loop (one vec.Dot call per
// output) and the previous kernel (affineDot4), on the trained ranker's
// layers (one forward pass: 26→26 cross, 26→32, 32→16, 16→1) and a tower
// layer. In wazero:
//
//	GOOS=wasip1 GOARCH=wasm go test -exec "$(go env GOROOT)/lib/wasm/go_wasip1_wasm_exec" -run '^$' -bench Dense ./core/nn
func BenchmarkDense(b *testing.B) {
	for _, shapes := range [][][2]int{{{26, 26}, {26, 32}, {32, 16}, {16, 1}}, {{64, 128}}} {
		type layer struct{ w, b, x, dst []float32 }
		var ls []layer
		name := ""
		for _, s := range shapes {
			in, out := s[0], s[1]
			l := layer{make([]float32, in*out), make([]float32, out), make([]float32, in), make([]float32, out)}
			for i := range l.w {
				l.w[i] = float32(math.Sin(float64(i)))
			}
			for i := range l.x {
				l.x[i] = float32(math.Cos(float64(i)))
			}
			ls = append(ls, l)
			name += fmt.Sprintf("%dx%d,", in, out)
		}
		name = name[:len(name)-1]
		b.Run("naive/"+name, func(b *testing.B) {
			for b.Loop() {
				for _, l := range ls {
					for o := range l.dst {
						l.dst[o] = l.b[o] + vec.Dot(l.w[o*len(l.x):(o+1)*len(l.x)], l.x)
					}
				}
			}
		})
		b.Run("dot4/"+name, func(b *testing.B) {
			for b.Loop() {
				for _, l := range ls {
					affineDot4(l.dst, l.w, l.b, l.x)
				}
			}
		})
		b.Run("affine/"+name, func(b *testing.B) {
			for b.Loop() {
				for _, l := range ls {
					affine(l.dst, l.w, l.b, l.x)
				}
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
