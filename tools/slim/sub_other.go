//go:build !amd64

package slim

// subScaled computes y[i] −= u·x[i] for every i < len(y).
func subScaled(y, x []float64, u float64) { subScaledGo(y, x[:len(y)], u) }
