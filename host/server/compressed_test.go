package server

import (
	"context"
	"net/http"
	"os"
	"testing"

	"github.com/edgerec/edgerec/core/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBundleWithCompressedSections: a bundle whose writer compressed
// sections (format 2.0 before 2026-12-07) serves — the node hands the
// instances its sections raw — while /v1/bundle and /v1/bundle/file
// describe and serve the file as it is, and a reload of the same file
// finds it unchanged.
func TestBundleWithCompressedSections(t *testing.T) {
	data, err := os.ReadFile("../../core/bundle/testdata/v2.0.bundle")
	require.NoError(t, err)
	ts := start(t, Config{Pool: 1, WebDir: t.TempDir(), Wasm: testWasm}, data)

	status, body := post(t, ts.http.URL, &api.Request{K: 3})
	require.Equal(t, http.StatusOK, status, "%s", body)

	status, _, body = get(t, ts.http.URL+"/v1/bundle")
	require.Equal(t, http.StatusOK, status)
	info := decode[Status](t, body)
	assert.Equal(t, sha256Hex(data), info.SHA256)
	assert.Equal(t, len(data), info.SizeBytes)

	status, _, body = get(t, ts.http.URL+"/v1/bundle/file")
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, data, body)

	r, err := ts.Reload(context.Background(), "test")
	require.NoError(t, err)
	assert.Equal(t, "unchanged", r.Result)
}
