package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/edgerec/edgerec/tools/eval"
)

// seeded reports whether model name trains the two-tower, so that its
// figures depend on the training seed.
func seeded(name string) bool {
	return strings.HasPrefix(name, "twotower") || strings.HasPrefix(name, "pipeline")
}

// parseSeeds reads a comma-separated list of distinct seeds.
func parseSeeds(list string) ([]int64, error) {
	var seeds []int64
	for f := range strings.SplitSeq(list, ",") {
		s, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil {
			return nil, usagef("--seeds %q: want integers, comma-separated", list)
		}
		for _, t := range seeds {
			if t == s {
				return nil, usagef("--seeds %q: seed %d twice", list, s)
			}
		}
		seeds = append(seeds, s)
	}
	if len(seeds) == 0 || len(seeds) > 20 {
		return nil, usagef("--seeds %q: want 1 to 20 seeds", list)
	}
	return seeds, nil
}

// evalSeeds runs evalModels once per seed: every model at the first seed,
// then only the seeded ones, whose runs at the later seeds sit beside the
// unseeded models' single run. It returns one run list per seed, in names
// order.
func evalSeeds(s *eval.Split, names []string, opts eval.Options, seeds []int64, stderr io.Writer) ([][]evalRun, error) {
	out := make([][]evalRun, len(seeds))
	var trained []string
	for _, n := range names {
		if seeded(n) {
			trained = append(trained, n)
		}
	}
	for i, seed := range seeds {
		opts.Train.Seed = seed
		list := names
		if i > 0 {
			list = trained
		}
		if len(seeds) > 1 {
			fmt.Fprintf(stderr, "seed %d (%d/%d)\n", seed, i+1, len(seeds))
		}
		runs, err := evalModels(s, list, opts, stderr)
		if err != nil {
			return nil, fmt.Errorf("seed %d: %w", seed, err)
		}
		if i > 0 {
			byName := map[string]evalRun{}
			for _, r := range runs {
				byName[r.name] = r
			}
			runs = runs[:0:0]
			for _, r := range out[0] {
				if t, ok := byName[r.name]; ok {
					r = t
				}
				runs = append(runs, r)
			}
		}
		out[i] = runs
	}
	return out, nil
}

// seedStat is one model's metric over the seeds.
type seedStat struct {
	Mean   float64   `json:"mean"`
	SD     float64   `json:"sd"` // sample standard deviation (0 for one seed)
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Values []float64 `json:"values"`
}

// seedMetrics are the metrics the seed summary reports.
var seedMetrics = []string{"recall@20", "ndcg@10"}

// seedSummary returns, per model and metric, its statistics over the seeds.
func seedSummary(bySeed [][]evalRun) map[string]map[string]seedStat {
	out := map[string]map[string]seedStat{}
	for m, r := range bySeed[0] {
		out[r.name] = map[string]seedStat{}
		for _, k := range seedMetrics {
			st := seedStat{Min: math.Inf(1), Max: math.Inf(-1)}
			for _, runs := range bySeed {
				v := runs[m].res.Metrics[k]
				st.Values = append(st.Values, v)
				st.Mean += v
				st.Min, st.Max = min(st.Min, v), max(st.Max, v)
			}
			n := float64(len(st.Values))
			st.Mean /= n
			if n > 1 {
				for _, v := range st.Values {
					st.SD += (v - st.Mean) * (v - st.Mean)
				}
				st.SD = math.Sqrt(st.SD / (n - 1))
			}
			out[r.name][k] = st
		}
	}
	return out
}

// writeSeedTable prints each model's mean ± standard deviation over the
// seeds, the range, and the ratio of the mean to EASE's when EASE ran.
func writeSeedTable(w io.Writer, seeds []int64, bySeed [][]evalRun) {
	sum := seedSummary(bySeed)
	ease, hasEASE := sum["ease"]
	strs := make([]string, len(seeds))
	for i, s := range seeds {
		strs[i] = strconv.FormatInt(s, 10)
	}
	fmt.Fprintf(w, "\nover seeds %s (mean ± sample standard deviation [min, max]; models that do not train the two-tower are fitted once):\n", strings.Join(strs, ","))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := "model"
	for _, k := range seedMetrics {
		head += "\t" + k
		if hasEASE {
			head += "\t× ease"
		}
	}
	fmt.Fprintln(tw, head)
	for _, r := range bySeed[0] {
		line := r.name
		for _, k := range seedMetrics {
			st := sum[r.name][k]
			line += fmt.Sprintf("\t%.4f ± %.4f [%.4f, %.4f]", st.Mean, st.SD, st.Min, st.Max)
			if hasEASE {
				line += fmt.Sprintf("\t%.2f", st.Mean/ease[k].Mean)
			}
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
}
