package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/blas"
)

// naiveMul is the reference loop of mulNT, mulNN and mulTN: c = alpha·op(a)·op(b) + beta·c
// with op transposing when asked.
func naiveMul(c, a, b []float32, m, n, k int, alpha, beta float32, ta, tb bool) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				av, bv := a[i*k+p], b[p*n+j]
				if ta {
					av = a[p*m+i]
				}
				if tb {
					bv = b[j*k+p]
				}
				s += float64(av) * float64(bv)
			}
			c[i*n+j] = alpha*float32(s) + beta*c[i*n+j]
		}
	}
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

func TestMulMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, sh := range [][3]int{{1, 1, 1}, {3, 5, 7}, {64, 65, 3}, {130, 70, 129}, {7, 1, 200}} {
		m, n, k := sh[0], sh[1], sh[2]
		for _, kind := range []string{"NT", "NN", "TN"} {
			a, b := randSlice(rng, m*k), randSlice(rng, n*k)
			c0 := randSlice(rng, m*n)
			want, got := append([]float32(nil), c0...), append([]float32(nil), c0...)
			naiveMul(want, a, b, m, n, k, 0.5, 0.25, kind == "TN", kind == "NT")
			switch kind {
			case "NT":
				mulNT(2, got, a, b, m, n, k, 0.5, 0.25)
			case "NN":
				mulNN(2, got, a, b, m, n, k, 0.5, 0.25)
			case "TN":
				mulTN(2, got, a, b, m, n, k, 0.5, 0.25)
			}
			for i := range want {
				if d := math.Abs(float64(want[i] - got[i])); d > 1e-4*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("%s %v: c[%d] = %v, want %v", kind, sh, i, got[i], want[i])
				}
			}
		}
	}
}

// TestTiledMatchesGonum holds the tiled kernel to gonum's GEMM, the path
// it replaced, on shapes with partial tiles in every dimension and with
// beta 0 (c not read: NaN there must not leak), 0.25 and 1. Guard values
// on both sides of c catch a write past its edge.
func TestTiledMatchesGonum(t *testing.T) {
	if !hasAVX {
		t.Skip("no AVX: the products run on gonum alone")
	}
	rng := rand.New(rand.NewPCG(3, 3))
	const guard = 37
	for _, sh := range [][3]int{{4, 16, 1}, {5, 17, 3}, {7, 31, 64}, {8, 33, 129}, {13, 64, 7}, {66, 70, 130}, {256, 134, 128}} {
		m, n, k := sh[0], sh[1], sh[2]
		for _, kind := range []string{"NT", "NN", "TN"} {
			for _, beta := range []float32{0, 0.25, 1} {
				t.Run(fmt.Sprintf("%s/%dx%dx%d/beta=%v", kind, m, n, k, beta), func(t *testing.T) {
					a, b := randSlice(rng, m*k), randSlice(rng, n*k)
					want := randSlice(rng, m*n)
					full := make([]float32, m*n+2*guard)
					for i := range full {
						full[i] = -7
					}
					got := full[guard : guard+m*n]
					copy(got, want)
					if beta == 0 {
						for i := range got {
							got[i] = float32(math.NaN())
						}
					}
					tA, tB, lda, ldb := blas.NoTrans, blas.NoTrans, k, n
					switch kind {
					case "NT":
						tB, ldb = blas.Trans, k
						mulNT(2, got, a, b, m, n, k, 0.5, beta)
					case "NN":
						mulNN(2, got, a, b, m, n, k, 0.5, beta)
					case "TN":
						tA, lda = blas.Trans, m
						mulTN(2, got, a, b, m, n, k, 0.5, beta)
					}
					gemm.Sgemm(tA, tB, m, n, k, 0.5, a, lda, b, ldb, beta, want, n)
					for i := range want {
						d := math.Abs(float64(want[i] - got[i]))
						require.LessOrEqualf(t, d, 1e-5*(1+math.Abs(float64(want[i]))), "c[%d] = %v, gonum %v", i, got[i], want[i])
					}
					for i := range guard {
						require.Equal(t, float32(-7), full[i], "guard before c")
						require.Equal(t, float32(-7), full[guard+m*n+i], "guard after c")
					}
				})
			}
		}
	}
}

// BenchmarkMul times the trainer's product shapes (default model, batch
// 256 + 256 negatives) beside the naive loop.
func BenchmarkMul(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, s := range []struct {
		name    string
		m, n, k int
		f       func(W int, c, a, b []float32, m, n, k int, alpha, beta float32)
		ta, tb  bool
	}{
		{"logits/NT", 256, 512, 64, mulNT, false, true},
		{"dU/NN", 256, 64, 512, mulNN, false, false},
		{"dV/TN", 512, 64, 256, mulTN, true, false},
		{"dense/NT", 512, 128, 70, mulNT, false, true},
		{"dW/TN", 128, 70, 512, mulTN, true, false},
		{"dX/NN", 512, 70, 128, mulNN, false, false},
	} {
		a, bb, c := randSlice(rng, s.m*s.k), randSlice(rng, s.n*s.k), randSlice(rng, s.m*s.n)
		flops := func(b *testing.B) {
			b.ReportMetric(float64(2*s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		}
		b.Run(fmt.Sprintf("%s/gemm", s.name), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s.f(runtime.GOMAXPROCS(0), c, a, bb, s.m, s.n, s.k, 1, 0)
			}
			flops(b)
		})
		b.Run(fmt.Sprintf("%s/naive", s.name), func(b *testing.B) {
			for b.Loop() {
				naiveMul(c, a, bb, s.m, s.n, s.k, 1, 0, s.ta, s.tb)
			}
			flops(b)
		})
	}
}
