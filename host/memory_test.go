package host

import (
	"bytes"
	"context"
	"runtime"
	"testing"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle/bundletest"
)

// TestReserveMemory: an instance whose linear memory is a reserved mapping
// loads a bundle that grows it many times over and answers exactly as an
// instance with wazero's default memory; closing it releases the mapping,
// and the memory limit still holds.
func TestReserveMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("ReserveMemory is Linux only")
	}
	ctx := context.Background()
	reserved, err := Compile(ctx, testWasm, Options{CacheDir: testCacheDir, ReserveMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer reserved.Close(ctx)
	data := bundletest.Encoded(20_000, 64, 3)
	req, err := api.EncodeRequest(&api.Request{K: 20, Debug: false,
		History: []api.Event{{Item: bundletest.ID(5)}, {Item: bundletest.ID(77)}, {Item: bundletest.ID(901)}}})
	if err != nil {
		t.Fatal(err)
	}
	answer := func(m *Module) ([]byte, uint64) {
		in, err := m.Instantiate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close(ctx)
		before := in.MemoryBytes()
		if _, err := in.LoadBundle(ctx, data); err != nil {
			t.Fatal(err)
		}
		if in.MemoryBytes() < before+uint64(len(data)) {
			t.Fatalf("memory %d → %d bytes for a %d-byte bundle", before, in.MemoryBytes(), len(data))
		}
		out, err := in.RecommendBytes(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return out, in.MemoryBytes()
	}
	want, _ := answer(testModule)
	for range 3 { // instances come and go: mappings are released and reused
		got, mem := answer(reserved)
		if !bytes.Equal(got, want) {
			t.Fatalf("reserved memory answers %d bytes differing from the default memory's %d", len(got), len(want))
		}
		t.Logf("instance memory %d MiB", mem>>20)
	}

	// The limit is the reservation: a bundle past it fails cleanly. A
	// memory of the bundle's size leaves no room for the module itself.
	pages := uint32(len(data) >> 16)
	small, err := Compile(ctx, testWasm, Options{CacheDir: testCacheDir, ReserveMemory: true, MemoryLimitPages: pages, MaxBundleBytes: 16 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close(ctx)
	in, err := small.Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close(ctx)
	if _, err := in.LoadBundle(ctx, data); err == nil {
		t.Fatalf("a %d-byte bundle loaded into a memory of %d pages", len(data), pages)
	}
}

// TestSliceMemory: the fallback keeps its contents across growth and shows
// zeros past the old length.
func TestSliceMemory(t *testing.T) {
	m := &sliceMemory{buf: make([]byte, 0, 4)}
	b := m.Reallocate(3)
	copy(b, "abc")
	for _, size := range []uint64{4, 9, 100, 100, 1000} {
		b = m.Reallocate(size)
		if uint64(len(b)) != size || string(b[:3]) != "abc" {
			t.Fatalf("size %d: got %d bytes starting %q", size, len(b), b[:3])
		}
		for i, c := range b[3:] {
			if c != 0 {
				t.Fatalf("size %d: byte %d is %d, want 0", size, 3+i, c)
			}
		}
	}
	m.Free()

	// Growth doubles the capacity, but never past the memory's limit.
	m = &sliceMemory{buf: make([]byte, 0, 600), limit: 1000}
	if b := m.Reallocate(700); cap(b) != 1000 {
		t.Fatalf("capacity %d after growing to 700 under a limit of 1000", cap(b))
	}
}
