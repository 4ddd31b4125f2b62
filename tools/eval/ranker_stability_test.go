package eval

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/pipeline"
	"github.com/edgerec/edgerec/core/rank"
	"github.com/edgerec/edgerec/tools/builder"
	"github.com/edgerec/edgerec/tools/dataset"
	"github.com/edgerec/edgerec/tools/train"
)

// TestRankerStability is a measurement, not a check: how much the
// pipeline's test figures move with the ranker's own seed on the same
// towers, for each ranker configuration asked for (RESULTS.md, "The
// ranker's stability"). On the data set EDGEREC_RANKSTAB (a directory
// under ../shared/data or a path, with EDGEREC_RANKSTAB_FORMAT) it trains
// the towers once per data seed (EDGEREC_RANKSTAB_SEEDS, default 1,2,3),
// retrieves the ranker's lists once per seed, and for every variant of
// EDGEREC_RANKSTAB_VARIANTS (a JSON object: name → RankerConfig fields
// over the defaults; default {"default": {}}) trains a ranker per ranker
// seed (EDGEREC_RANKSTAB_RSEEDS, default 1,2,3) and scores the pipeline
// serving it. It prints, per variant, Recall@20 and NDCG@10 per data and
// ranker seed, their mean, the mean over data seeds of the standard
// deviation over ranker seeds (the ranker's own spread) and the standard
// deviation over data seeds of the per-seed means.
func TestRankerStability(t *testing.T) {
	name := os.Getenv("EDGEREC_RANKSTAB")
	if name == "" {
		t.Skip("set EDGEREC_RANKSTAB (and EDGEREC_RANKSTAB_FORMAT) to measure the ranker's spread")
	}
	dir := filepath.Join("../../../shared/data", name)
	if _, err := os.Stat(name); err == nil {
		dir = name
	}
	ds, err := dataset.Load(dir, os.Getenv("EDGEREC_RANKSTAB_FORMAT"))
	if err != nil {
		t.Skipf("%s: %v", dir, err)
	}
	s, err := TemporalSplit(ds, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	seeds := envInts(t, "EDGEREC_RANKSTAB_SEEDS", []int{1, 2, 3})
	rseeds := envInts(t, "EDGEREC_RANKSTAB_RSEEDS", []int{1, 2, 3})
	raw := map[string]json.RawMessage{"default": json.RawMessage("{}")}
	if v := os.Getenv("EDGEREC_RANKSTAB_VARIANTS"); v != "" {
		raw = nil
		if err := json.Unmarshal([]byte(v), &raw); err != nil {
			t.Fatalf("EDGEREC_RANKSTAB_VARIANTS: %v", err)
		}
	}
	names := make([]string, 0, len(raw))
	for n := range raw {
		names = append(names, n)
	}
	slices.Sort(names)
	configs := map[string]train.RankerConfig{}
	for _, n := range names {
		c := train.DefaultRankerConfig()
		if err := json.Unmarshal(raw[n], &c); err != nil {
			t.Fatalf("variant %s: %v", n, err)
		}
		must(t, c.Validate())
		configs[n] = c
	}
	type cell struct{ recall, ndcg float64 }
	// got[variant][data seed index][ranker seed index]
	got := map[string][][]cell{}
	blend := make([]cell, len(seeds))
	for si, seed := range seeds {
		cfg := train.DefaultConfig()
		cfg.Seed, cfg.Workers = int64(seed), 2
		towers := &Towers{Config: cfg, Ranker: train.DefaultRankerConfig()}
		must(t, towers.fit(s, "pipeline"))
		if towers.run.Holdout == nil {
			t.Fatal("no validation window: no ranker to measure")
		}
		tm := *towers.run.Model
		tm.Ranker = nil
		b, err := builder.Build(&tm, s.Train, builder.Options{})
		must(t, err)
		score := func(r *rank.Model) cell {
			b.Ranker = r
			data, err := bundle.Encode(b)
			must(t, err)
			rec, err := pipeline.Load(data)
			must(t, err)
			res := Evaluate(s, Pipeline(rec, s.Train.Users))
			return cell{res.Metrics["recall@20"], res.Metrics["ndcg@10"]}
		}
		blend[si] = score(nil)
		t.Logf("seed %d: blend %.4f / %.4f", seed, blend[si].recall, blend[si].ndcg)
		for _, n := range names {
			row := make([]cell, len(rseeds))
			for ri, rs := range rseeds {
				c := configs[n]
				c.Seed = int64(rs)
				start := time.Now()
				r, rep, err := towers.fitRanker(c)
				must(t, err)
				row[ri] = score(r)
				t.Logf("seed %d %s ranker seed %d: %.4f / %.4f (used %v, epoch %d, held-out R@20 %.4f, blend %.4f; %d lists; %.1fs)",
					seed, n, rs, row[ri].recall, row[ri].ndcg, rep.Used, rep.BestEpoch, rep.RankerRecall20, rep.BlendRecall20, rep.Lists, time.Since(start).Seconds())
			}
			got[n] = append(got[n], row)
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n%s, data seeds %v × ranker seeds %v; Recall@20 / NDCG@10\n", name, seeds, rseeds)
	var br, bn []float64
	for _, c := range blend {
		br, bn = append(br, c.recall), append(bn, c.ndcg)
	}
	fmt.Fprintf(&sb, "%-24s mean %.4f / %.4f  (per seed %v / %v)\n", "blend (no ranker)", mean(br), mean(bn), round4(br), round4(bn))
	for _, n := range names {
		var all []cell
		var seedR, seedN, sdR, sdN []float64
		var cells []string
		for _, row := range got[n] {
			var r, nd []float64
			for _, c := range row {
				r, nd = append(r, c.recall), append(nd, c.ndcg)
				cells = append(cells, fmt.Sprintf("%.3f/%.3f", c.recall, c.ndcg))
			}
			all = append(all, row...)
			seedR, seedN = append(seedR, mean(r)), append(seedN, mean(nd))
			sdR, sdN = append(sdR, sd(r)), append(sdN, sd(nd))
		}
		fmt.Fprintf(&sb, "%-24s mean %.4f / %.4f  ranker-seed sd %.4f / %.4f  data-seed sd %.4f / %.4f  per seed N@10 %v  [%s]\n",
			n, mean(seedR), mean(seedN), mean(sdR), mean(sdN), sd(seedR), sd(seedN), round4(seedN), strings.Join(cells, " "))
	}
	t.Log(sb.String())
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func envInts(t *testing.T, key string, def []int) []int {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		out = append(out, n)
	}
	return out
}

// sd is the sample standard deviation (0 for fewer than two values).
func sd(v []float64) float64 {
	if len(v) < 2 {
		return 0
	}
	m := mean(v)
	var s float64
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	return math.Sqrt(s / float64(len(v)-1))
}

func round4(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = math.Round(x*10000) / 10000
	}
	return out
}
