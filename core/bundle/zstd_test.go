//go:build !wasm

package bundle

import (
	"bytes"
	"os"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzDecompress feeds arbitrary stored bytes, flagged zstd, to the
// section decompressor: it must refuse or return exactly the declared
// raw length, never panic, and accept only what is one frame.
func FuzzDecompress(f *testing.F) {
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		f.Fatal(err)
	}
	one := enc.EncodeAll(bytes.Repeat([]byte("edgerec "), 64), nil)
	enc.Close()
	f.Add(one, uint16(512))
	f.Add(append(bytes.Clone(one), one...), uint16(1024))
	f.Add(one[:len(one)-2], uint16(512))
	f.Add([]byte{0x50, 0x2a, 0x4d, 0x18, 0, 0, 0, 0}, uint16(0))
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(maxWindow))
	if err != nil {
		f.Fatal(err)
	}
	defer dec.Close()
	f.Fuzz(func(t *testing.T, stored []byte, raw uint16) {
		e := Entry{Tag: "TEST", Flags: FlagZstd, Stored: uint64(len(stored)), Raw: uint64(raw)}
		out, err := (&decompressor{dec}).decompress(e, stored)
		if err != nil {
			return
		}
		if len(out) != int(raw) {
			t.Fatalf("decompressed %d bytes, declared %d", len(out), raw)
		}
		if checkFrame(e, stored) != nil {
			t.Fatal("decompress accepted what checkFrame refuses")
		}
	})
}

// TestUncompressed: a bundle with compressed sections comes back with
// every section raw and the same content — the compressed 2.0 golden as
// the raw one byte for byte, the 1.2 golden decoding as before — a raw
// bundle comes back as it is, and a section declaring more than its
// compression ratio allows is refused before it is decompressed.
func TestUncompressed(t *testing.T) {
	zstdGolden, err := os.ReadFile(goldenZstd)
	require.NoError(t, err)
	rawGolden, err := os.ReadFile(goldenV2)
	require.NoError(t, err)
	got, err := Uncompressed(zstdGolden)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(rawGolden, got), "Uncompressed(%s) differs from %s", goldenZstd, goldenV2)

	same, err := Uncompressed(rawGolden)
	require.NoError(t, err)
	assert.Same(t, &rawGolden[0], &same[0], "a raw bundle is returned as it is")

	v1, err := os.ReadFile(goldenV1)
	require.NoError(t, err)
	raw, err := Uncompressed(v1)
	require.NoError(t, err)
	h, err := ReadHeader(raw)
	require.NoError(t, err)
	for _, e := range h.Entries {
		assert.Zero(t, e.Flags&FlagZstd, "section %s", e.Tag)
	}
	want, err := Decode(v1)
	require.NoError(t, err)
	have, err := Decode(raw)
	require.NoError(t, err)
	assert.Equal(t, want.Items.IDs, have.Items.IDs)
	assert.Equal(t, want.Manifest, have.Manifest)

	_, err = Uncompressed(withRaw(t, zstdGolden, 1<<29))
	assert.ErrorContains(t, err, "compression ratio")
}
