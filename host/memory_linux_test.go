package host

import (
	"context"
	"syscall"
	"testing"
	"unsafe"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle/bundletest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// BenchmarkGrow grows a reserved memory to 200 MB in 1 MiB steps, as a
// guest allocating a bundle's buffer does, then copies 200 MB into it, as
// the host writes the bundle: the pages faulted in at growth by one
// madvise per step (populate) or by touching each (touch). Run it with
// -benchtime 1x for memory new to the process, more for memory it had.
func BenchmarkGrow(b *testing.B) {
	const size, step = 200 << 20, 1 << 20
	src := make([]byte, size)
	for i := range src {
		src[i] = byte(i)
	}
	for _, c := range []struct {
		name     string
		populate bool
	}{{"touch", false}, {"populate", true}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(size)
			for range b.N {
				buf, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE,
					syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
				if err != nil {
					b.Fatal(err)
				}
				for old := 0; old < size; old += step {
					grown := buf[old : old+step]
					if !c.populate || !populate(grown) {
						for i := 0; i < len(grown); i += 4096 {
							grown[i] = 0
						}
					}
				}
				copy(buf, src)
				syscall.Munmap(buf)
			}
		})
	}
}

// resident reports, per 4 KiB page of b, whether it is in memory
// (mincore(2)).
func resident(t *testing.T, b []byte) []bool {
	t.Helper()
	vec := make([]byte, (len(b)+4095)/4096)
	if _, _, e := syscall.Syscall(syscall.SYS_MINCORE, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		t.Fatalf("mincore: %v", e)
	}
	out := make([]bool, len(vec))
	for i, v := range vec {
		out[i] = v&1 != 0
	}
	return out
}

// TestPrefault: Options.PrefaultBytes' reservation is faulted in up to
// the bytes asked and no further, and the first instance's memory is that
// reservation; the module's later instances reserve their own.
func TestPrefault(t *testing.T) {
	const size, n = 64 << 20, 8 << 20
	p := startPrefault(size, n)
	require.NotNil(t, p)
	b := p.take()
	require.Len(t, b, size)
	assert.NotContains(t, resident(t, b[:n]), false, "the first %d bytes are resident", n)
	assert.NotContains(t, resident(t, b[n:2*n]), true, "the bytes after them are not")
	require.NoError(t, syscall.Munmap(b))
	assert.Nil(t, p.take(), "a reservation is taken once")

	ctx := context.Background()
	mod, err := Compile(ctx, testWasm, Options{CacheDir: testCacheDir, ReserveMemory: true, PrefaultBytes: n})
	require.NoError(t, err)
	defer mod.Close(ctx)
	spare := mod.spare
	require.NotNil(t, spare)
	<-spare.done
	want := unsafe.Pointer(&spare.buf[0])
	first, err := mod.Instantiate(ctx)
	require.NoError(t, err)
	defer first.Close(ctx)
	mem, ok := first.mod.Memory().Read(0, 1)
	require.True(t, ok)
	assert.Equal(t, want, unsafe.Pointer(&mem[0]), "the first instance's memory is the prefaulted reservation")
	second, err := mod.Instantiate(ctx)
	require.NoError(t, err)
	defer second.Close(ctx)
	mem, ok = second.mod.Memory().Read(0, 1)
	require.True(t, ok)
	assert.NotEqual(t, want, unsafe.Pointer(&mem[0]))
	for _, in := range []*Instance{first, second} {
		_, err = in.LoadBundle(ctx, bundletest.Encoded(500, 16, 3))
		require.NoError(t, err)
		_, err = in.Recommend(ctx, &api.Request{K: 5})
		require.NoError(t, err)
	}

	// A module closed before any instance took its reservation unmaps it.
	unused, err := Compile(ctx, testWasm, Options{CacheDir: testCacheDir, ReserveMemory: true, PrefaultBytes: n})
	require.NoError(t, err)
	require.NoError(t, unused.Close(ctx))
	assert.Nil(t, unused.spare)
}
