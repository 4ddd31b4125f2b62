package eval_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgerec/edgerec/tools/dataset"
	"github.com/edgerec/edgerec/tools/eval"
	"github.com/edgerec/edgerec/tools/train"
)

// floor is a lower bound on Recall@20 and NDCG@10.
type floor struct{ recall20, ndcg10 float64 }

// floors are the quality floors of the two-tower retrieval and of the
// whole pipeline with the default configuration (seed 1, two workers: a
// reproducible run) on the real data sets in ../shared/data, at the 0.9
// temporal cut: the measured figures minus a margin for legitimate small
// changes of the model and, where the measured figure is above it, no
// lower than 0.85× EASE's Recall@20 for the two-tower and EASE's own
// Recall@20 and NDCG@10 for the pipeline. Seed 1 measured (2026-12-07,
// Adam's step 0.0015, slim over 128 candidates, the prior in the index
// scan, a soup of four rankers; Recall@20 / NDCG@10): MovieLens-100K
// two-tower 0.197 / 0.211, pipeline 0.233 / 0.242; Last.fm 0.124 / 0.082
// and 0.140 / 0.093; latest-small 0.071 / 0.182 and 0.105 / 0.236.
// Last.fm's pipeline floors sit under EASE's (0.123 / 0.090) by a margin,
// as its mean over seeds is only just above EASE's NDCG@10 (0.092), and
// anything that perturbs its ranker's training moves it by ±0.001–0.002
// (it was ±0.006 before that training was made stable, and failed a floor
// of 0.075 on changes that touched nothing it learns from). Latest-small's
// two-tower Recall@20 (27 test users, ±0.018 over seeds) has its floor at
// 0.85× EASE's, 0.057. tools/eval/RESULTS.md has the measurements
// ("Against EASE", "The ranker's stability").
var floors = []struct {
	dir, format        string
	twoTower, pipeline floor
}{
	{"ml-100k", dataset.FormatMovieLens100K, floor{0.18, 0.20}, floor{0.20, 0.22}},
	{"lastfm-hetrec2k", dataset.FormatLastFMHetRec, floor{0.105, 0.065}, floor{0.125, 0.085}},
	{"ml-latest-small", dataset.FormatMovieLensLatest, floor{0.057, 0.15}, floor{0.085, 0.18}},
}

// TestQualityFloors trains the two-tower and its ranker once on each real
// data set present, and fails if the two-tower retrieval or the pipeline
// serving it falls below its floor, or either below popularity's
// Recall@20. CI runs it whenever ../shared/data is present; a data set
// that is missing is skipped with a message.
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
			// One training (towers and ranker) serves both models.
			towers := &eval.Towers{Config: cfg, Ranker: train.DefaultRankerConfig()}
			for _, c := range []struct {
				m     *eval.TwoTower
				floor floor
			}{
				{&eval.TwoTower{Towers: towers}, f.twoTower},
				{&eval.TwoTower{Towers: towers, WithRanker: true}, f.pipeline},
			} {
				start := time.Now()
				rank, err := c.m.Fit(s)
				if err != nil {
					t.Fatal(err)
				}
				res := eval.Evaluate(s, rank)
				r, n := res.Metrics["recall@20"], res.Metrics["ndcg@10"]
				t.Logf("%s, %d test users: %s Recall@20 %.4f (floor %.3f, popularity %.4f), NDCG@10 %.4f (floor %.3f, popularity %.4f), fitted and scored in %.1fs; %s",
					f.dir, res.Users, c.m.Name(), r, c.floor.recall20, pop.Metrics["recall@20"], n, c.floor.ndcg10, pop.Metrics["ndcg@10"], time.Since(start).Seconds(), c.m.Describe())
				if r < c.floor.recall20 || r < pop.Metrics["recall@20"] {
					t.Errorf("%s Recall@20 %.4f is below the floor %.3f or popularity's %.4f", c.m.Name(), r, c.floor.recall20, pop.Metrics["recall@20"])
				}
				if n < c.floor.ndcg10 {
					t.Errorf("%s NDCG@10 %.4f is below the floor %.3f", c.m.Name(), n, c.floor.ndcg10)
				}
			}
		})
	}
}
