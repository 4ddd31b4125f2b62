package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/bundle"
)

// TestBundleUpgrade: the 1.2 golden and the 2.0 goldens, compressed and
// raw, all upgrade to the 3.0 golden byte for byte; a signed 1.1 bundle
// upgrades with a note that its signature was dropped; raw 3.x and 4.x
// bundles and a file that is no bundle are refused.
func TestBundleUpgrade(t *testing.T) {
	const goldens = "../../core/bundle/testdata/"
	dir := t.TempDir()
	out := filepath.Join(dir, "up.bundle")
	code, stdout, stderr := edgerec(t, "bundle", "upgrade", "--out", out, goldens+"v1.2.bundle")
	require.Zero(t, code, stderr)
	assert.Contains(t, stdout, "format 1.2")
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	want, err := os.ReadFile(goldens + "v3.0.bundle")
	require.NoError(t, err)
	assert.True(t, bytes.Equal(want, got), "the upgraded 1.2 golden differs from the 3.0 golden")

	for _, name := range []string{"v2.0.bundle", "v2.0-raw.bundle"} {
		code, stdout, stderr = edgerec(t, "bundle", "upgrade", "--out", out, goldens+name)
		require.Zero(t, code, stderr)
		assert.Contains(t, stdout, "format 3.0, every section raw")
		got, err = os.ReadFile(out)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(want, got), "the upgraded %s differs from the 3.0 golden", name)
	}

	code, _, stderr = edgerec(t, "bundle", "upgrade", "--out", out, goldens+"v1.1-signed.bundle")
	require.Zero(t, code, stderr)
	assert.Contains(t, stderr, "signature")

	code, _, stderr = edgerec(t, "bundle", "upgrade", "--out", out, goldens+"v3.0.bundle")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "already")

	// A raw 3.0 bundle whose catalog format 4 could shorten stays as it is
	// (deployed 3.x modules read it); format 4 is refused the same way.
	lean, err := os.ReadFile(goldens + "v4.0-lean.bundle")
	require.NoError(t, err)
	b, err := bundle.Decode(lean)
	require.NoError(t, err)
	as3, err := bundle.EncodeMax(b, bundle.MajorPacked)
	require.NoError(t, err)
	path3 := filepath.Join(dir, "lean-as-3.bundle")
	require.NoError(t, os.WriteFile(path3, as3, 0o644))
	for _, in := range []string{path3, goldens + "v4.0-lean.bundle"} {
		code, _, stderr = edgerec(t, "bundle", "upgrade", "--out", out, in)
		assert.Equal(t, 1, code, in)
		assert.Contains(t, stderr, "already", in)
	}
	code, _, stderr = edgerec(t, "bundle", "upgrade", "--max-format", "2", "--out", out, goldens+"v1.2.bundle")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "--max-format")

	junk := filepath.Join(dir, "junk")
	require.NoError(t, os.WriteFile(junk, []byte("not a bundle, but long enough to hold a header"), 0o644))
	code, _, stderr = edgerec(t, "bundle", "upgrade", "--out", out, junk)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "not an edgerec bundle")

	code, _, stderr = edgerec(t, "bundle", "upgrade", junk)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "--out")
}
