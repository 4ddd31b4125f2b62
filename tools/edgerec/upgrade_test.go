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
// bundles, which need nothing, are copied unchanged (exit 0), and a 4.x
// one written as 3.x with --max-format 3; a file that is no bundle is
// refused.
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

	// A raw 3.0 bundle whose catalog format 4 could shorten stays as it is
	// (deployed 3.x modules read it), and so does format 4: both copied
	// unchanged, with a note saying why.
	lean, err := os.ReadFile(goldens + "v4.0-lean.bundle")
	require.NoError(t, err)
	b, err := bundle.Decode(lean)
	require.NoError(t, err)
	as3, err := bundle.EncodeMax(b, bundle.MajorPacked)
	require.NoError(t, err)
	path3 := filepath.Join(dir, "lean-as-3.bundle")
	require.NoError(t, os.WriteFile(path3, as3, 0o644))
	for _, in := range []string{goldens + "v3.0.bundle", goldens + "v3.1-prior.bundle", path3, goldens + "v4.0-lean.bundle"} {
		require.NoError(t, os.Remove(out))
		code, stdout, stderr = edgerec(t, "bundle", "upgrade", "--out", out, in)
		assert.Equal(t, 0, code, in)
		assert.Empty(t, stdout, in)
		assert.Contains(t, stderr, "every section raw, as the builder writes it: nothing to upgrade; copied unchanged to "+out, in)
		want, err := os.ReadFile(in)
		require.NoError(t, err)
		got, err := os.ReadFile(out)
		require.NoError(t, err, in)
		assert.True(t, bytes.Equal(want, got), "%s was not copied unchanged", in)
	}
	// --out the input: nothing written, exit 0.
	code, _, stderr = edgerec(t, "bundle", "upgrade", "--out", path3, path3)
	assert.Equal(t, 0, code)
	assert.Contains(t, stderr, "left as it is (--out is the input)")
	got, err = os.ReadFile(path3)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(as3, got))

	// --max-format 3 writes a 4.x bundle as 3.x, as bundle build does.
	code, stdout, stderr = edgerec(t, "bundle", "upgrade", "--max-format", "3", "--out", out, goldens+"v4.0-lean.bundle")
	require.Zero(t, code, stderr)
	assert.Contains(t, stdout, "(format 3.0, every section raw")
	got, err = os.ReadFile(out)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(as3, got), "the 4.0 golden upgraded with --max-format 3 differs from bundle.EncodeMax(b, 3)")
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
