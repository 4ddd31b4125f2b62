package pipeline

import (
	"testing"

	"github.com/edgerec/edgerec/core/bundle/bundletest"
)

// BenchmarkLoad times loading a 100k-item bundle: decompress, decode,
// validate and index. In wazero (see BenchmarkStages) it is what the
// module's load_bundle costs.
func BenchmarkLoad(b *testing.B) {
	data := bundletest.Encoded(100_000, 64, 1)
	b.ResetTimer()
	for b.Loop() {
		if _, err := Load(data); err != nil {
			b.Fatal(err)
		}
	}
}
