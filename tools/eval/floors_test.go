package eval_test

import (
	"os"
	"testing"

	"github.com/edgerec/edgerec/tools/dataset"
	"github.com/edgerec/edgerec/tools/eval"
	"github.com/edgerec/edgerec/tools/train"
)

// ml100kFloor is the Recall@20 the two-tower retrieval must keep on
// MovieLens-100K at the 0.9 temporal cut: the measured value (README,
// "Results") minus a margin for changes that are noise. Determinism: the
// run is reproducible for a seed and a worker count, so the margin guards
// against legitimate small changes of the model, not against randomness.
const ml100kFloor = 0.15

// TestML100KQualityFloor runs the ML-100K evaluation of the two-tower model
// and popularity and fails if the model falls below the floor or below
// popularity. CI runs it whenever ../shared/data is present.
func TestML100KQualityFloor(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on MovieLens-100K (about a minute)")
	}
	dir := "../../../shared/data/ml-100k"
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("MovieLens-100K not found at %s (it is not redistributed with edgerec): %v", dir, err)
	}
	ds, err := dataset.Load(dir, dataset.FormatMovieLens100K)
	if err != nil {
		t.Fatal(err)
	}
	s, err := eval.TemporalSplit(ds, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	pop := eval.Evaluate(s, eval.Popularity(s))
	cfg := train.DefaultConfig()
	cfg.Workers = 2 // reproducible figures whatever the machine
	m := &eval.TwoTower{Towers: &eval.Towers{Config: cfg, Ranker: train.DefaultRankerConfig()}}
	rank, err := m.Fit(s)
	if err != nil {
		t.Fatal(err)
	}
	tt := eval.Evaluate(s, rank)
	t.Logf("ML-100K, %d test users: Recall@20 two-tower %.4f (floor %.2f), popularity %.4f; %s",
		tt.Users, tt.Metrics["recall@20"], ml100kFloor, pop.Metrics["recall@20"], m.Describe())
	if got := tt.Metrics["recall@20"]; got < ml100kFloor || got < pop.Metrics["recall@20"] {
		t.Errorf("two-tower Recall@20 %.4f is below the floor %.2f or popularity's %.4f", got, ml100kFloor, pop.Metrics["recall@20"])
	}
}
