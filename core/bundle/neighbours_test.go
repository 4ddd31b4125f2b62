package bundle

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgerec/edgerec/core/wire"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testCovisit and testSlim are testBundle's lists over its five items.
func testCovisit() *Neighbours {
	return &Neighbours{Offsets: []uint32{0, 2, 3, 3, 4, 4}, Items: []int32{1, 3, 0, 4}, Weights: []float32{0.5, 0.25, 0.5, 1}}
}

func testSlim() *Neighbours {
	return &Neighbours{Offsets: []uint32{0, 1, 3, 3, 3, 4}, Items: []int32{3, 0, 4, 1}, Weights: []float32{0.75, 0.5, 0.125, 0.25}}
}

func mustPack(l *Neighbours, n int) PackedNeighbours {
	p, err := Pack(l, n)
	if err != nil {
		panic(err)
	}
	return p
}

// randomLists returns up to 12 random neighbours per item of n with
// weights spread over seven orders of magnitude, best first.
func randomLists(n int, seed uint64) *Neighbours {
	rng := rand.New(rand.NewPCG(seed, 1))
	l := &Neighbours{Offsets: []uint32{0}}
	for range n {
		w := float32(math.Pow(10, 3*rng.Float64()))
		for range rng.IntN(13) {
			l.Items = append(l.Items, int32(rng.IntN(n)))
			l.Weights = append(l.Weights, w)
			w *= float32(0.5 + 0.5*rng.Float64())
		}
		l.Offsets = append(l.Offsets, uint32(len(l.Items)))
	}
	return l
}

// TestPackRoundTrip: packed lists give back every row exactly and every
// weight within binary16's rounding (2⁻¹¹ relative, for weights within
// 2¹⁴ of the largest), in the fewest bytes a row of the catalog needs,
// and keep the order of every list's weights.
func TestPackRoundTrip(t *testing.T) {
	for _, n := range []int{1, 500, 1 << 16, 1<<16 + 1} {
		l := randomLists(n, uint64(n))
		p := mustPack(l, n)
		require.NoError(t, p.validate(n, "test"))
		want := 2
		if n > 1<<16 {
			want = 3
		}
		assert.Equal(t, want, p.width, "n=%d", n)
		assert.Equal(t, len(l.Items)*want, len(p.rows))
		got := p.Unpack()
		assert.Equal(t, l.Offsets, got.Offsets)
		assert.Equal(t, l.Items, got.Items)
		for e, w := range l.Weights {
			assert.InEpsilon(t, w, got.Weights[e], 1.0/2048, "entry %d", e)
		}
		for i := range n {
			for k := 1; k < p.Len(i); k++ {
				_, prev := p.At(i, k-1)
				_, w := p.At(i, k)
				assert.LessOrEqual(t, w, prev, "item %d's list out of order at %d", i, k)
			}
		}
	}
	assert.Equal(t, 4, rowWidth(1<<24+1))
	assert.Equal(t, 3, rowWidth(1<<24))
}

// TestPackScale: the scale keeps weights of any magnitude finite and
// within binary16's precision; weights below 2⁻²⁸ of a table's largest
// lose precision (subnormal halves) but never more than 2⁻³⁹ of it;
// all-zero weights pack.
func TestPackScale(t *testing.T) {
	for _, w := range []float32{1e-30, 3e-5, 1, 7e4, 1e30} {
		p := mustPack(&Neighbours{Offsets: []uint32{0, 1, 1}, Items: []int32{1}, Weights: []float32{w}}, 2)
		require.NoError(t, p.validate(2, "test"))
		_, got := p.At(0, 0)
		assert.InEpsilon(t, w, got, 1.0/2048, "weight %v", w)
	}
	// Weights near float32's largest would sum to infinity over a history.
	p := mustPack(&Neighbours{Offsets: []uint32{0, 1, 1}, Items: []int32{1}, Weights: []float32{3e38}}, 2)
	assert.ErrorContains(t, p.validate(2, "test"), "scale")
	p = mustPack(&Neighbours{Offsets: []uint32{0, 1, 1}, Items: []int32{1}, Weights: []float32{0}}, 2)
	_, got := p.At(0, 0)
	assert.Zero(t, got)
	p = mustPack(&Neighbours{Offsets: []uint32{0, 3, 3}, Items: []int32{1, 0, 1}, Weights: []float32{1, 3e-9, 1e-13}}, 2)
	for k, w := range []float32{1, 3e-9, 1e-13} {
		_, got := p.At(0, k)
		assert.InDelta(t, w, got, 1.0/(1<<39), "weight %v", w)
	}
}

// TestPackRefuses: Pack refuses lists that do not fit the catalog, rows
// out of range (which a narrower row would otherwise wrap into range) and
// weights that are not finite.
func TestPackRefuses(t *testing.T) {
	for name, mod := range map[string]func(l *Neighbours){
		"row past the catalog":  func(l *Neighbours) { l.Items[0] = 5 },
		"negative row":          func(l *Neighbours) { l.Items[1] = -1 },
		"offsets short":         func(l *Neighbours) { l.Offsets = l.Offsets[:5] },
		"offsets decrease":      func(l *Neighbours) { l.Offsets[1] = 4 },
		"NaN weight":            func(l *Neighbours) { l.Weights[0] = float32(math.NaN()) },
		"infinite weight":       func(l *Neighbours) { l.Weights[2] = float32(math.Inf(1)) },
		"weights short":         func(l *Neighbours) { l.Weights = l.Weights[:3] },
		"offsets past the rows": func(l *Neighbours) { l.Offsets[5] = 5 },
	} {
		l := testSlim()
		mod(l)
		_, err := Pack(l, 5)
		assert.Error(t, err, name)
	}
	p, err := Pack(&Neighbours{}, 5)
	require.NoError(t, err)
	assert.Zero(t, p.Items())
	assert.Zero(t, p.Len(3))
}

// TestDecodeRefusesNeighbours: a hostile §8.5 section is refused with
// its tag named, before a row outside the catalog or a weight that is not
// finite can reach a request.
func TestDecodeRefusesNeighbours(t *testing.T) {
	slim := mustPack(testSlim(), 5)
	good := encodeNeighbours(&slim)
	// Layout of testSlim's section: 16 bytes of header, 6 offsets (24),
	// 4 weights (8), 4 rows of 2 bytes (8).
	const weights, rows = 16 + 24, 16 + 24 + 8
	for name, mod := range map[string]func(b []byte){
		"row past the catalog": func(b []byte) { binary.LittleEndian.PutUint16(b[rows:], 5) },
		"wide rows":            func(b []byte) { binary.LittleEndian.PutUint32(b[8:], 4) },
		"NaN weight":           func(b []byte) { binary.LittleEndian.PutUint16(b[weights+2:], 0x7e00) },
		"zero scale":           func(b []byte) { binary.LittleEndian.PutUint32(b[12:], 0) },
		"infinite scale":       func(b []byte) { binary.LittleEndian.PutUint32(b[12:], math.Float32bits(float32(math.Inf(1)))) },
		"huge scale":           func(b []byte) { binary.LittleEndian.PutUint32(b[12:], math.Float32bits(3e38)) },
		"entries overrun":      func(b []byte) { binary.LittleEndian.PutUint32(b[4:], 1<<30) },
		"other item count":     func(b []byte) { binary.LittleEndian.PutUint32(b[0:], 4) },
		"offsets past entries": func(b []byte) { binary.LittleEndian.PutUint32(b[16+20:], 5) },
	} {
		b := append([]byte(nil), good...)
		mod(b)
		_, err := Decode(withSection(t, TagSlim, b))
		if assert.Error(t, err, name) {
			assert.Contains(t, err.Error(), TagSlim, name)
		}
	}
	b, err := Decode(withSection(t, TagSlim, good))
	require.NoError(t, err)
	want := mustPack(testSlim(), 5)
	assert.Equal(t, want.Unpack(), b.Pipeline.Slim.Unpack())
}

// FuzzDecodeNeighbours fuzzes the golden's SLIM section: accepted lists
// read every entry, within the catalog, and read alike through
// DecodeVerified.
func FuzzDecodeNeighbours(f *testing.F) {
	fuzzSection(f, golden, TagSlim, func(t *testing.T, b, v *Bundle) {
		n := b.Manifest.Items
		for i := range b.Pipeline.Slim.Items() {
			for k := range b.Pipeline.Slim.Len(i) {
				row, w := b.Pipeline.Slim.At(i, k)
				vrow, vw := v.Pipeline.Slim.At(i, k)
				if row < 0 || int(row) >= n || math.IsNaN(float64(w)) || math.IsInf(float64(w), 0) || row != vrow || w != vw {
					t.Fatalf("item %d entry %d: row %d weight %v (verified: %d, %v)", i, k, row, w, vrow, vw)
				}
			}
		}
	})
}

// TestPipelineListsRefusedSinceFormat2: a format-3 PIPE that holds
// neighbour lists, as format 1's did, is refused, naming PIPE.
func TestPipelineListsRefusedSinceFormat2(t *testing.T) {
	data, err := wire.Marshal(&pipelineWire{Pipeline: *testBundle().Pipeline, Covisit: *testCovisit()})
	require.NoError(t, err)
	_, err = Decode(withSection(t, TagPipeline, data))
	var fe *FormatError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, TagPipeline, fe.Section)
	assert.Contains(t, err.Error(), "belong in sections")
}
