package eval_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/edgerec/edgerec/tools/dataset"
	"github.com/edgerec/edgerec/tools/eval"
	"github.com/edgerec/edgerec/tools/train"
)

// floors are the quality floors of the two-tower retrieval with the default
// configuration (seed 1, two workers: a reproducible run) on the real data
// sets in ../shared/data, at the 0.9 temporal cut: the measured figures
// minus a margin for legitimate small changes of the model, and at least
// 0.85× EASE's Recall@20 where the model reaches it (ML-100K and
// latest-small; not Last.fm). README, "Results", has the measurements
// over three seeds.
var floors = []struct {
	dir, format      string
	recall20, ndcg10 float64
}{
	{"ml-100k", dataset.FormatMovieLens100K, 0.16, 0.17},
	{"lastfm-hetrec2k", dataset.FormatLastFMHetRec, 0.085, 0.06},
	{"ml-latest-small", dataset.FormatMovieLensLatest, 0.07, 0.15},
}

// TestQualityFloors trains the two-tower on each real data set present and
// fails if it falls below its floor or below popularity. CI runs it
// whenever ../shared/data is present; a data set that is missing is
// skipped with a message.
func TestQualityFloors(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on three real data sets (a few minutes)")
	}
	for _, f := range floors {
		t.Run(f.dir, func(t *testing.T) {
			dir := filepath.Join("../../../shared/data", f.dir)
			if _, err := os.Stat(dir); err != nil {
				t.Skipf("%s not found at %s (it is not redistributed with edgerec): %v", f.dir, dir, err)
			}
			ds, err := dataset.Load(dir, f.format)
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
			r, n := tt.Metrics["recall@20"], tt.Metrics["ndcg@10"]
			t.Logf("%s, %d test users: two-tower Recall@20 %.4f (floor %.3f, popularity %.4f), NDCG@10 %.4f (floor %.3f, popularity %.4f); %s",
				f.dir, tt.Users, r, f.recall20, pop.Metrics["recall@20"], n, f.ndcg10, pop.Metrics["ndcg@10"], m.Describe())
			if r < f.recall20 || r < pop.Metrics["recall@20"] {
				t.Errorf("two-tower Recall@20 %.4f is below the floor %.3f or popularity's %.4f", r, f.recall20, pop.Metrics["recall@20"])
			}
			if n < f.ndcg10 {
				t.Errorf("two-tower NDCG@10 %.4f is below the floor %.3f", n, f.ndcg10)
			}
		})
	}
}
