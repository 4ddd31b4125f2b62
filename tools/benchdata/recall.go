package benchdata

// Recall returns |got ∩ want| / |want|: the share of the true neighbours
// that a search found.
func Recall(got, want []int32) float64 {
	set := make(map[int32]bool, len(want))
	for _, w := range want {
		set[w] = true
	}
	n := 0
	for _, g := range got {
		if set[g] {
			n++
		}
	}
	return float64(n) / float64(len(want))
}
