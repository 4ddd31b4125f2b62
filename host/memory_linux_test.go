package host

import (
	"syscall"
	"testing"
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
