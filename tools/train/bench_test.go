package train

import (
	"os"
	"testing"

	"github.com/edgerec/edgerec/tools/dataset"
	"github.com/edgerec/edgerec/tools/synth"
)

// benchFit trains one epoch of the default model on ds (no validation, both
// cores) per iteration and reports examples per second.
func benchFit(b *testing.B, ds *dataset.Dataset) {
	tc := DefaultConfig()
	tc.Epochs, tc.Validation = 1, 0
	var examples int
	for b.Loop() {
		r, err := Fit(ds, tc, nil)
		if err != nil {
			b.Fatal(err)
		}
		examples += r.Examples
	}
	b.ReportMetric(float64(examples)/b.Elapsed().Seconds(), "examples/s")
}

// BenchmarkTrainExamples measures training throughput, default model,
// both cores: on the synthetic set and, when ../shared/data holds it, on
// MovieLens-100K (longer histories).
func BenchmarkTrainExamples(b *testing.B) {
	b.Run("data=synth", func(b *testing.B) {
		cfg := synth.DefaultConfig()
		cfg.Users, cfg.Items = 1000, 800
		ds, err := synth.Generate(cfg)
		if err != nil {
			b.Fatal(err)
		}
		benchFit(b, ds)
	})
	b.Run("data=ml-100k", func(b *testing.B) {
		dir := "../../../shared/data/ml-100k"
		if _, err := os.Stat(dir); err != nil {
			b.Skipf("MovieLens-100K not found at %s: %v", dir, err)
		}
		ds, err := dataset.Load(dir, dataset.FormatMovieLens100K)
		if err != nil {
			b.Fatal(err)
		}
		benchFit(b, ds)
	})
}
