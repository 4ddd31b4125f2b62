package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestAffine4MatchesAffine holds the four-row kernel to affine, bit for
// bit, on every block remainder of the input width.
func TestAffine4MatchesAffine(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 1; n <= 41; n++ {
		for _, out := range []int{1, 3, 8, 16, 32} {
			w, b, x := randSlice(rng, n*out), randSlice(rng, out), randSlice(rng, 4*n)
			got := make([]float32, 4*out)
			affine4(got, w, b, x, n)
			for r := range 4 {
				want := make([]float32, out)
				affine(want, w, b, x[r*n:(r+1)*n])
				for o := range want {
					if math.Float32bits(got[r*out+o]) != math.Float32bits(want[o]) {
						t.Fatalf("n=%d out=%d row %d output %d: %v, affine %v", n, out, r, o, got[r*out+o], want[o])
					}
				}
			}
		}
	}
}

// TestForwardRowsMatchesForward holds the row passes of a cross stack and
// an MLP to their one-row passes, bit for bit, for row counts around the
// kernel's block of four, with both kernels.
func TestForwardRowsMatchesForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const in = 26
	cross := Stack{{Dim: in, W: randSlice(rng, in*in), B: randSlice(rng, in)}, {Dim: in, W: randSlice(rng, in*in), B: randSlice(rng, in)}}
	mlp := MLP{Layers: []Dense{
		{In: in, Out: 32, W: randSlice(rng, in*32), B: randSlice(rng, 32), Act: ReLU},
		{In: 32, Out: 16, W: randSlice(rng, 32*16), B: randSlice(rng, 16), Act: ReLU},
		{In: 16, Out: 1, W: randSlice(rng, 16), B: randSlice(rng, 1)},
	}}
	defer func(v bool) { rowBlocks = v }(rowBlocks)
	for _, blocks := range []bool{false, true} {
		rowBlocks = blocks
		for _, rows := range []int{1, 3, 4, 5, 8, 11} {
			x := randSlice(rng, rows*in)
			outs, lins := rowBuffers(len(cross), rows*in)
			acts := rowBuffers1(mlp, rows)
			got := mlp.ForwardRows(acts, cross.ForwardRows(outs, lins, x, rows), rows)
			o1, l1 := cross.NewBuffers(in)
			a1 := mlp.NewActs()
			for r := range rows {
				want := mlp.Forward(a1, cross.Forward(o1, l1, x[r*in:(r+1)*in]))[0]
				if math.Float32bits(got[r]) != math.Float32bits(want) {
					t.Fatalf("four-row kernel %v, rows=%d row %d: %v, one row at a time %v", blocks, rows, r, got[r], want)
				}
			}
		}
	}
}

func rowBuffers(layers, size int) (outs, lins [][]float32) {
	for range layers {
		outs, lins = append(outs, make([]float32, size)), append(lins, make([]float32, size))
	}
	return outs, lins
}

func rowBuffers1(m MLP, rows int) [][]float32 {
	acts := make([][]float32, len(m.Layers))
	for l := range m.Layers {
		acts[l] = make([]float32, rows*m.Layers[l].Out)
	}
	return acts
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

// BenchmarkDenseRows times the trained ranker's layers (26→26 cross,
// 26→32, 32→16, 16→1) over 64 rows: one row at a time with affine, and
// four at a time with affine4. In wazero:
//
//	GOWASIRUNTIME=wazero GOOS=wasip1 GOARCH=wasm go test -exec "$(go env GOROOT)/lib/wasm/go_wasip1_wasm_exec" -run '^$' -bench DenseRows ./core/nn
func BenchmarkDenseRows(b *testing.B) {
	const rows = 64
	rng := rand.New(rand.NewPCG(5, 6))
	for _, s := range [][2]int{{26, 26}, {26, 32}, {32, 16}, {16, 1}} {
		n, out := s[0], s[1]
		w, bias, x := randSlice(rng, n*out), randSlice(rng, out), randSlice(rng, rows*n)
		dst := make([]float32, rows*out)
		name := fmt.Sprintf("%dx%d", n, out)
		b.Run("one-row/"+name, func(b *testing.B) {
			for b.Loop() {
				for r := range rows {
					affine(dst[r*out:(r+1)*out], w, bias, x[r*n:(r+1)*n])
				}
			}
		})
		b.Run("four-rows/"+name, func(b *testing.B) {
			for b.Loop() {
				for r := 0; r < rows; r += 4 {
					affine4(dst[r*out:(r+4)*out], w, bias, x[r*n:(r+4)*n], n)
				}
			}
		})
	}
}
