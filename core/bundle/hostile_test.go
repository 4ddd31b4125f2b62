package bundle_test

import (
	"crypto/rand"
	"errors"
	"math"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/bundle/bundletest"
	"github.com/edgerec/edgerec/core/nn"
	"github.com/klauspost/compress/zstd"
)

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestHostileBundles: every crafted bundle of bundletest.Hostiles is
// refused with a FormatError naming what is wrong (or, when what is
// crafted is a section the reader skips, accepted), with little
// allocation either way.
func TestHostileBundles(t *testing.T) {
	for _, h := range bundletest.Hostiles(200, 16, 1) {
		t.Run(h.Name, func(t *testing.T) {
			var err error
			alloc := allocated(func() { _, err = bundle.Decode(h.Data) })
			if h.Want == "" {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
				assert.Contains(t, err.Error(), h.Want)
				var fe *bundle.FormatError
				assert.True(t, errors.As(err, &fe), "want a *bundle.FormatError, got %T", err)
			}
			assert.Less(t, alloc, uint64(16<<20), "Decode allocated %d MiB", alloc>>20)
		})
	}
}

// TestUnknownSectionNotDecompressed: a reader skips a section it does not
// know without decompressing it: 8 MiB of incompressible bytes in one
// frame cost nothing to a reader that skips them.
func TestUnknownSectionNotDecompressed(t *testing.T) {
	noise := make([]byte, 8<<20)
	rand.Read(noise)
	enc, err := zstd.NewWriter(nil)
	require.NoError(t, err)
	frame := enc.EncodeAll(noise, nil)
	enc.Close()
	h, sections, err := bundle.ReadStored(bundletest.Encoded(50, 8, 1))
	require.NoError(t, err)
	sections = append(sections, bundle.Stored{Entry: bundle.Entry{Tag: "XTRA", Flags: bundle.FlagZstd, Raw: uint64(len(noise))}, Data: frame})
	data, err := bundle.Relayout(h.Major, h.Minor+1, sections)
	require.NoError(t, err)
	alloc := allocated(func() { _, err = bundle.Decode(data) })
	require.NoError(t, err)
	assert.Less(t, alloc, uint64(4<<20), "Decode allocated %d MiB for a section it does not read", alloc>>20)
}

// TestNonFiniteWeights: a NaN or an infinity in any float tensor of the
// query tower or the ranker makes Encode refuse, naming the section and
// the tensor.
func TestNonFiniteWeights(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, c := range []struct {
		name string
		mod  func(b *bundle.Bundle)
		want string
	}{
		{"query field table", func(b *bundle.Bundle) { b.Query.Fields[2].Table.Data[0] = nan }, "section QTWR: tensor fields[gender].table holds NaN at index 0"},
		{"query cross bias", func(b *bundle.Bundle) { b.Query.Cross[0].B[1] = inf }, "section QTWR: tensor cross[0].b holds +Inf at index 1"},
		{"query dense weight", func(b *bundle.Bundle) { b.Query.MLP.Layers[0].W[7] = nan }, "section QTWR: tensor mlp.layers[0].w holds NaN at index 7"},
		{"ranker dense weight", func(b *bundle.Bundle) { b.Ranker.MLP.Layers[1].W[2] = -inf }, "section RANK: tensor mlp.layers[1].w holds -Inf at index 2"},
		{"ranker bias", func(b *bundle.Bundle) { b.Ranker.MLP.Layers[0].B[0] = nan }, "section RANK: tensor mlp.layers[0].b holds NaN at index 0"},
		{"ranker cross", func(b *bundle.Bundle) {
			n := len(b.Ranker.Mean)
			b.Ranker.Cross = nn.Stack{{Dim: n, W: make([]float32, n*n), B: make([]float32, n)}}
			b.Ranker.Cross[0].W[4] = nan
		}, "section RANK: tensor cross[0].w holds NaN at index 4"},
		{"embedding scale", func(b *bundle.Bundle) { b.Embeddings.Scales[3] = inf }, "section EMBD"},
		{"index recall", func(b *bundle.Bundle) {
			b.Index = &bundle.Index{Offsets: []uint32{0, uint32(b.Manifest.Items)}, Centroids: b.Embeddings, NProbe: 1, Recall: nan}
		}, "INDX"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := bundletest.Random(30, 8, 1)
			c.mod(b)
			_, err := bundle.Encode(b)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}
