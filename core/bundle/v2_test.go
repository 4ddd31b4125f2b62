package bundle

import (
	"bytes"
	"os"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUpgrade: the format-1 and format-2 goldens, read and written again,
// are the format-3 golden byte for byte: all hold testBundle, so reading
// an older format loses nothing that format 3 stores (edgerec bundle
// upgrade does this).
func TestUpgrade(t *testing.T) {
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	for name, format := range map[string]string{goldenV1: "1.2", goldenV2: "2.0"} {
		old, err := os.ReadFile(name)
		require.NoError(t, err)
		b, err := Decode(old)
		require.NoError(t, err)
		assert.Equal(t, format, b.Format)
		got, err := Encode(b)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(want, got), "upgraded %s (%d bytes) differs from %s (%d bytes)", name, len(got), golden, len(want))
	}
}

// TestFormatsAgree: what a reader serves from — ids, columns, orders, the
// id table, the neighbour lists — is the same read from either format.
func TestFormatsAgree(t *testing.T) {
	read := func(name string) *Bundle {
		data, err := os.ReadFile(name)
		require.NoError(t, err)
		b, err := Decode(data)
		require.NoError(t, err)
		return b
	}
	v1, v2 := read(goldenV1), read(golden)
	assert.Equal(t, read(goldenV2).Pipeline, v2.Pipeline)
	assert.Equal(t, v1.Items.IDs.Slice(), v2.Items.IDs.Slice())
	assert.Equal(t, v1.Items.Titles.Slice(), v2.Items.Titles.Slice())
	a, b := v1.Items, v2.Items
	a.IDs, a.Titles, a.index, b.IDs, b.Titles, b.index = Strings{}, Strings{}, IDIndex{}, Strings{}, Strings{}, IDIndex{}
	assert.Equal(t, a, b)
	assert.Equal(t, v1.Orders, v2.Orders)
	assert.Equal(t, v1.Pipeline, v2.Pipeline)
	assert.Equal(t, v1.Query, v2.Query)
	assert.Equal(t, v1.Ranker, v2.Ranker)
	for i := range v2.Items.Len() {
		id := v2.Items.IDs.At(i)
		for _, x := range []*Bundle{v1, v2} {
			row, ok := x.Items.Lookup(id)
			assert.True(t, ok && int(row) == i, "%s: Lookup(%q) = %d, %v", x.Format, id, row, ok)
		}
	}
	_, ok := v2.Items.Lookup("no such item")
	assert.False(t, ok)
}

// TestDecodeAliases: a format-2 bundle's columns are its bytes, not
// copies of them (on a little-endian machine, from an aligned buffer).
func TestDecodeAliases(t *testing.T) {
	if !littleEndian {
		t.Skip("a big-endian machine copies the columns")
	}
	data := mustEncode(t, testBundle())
	b, err := Decode(data)
	require.NoError(t, err)
	within := func(p unsafe.Pointer) bool {
		lo := uintptr(unsafe.Pointer(&data[0]))
		return uintptr(p) >= lo && uintptr(p) < lo+uintptr(len(data))
	}
	for name, p := range map[string]unsafe.Pointer{
		"ids":           unsafe.Pointer(&b.Items.IDs.blob[0]),
		"popularity":    unsafe.Pointer(&b.Items.Popularity[0]),
		"released":      unsafe.Pointer(&b.Items.Released[0]),
		"known":         unsafe.Pointer(&b.Items.Known[0]),
		"orders":        unsafe.Pointer(&b.Orders.Popularity[0]),
		"covisit":       unsafe.Pointer(&b.Pipeline.Covisit.rows[0]),
		"scales":        unsafe.Pointer(&b.Embeddings.Scales[0]),
		"id table slot": unsafe.Pointer(&b.Items.index.slots[0]),
	} {
		assert.True(t, within(p), "%s is a copy", name)
	}
	// An unaligned buffer is read by copying, to the same content.
	shifted := make([]byte, len(data)+1)
	copy(shifted[1:], data)
	c, err := Decode(shifted[1:])
	require.NoError(t, err)
	assert.Equal(t, b.Items.Popularity, c.Items.Popularity)
	assert.Equal(t, b.Orders, c.Orders)
}
