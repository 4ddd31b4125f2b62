package host

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/abi"
	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bloom"
	"github.com/edgerec/edgerec/core/bundle/bundletest"
	"github.com/edgerec/edgerec/tools/benchdata"
)

// TestLoadVerified: a bundle loaded after a native Verify answers byte for
// byte as one the guest checked itself, for formats 3, 2 and 1; Verify
// refuses what the guest would.
func TestLoadVerified(t *testing.T) {
	ctx := context.Background()
	v1, err := os.ReadFile("../core/bundle/testdata/v1.2.bundle")
	require.NoError(t, err)
	v2, err := os.ReadFile("../core/bundle/testdata/v2.0-raw.bundle")
	require.NoError(t, err)
	for name, data := range map[string][]byte{"3.0": bundletest.Encoded(2000, 32, 7), "2.0": v2, "1.2": v1, "2.0 compressed": readGoldenZstd(t)} {
		t.Run(name, func(t *testing.T) {
			v, err := Verify(data)
			require.NoError(t, err)
			full, fast := newTestInstance(t), newTestInstance(t)
			a, err := full.LoadBundle(ctx, data)
			require.NoError(t, err)
			b, err := fast.LoadVerified(ctx, v)
			require.NoError(t, err)
			assert.Equal(t, a, b)
			for i := range 20 {
				req := &api.Request{K: 10, Context: api.Context{Age: 20 + i}}
				x, err1 := full.Recommend(ctx, req)
				y, err2 := fast.Recommend(ctx, req)
				require.NoError(t, err1)
				require.NoError(t, err2)
				assert.Equal(t, x, y)
			}
		})
	}
	bad := bytes.Clone(bundletest.Encoded(50, 8, 1))
	bad[len(bad)-5] ^= 0xff
	_, err = Verify(bad)
	assert.ErrorContains(t, err, "checksum")
}

// TestMemoryFlatUnderLoad: after a bundle loads, requests leave the
// instance's memory within the guest's headroom of where the load left
// it, whatever the bundle's size (by default the heap would double before
// the collector ran, and a linear memory never shrinks).
func TestMemoryFlatUnderLoad(t *testing.T) {
	ctx := context.Background()
	data := bundletest.Encoded(60_000, 64, 5)
	in := newTestInstance(t)
	_, err := in.LoadBundle(ctx, data)
	require.NoError(t, err)
	after := in.MemoryBytes()
	for i := range 1500 {
		req := &api.Request{K: 50, UserID: fmt.Sprint("u", i), Context: api.Context{Age: 18 + i%60},
			History: []api.Event{{Item: bundletest.ID(i % 60_000)}, {Item: bundletest.ID((7 * i) % 60_000)}}}
		_, err := in.Recommend(ctx, req)
		require.NoError(t, err)
	}
	grown := int64(in.MemoryBytes()) - int64(after)
	t.Logf("bundle %d MiB; memory after load %d MiB, after 1500 requests %+d MiB", len(data)>>20, after>>20, grown>>20)
	assert.LessOrEqual(t, grown, int64(12<<20), "memory grew by %d MiB under load", grown>>20)
}

// TestMemoryFlatUnderLargeRequests: requests that carry the largest
// consumed filter, every other one, grow the instance's memory by less
// than the heap's headroom (the guest collects after each: wasm/exports.go,
// bigRequest; without that it grew by the whole headroom).
func TestMemoryFlatUnderLargeRequests(t *testing.T) {
	const memoryHeadroomMiB = 4 // wasm/exports.go's memoryHeadroom
	ctx := context.Background()
	in := newTestInstance(t)
	_, err := in.LoadBundle(ctx, bundletest.Encoded(60_000, 64, 5))
	require.NoError(t, err)
	after := in.MemoryBytes()
	full := benchdata.FullFilter(bloom.MaxBits, bloom.MaxHashes)
	for i := range 60 {
		req := &api.Request{K: api.MaxK, History: []api.Event{{Item: bundletest.ID(i)}}}
		if i%2 == 0 {
			req.Consumed = full
		}
		_, err := in.Recommend(ctx, req)
		require.NoError(t, err)
	}
	grown := int64(in.MemoryBytes()) - int64(after)
	t.Logf("memory after load %d MiB, after 60 requests, half with a %d KiB filter: %+d MiB", after>>20, len(full)>>10, grown>>20)
	assert.Less(t, grown, int64(memoryHeadroomMiB<<20), "memory grew by %d MiB, as much as the heap's headroom", grown>>20)
}

// TestGuestReadsRawSectionsOnly: the module has no zstd decoder; handed a
// compressed section it refuses the bundle, naming the section and the
// way out, and keeps serving. LoadBundle and Verify never hand it one.
func TestGuestReadsRawSectionsOnly(t *testing.T) {
	ctx := context.Background()
	in := newTestInstance(t)
	_, err := in.LoadBundle(ctx, bundletest.Encoded(300, 32, 4))
	require.NoError(t, err)
	_, err = in.load(ctx, abi.ExportLoadBundle, in.loadBundle, readGoldenZstd(t))
	require.ErrorIs(t, err, ErrGuest)
	assert.ErrorContains(t, err, "stored zstd-compressed, which the module does not read")
	assert.ErrorContains(t, err, "edgerec bundle upgrade")
	_, err = in.Recommend(ctx, &api.Request{K: 5})
	require.NoError(t, err)
}
