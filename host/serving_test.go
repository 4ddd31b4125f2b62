package host

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"testing"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/bundle/bundletest"
	"github.com/edgerec/edgerec/core/pipeline"
)

// TestFailedLoadKeepsServing loads a good bundle, then bad ones of every
// kind; after each refusal the instance still answers from the good one,
// exactly as the native pipeline does.
func TestFailedLoadKeepsServing(t *testing.T) {
	ctx := context.Background()
	in := newTestInstance(t)
	good := bundletest.Encoded(300, 32, 4)
	sum, err := in.LoadBundle(ctx, bytes.Clone(good))
	if err != nil {
		t.Fatal(err)
	}
	h, err := bundle.ReadHeader(good)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Items != 300 || sum.Format != fmt.Sprintf("%d.%d", h.Major, h.Minor) {
		t.Fatalf("summary %+v", sum)
	}
	native, err := pipeline.Load(bytes.Clone(good))
	if err != nil {
		t.Fatal(err)
	}
	req := &api.Request{K: 7, History: []api.Event{{Item: bundletest.ID(5)}}}
	want, err := native.Recommend(req)
	if err != nil {
		t.Fatal(err)
	}

	flipped := bytes.Clone(good)
	flipped[len(flipped)-3] ^= 0x40
	wrongMajor := bytes.Clone(good)
	binary.LittleEndian.PutUint16(wrongMajor[8:], 9)
	bads := map[string][]byte{
		"empty":       {},
		"truncated":   good[:len(good)/3],
		"bit flip":    flipped,
		"wrong major": wrongMajor,
		// The builder stores every section raw; a bundle with compressed
		// ones is decompressed by the host before the guest sees it.
		"zstd bomb": declareRaw(t, readGoldenZstd(t), 1<<29),
	}
	for name, bad := range bads {
		_, err := in.LoadBundle(ctx, bytes.Clone(bad))
		if err == nil {
			t.Fatalf("%s: load accepted", name)
		}
		if errors.Is(err, ErrTrap) || in.Broken() {
			t.Fatalf("%s: the instance trapped: %v", name, err)
		}
		got, err := in.Recommend(ctx, req)
		if err != nil {
			t.Fatalf("%s: recommend after the failed load: %v", name, err)
		}
		if len(got.Items) != len(want.Items) || got.BundleVersion != want.BundleVersion {
			t.Fatalf("%s: got %d items from %q, want %d from %q", name, len(got.Items), got.BundleVersion, len(want.Items), want.BundleVersion)
		}
		for i := range got.Items {
			if got.Items[i] != want.Items[i] {
				t.Fatalf("%s: item %d: module %+v, native %+v", name, i, got.Items[i], want.Items[i])
			}
		}
	}
}

// declareRaw makes data's first compressed section declare raw bytes and
// fixes the header checksum (FORMAT.md §2–§3), so only the decompression
// can notice.
// readGoldenZstd returns core/bundle's newest golden with compressed
// sections.
func readGoldenZstd(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../core/bundle/testdata/v2.0.bundle")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func declareRaw(t *testing.T, data []byte, raw uint64) []byte {
	t.Helper()
	data = bytes.Clone(data)
	h, err := bundle.ReadHeader(data)
	if err != nil {
		t.Fatal(err)
	}
	const headerSize, entrySize = 32, 40
	for i, e := range h.Entries {
		if e.Flags&bundle.FlagZstd != 0 {
			binary.LittleEndian.PutUint64(data[headerSize+i*entrySize+24:], raw)
			break
		}
	}
	var hdr [headerSize]byte
	copy(hdr[:], data)
	binary.LittleEndian.PutUint32(hdr[20:], 0)
	tab := crc32.MakeTable(crc32.Castagnoli)
	c := crc32.Update(0, tab, hdr[:])
	c = crc32.Update(c, tab, data[headerSize:headerSize+len(h.Entries)*entrySize])
	binary.LittleEndian.PutUint32(data[20:], c)
	return data
}
