package host

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle/bundletest"
)

// TestTrace: a context from WithTrace receives the call's item count and
// stage timings whether or not the request asked for debug; the answer
// carries the debug section only when asked, and then the trace holds the
// same stages; a refused request leaves the trace empty.
func TestTrace(t *testing.T) {
	ctx := context.Background()
	in := newTestInstance(t)
	_, err := in.LoadBundle(ctx, bytes.Clone(bundletest.Encoded(300, 16, 2)))
	require.NoError(t, err)
	var tr api.Trace
	tctx := WithTrace(ctx, &tr)

	for _, debug := range []bool{false, true} {
		req := &api.Request{K: 7, Debug: debug, History: []api.Event{{Item: bundletest.ID(5)}, {Item: "unknown"}}}
		b, err := api.EncodeRequest(req)
		require.NoError(t, err)
		out, err := in.RecommendBytes(tctx, b)
		require.NoError(t, err)
		resp, err := api.DecodeResponse(out)
		require.NoError(t, err)
		assert.Equal(t, len(resp.Items), tr.Items)
		assert.Equal(t, 7, tr.Items)
		assert.Equal(t, 1, tr.UnknownItems)
		var names []string
		for _, s := range tr.Stages {
			names = append(names, s.Name)
		}
		assert.Equal(t, []string{"embed", "retrieve", "sources+filter", "rank", "order"}, names)
		if !debug {
			assert.Nil(t, resp.Debug)
			continue
		}
		require.NotNil(t, resp.Debug)
		assert.Equal(t, resp.Debug.Stages, tr.Stages)
		assert.Equal(t, resp.Debug.Examined, tr.Examined)
	}

	// Reading a trace allocates nothing once the names are known.
	b, err := api.EncodeRequest(&api.Request{K: 3})
	require.NoError(t, err)
	callAllocs := testing.AllocsPerRun(20, func() { in.RecommendBytes(ctx, b) })
	tracedAllocs := testing.AllocsPerRun(20, func() { in.RecommendBytes(tctx, b) })
	assert.Equal(t, callAllocs, tracedAllocs)

	// A refused request, and one refused before the call, leave it empty.
	for _, bad := range [][]byte{{0xc1}, make([]byte, api.MaxRequestBytes+1)} {
		_, err := in.RecommendBytes(tctx, b)
		require.NoError(t, err)
		require.NotEmpty(t, tr.Stages)
		_, err = in.RecommendBytes(tctx, bad)
		require.Error(t, err)
		assert.Empty(t, tr.Stages)
		assert.Zero(t, tr.Items)
	}
}
