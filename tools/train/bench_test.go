package train

import (
	"testing"

	"github.com/edgerec/edgerec/tools/synth"
)

// BenchmarkTrainExamples measures training throughput on the default
// synthetic data set (one epoch, default model, both cores) and reports
// examples per second.
func BenchmarkTrainExamples(b *testing.B) {
	cfg := synth.DefaultConfig()
	cfg.Users, cfg.Items = 1000, 800
	ds, err := synth.Generate(cfg)
	if err != nil {
		b.Fatal(err)
	}
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
