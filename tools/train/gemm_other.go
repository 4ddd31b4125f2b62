//go:build !amd64

package train

// hasAVX is false off amd64: the products run on gonum alone.
var hasAVX = false

func kernel4x16(k int, a *float32, sai, sap uintptr, b *float32, ldb uintptr, c *float32, ldc uintptr, alpha, beta float32) {
	panic("train: kernel4x16 without AVX")
}
