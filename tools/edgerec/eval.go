package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/edgerec/edgerec/tools/dataset"
	"github.com/edgerec/edgerec/tools/eval"
	"github.com/edgerec/edgerec/tools/train"
)

// evalQuantile is the cut of the global temporal split.
const evalQuantile = 0.9

// ciMethod describes the intervals for the report.
var ciMethod = fmt.Sprintf("95%% per-user bootstrap percentile interval (%d resamples, seed %d)", eval.Resamples, eval.BootstrapSeed)

func runEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval", "eval --data PATH --format F [--models LIST] [--rolling] [--json] [--plot FILE] [flags]", `
Evaluate models offline on a global temporal split: train on the interactions
before the 0.9 quantile T of all timestamps, and for each user with training
history, rank every training item (leaving out the history) and compare the
top K with the user's items after T that appear in training and not in the
history. Every model is fitted and scored on the same split in the same run:

`+eval.ModelHelp()+`
Reported: Recall@K, NDCG@K and HR@K for K = 10, 20, 50, next-item HR@10 (is
the user's first target in the top 10; targets sharing a timestamp count in
item-id order, not file order), catalog coverage@20 (share of the training
items in some user's top 20), ILD@10 (category diversity of the top 10;
left out, "–", when no item has categories), and beside NDCG@10 and Recall@20 their
95% interval: a per-user bootstrap percentile interval (`+strconv.Itoa(eval.Resamples)+` resamples, fixed
seed). With few test users, read small differences as noise.

--rolling adds the mean over 5 cuts at quantiles 0.80, 0.825, 0.85, 0.875 and
0.90, each tested on the window up to the next cut (the last up to 0.925).

Formats (--format; --data is the directory):

`+dataset.FormatHelp()+`
--format csv reads any CSV/TSV interaction log: --data is then the file and
--user-col, --item-col and --time-col name its columns; --items and --users
add optional item and user tables. Progress goes to stderr.`)
	data := fs.String("data", "", "data set directory (with --format csv: the interaction file)")
	format := fs.String("format", dataset.FormatEdgerec, "data set format: "+strings.Join(append(dataset.Formats(), dataset.FormatCSV), ", "))
	csvf := addCSVFlags(fs)
	modelList := fs.String("models", strings.Join(eval.DefaultModelNames(), ","), "models to evaluate, comma-separated: "+strings.Join(eval.ModelNames(), ", "))
	coldShare := fs.Float64("cold-start", 0, "also measure cold start: hold this share of the items out of training (e.g. 0.1) and rank them for their later users by content alone, with twotower and pipeline, among the held-out items only and among the whole catalog")
	rolling := fs.Bool("rolling", false, "also run the rolling evaluation over 5 cut points (fits every model 5 more times)")
	jsonOut := fs.Bool("json", false, "print the results as JSON on stdout (the split report goes to stderr)")
	plot := fs.String("plot", "", "write an SVG chart of Recall@K against K per model to this file")
	seedList := fs.String("seeds", "", "train the two-tower models once per seed (comma-separated, e.g. 1,2,3) and report each model's mean ± standard deviation over them; models that do not depend on the seed are fitted once (the main split only: --rolling and --cold-start train at --seed)")
	doTune := fs.Bool("tune", false, "choose the training settings first (edgerec tune on the split's training part, so the test window stays unseen) and train twotower and pipeline with them; not with --rolling, whose earlier cuts test inside that training part")
	tf := addTuneFlags(fs)
	trainConfig := trainFlags(fs) // twotower, pipeline
	noBlendGuard := fs.Bool("rank-no-blend-guard", false, "pipeline: ship the ranker when it beats the sources' retrieval order on its held-out lists, even if it does not beat their reciprocal-rank blend (served without a ranker)")
	minLists := fs.Int("rank-min-lists", train.DefaultRankerConfig().MinLists, "pipeline: the fewest training lists (users with a target among their candidates) a ranker is trained on; with fewer the pipeline is served without one")
	depth := fs.Int("rank-depth", train.DefaultRankerConfig().Depth, "pipeline: retrieved candidates the ranker re-scores")
	rankLoss := fs.String("rank-loss", train.DefaultRankerConfig().Loss, "pipeline: the ranker's training loss over each user's candidates: "+strings.Join(train.Losses, ", "))
	coldDrop := fs.Float64("rank-cold-dropout", train.DefaultRankerConfig().ColdDropout, "pipeline: share of the ranker's training candidates presented as new items (their popularity and log-based sources unknown), so that it learns to order new items by content")
	neighbours := fs.Int("knn-neighbours", eval.DefaultNeighbours, "itemknn: neighbours kept per item (-1 = all)")
	easeMax := fs.Int("ease-max-items", 0, fmt.Sprintf("ease: use only this many most popular items (0 = every training item whose fit fits in --ease-memory, at most %d)", eval.MaxEASEItems))
	easeMem := fs.Float64("ease-memory", float64(eval.DefaultEASEMemory)/(1<<30), "ease: memory budget of one fit in GiB (n items, u users: n²·4 bytes of weights plus n²·16 or, when there are fewer users than items, u²·16 + u·n·8 bytes of work); the most popular items that fit are kept")
	lambdas := fs.String("ease-lambdas", joinFloats(eval.DefaultLambdas), "ease: λ grid tuned on a validation split of the training part (one value: no tuning)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "data"); err != nil {
		return err
	}
	if err := checkCSVFlags(fs, *format); err != nil {
		return err
	}
	if *format != dataset.FormatCSV && !slices.Contains(dataset.Formats(), *format) {
		return usagef("--format %q: valid formats are %s", *format, strings.Join(append(dataset.Formats(), dataset.FormatCSV), ", "))
	}
	names, err := parseModels(*modelList)
	if err != nil {
		return err
	}
	grid, err := parseFloats(*lambdas)
	if err != nil || len(grid) == 0 {
		return usagef("--ease-lambdas %q: want positive numbers, comma-separated", *lambdas)
	}
	if *easeMax < 0 || *easeMax > eval.MaxEASEItems {
		return usagef("--ease-max-items %d: want a number in [0, %d] (0: no cap beyond --ease-memory)", *easeMax, eval.MaxEASEItems)
	}
	if !(*easeMem > 0) || *easeMem > 1<<20 {
		return usagef("--ease-memory %g: want a positive number of GiB", *easeMem)
	}
	if *neighbours == 0 || *neighbours < -1 {
		return usagef("--knn-neighbours %d: want a positive number, or -1 for all", *neighbours)
	}
	tc, err := trainConfig()
	if err != nil {
		return err
	}
	if *doTune && *rolling {
		return usagef("--tune with --rolling: the rolling cuts' test windows lie inside the training part the search would score on; tune with edgerec tune --holdout instead")
	}
	if *doTune && !slices.ContainsFunc(names, seeded) {
		return usagef("--tune chooses the two-tower's settings: add twotower or a pipeline model to --models")
	}
	seeds := []int64{tc.Seed}
	if *seedList != "" {
		if seeds, err = parseSeeds(*seedList); err != nil {
			return err
		}
	}
	rc := train.DefaultRankerConfig()
	rc.Depth, rc.Loss, rc.ColdDropout, rc.NoBlendGuard, rc.MinLists = *depth, *rankLoss, *coldDrop, *noBlendGuard, *minLists
	if err := rc.Validate(); err != nil {
		return usagef("%v", err)
	}
	opts := eval.Options{Train: tc, Ranker: rc, Neighbours: *neighbours, Lambdas: grid, EASEMaxItems: *easeMax, EASEMemory: int64(*easeMem * (1 << 30)), Log: stderr}
	if *format == dataset.FormatCSV {
		if _, err := csvf.options(); err != nil {
			return err
		}
	}

	ds, err := loadAnyData(*data, *format, csvf, stderr)
	if err != nil {
		return err
	}
	split, err := eval.TemporalSplit(ds, evalQuantile)
	if err != nil {
		return err
	}
	report := stdout
	if *jsonOut {
		report = stderr
	}
	st := split.Stats()
	writeSplitReport(report, ds, *format, st)

	var tuning string
	if *doTune {
		r, err := tf.search(split.Train, opts.Train, stderr)
		if err != nil {
			return err
		}
		opts.Train, tuning = r.Config, tuned(r)
		fmt.Fprintln(report, tuning)
	}
	bySeed, err := evalSeeds(split, names, opts, seeds, stderr)
	if err != nil {
		return err
	}
	runs := bySeed[0]
	var cuts []evalCut
	if *rolling {
		splits, err := eval.RollingSplits(ds)
		if err != nil {
			return err
		}
		for i, s := range splits {
			fmt.Fprintf(stderr, "rolling cut %d/%d: quantile %g to %g, %d test users\n", i+1, len(splits), s.Quantile, s.EndQuantile, len(s.Users))
			r, err := evalModels(s, names, opts, stderr)
			if err != nil {
				return fmt.Errorf("rolling cut %d: %w", i+1, err)
			}
			cuts = append(cuts, evalCut{stats: s.Stats(), runs: r})
		}
	}

	var cold *eval.ColdResult
	if *coldShare != 0 {
		fmt.Fprintf(stderr, "cold start: training without %.0f%% of the items\n", 100**coldShare)
		if cold, err = eval.ColdStart(ds, *coldShare, opts.Train, opts.Ranker, stderr); err != nil {
			return fmt.Errorf("cold start: %w", err)
		}
	}

	if *plot != "" {
		if err := writePlot(*plot, ds.Name, st, runs); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %s\n", *plot)
	}
	if *jsonOut {
		cfg := map[string]any{
			"args": args, "models": names, "split_quantile": evalQuantile, "rolling": *rolling, "cold_start": *coldShare,
			"train": opts.Train, "ranker": opts.Ranker, "knn_neighbours": opts.Neighbours,
			"ease":  map[string]any{"lambdas": opts.Lambdas, "max_items": opts.EASEMaxItems, "memory_bytes": opts.EASEMemory},
			"seeds": seeds, "tuned": tuning,
		}
		return writeEvalJSON(stdout, ds, *format, st, runs, bySeed, seeds, cuts, cold, cfg)
	}
	writeEvalTable(stdout, runs)
	if len(seeds) > 1 {
		writeSeedTable(stdout, seeds, bySeed)
	}
	if len(cuts) > 0 {
		writeRollingTable(stdout, cuts)
	}
	if cold != nil {
		writeColdTable(stdout, cold)
	}
	return nil
}

// writeColdTable prints the cold-start figures, one row per model and
// scale.
func writeColdTable(w io.Writer, cold *eval.ColdResult) {
	fmt.Fprintf(w, "\ncold start: %d items held out of training; %d test users with %d targets among them\n", cold.ColdItems, cold.Users, cold.Targets)
	fmt.Fprintf(w, "recall@20 over those targets, held-out items embedded from content only; cold-only ranks the %d held-out items, catalog all %d items (the warm table's scale)\n", cold.ColdItems, cold.Catalog)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "model\tranked\trecall@20 [95% bootstrap CI]\tcontent-blind (random)")
	for _, f := range cold.Figures {
		if f.Note != "" {
			fmt.Fprintf(tw, "%s\t%s\t%s\t\n", f.Model, f.Scale, f.Note)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%.4f [%.4f, %.4f]\t%.4f\n", f.Model, f.Scale, f.Recall20, f.CI[0], f.CI[1], f.Random20)
	}
	tw.Flush()
}

// metricCell formats metric k of m, or "–" when the run does not report it
// (ILD@10 without item categories).
func metricCell(m map[string]float64, k string) string {
	v, ok := m[k]
	if !ok {
		return "–"
	}
	return fmt.Sprintf("%.4f", v)
}

// evalRun is one model's fit and result on one split.
type evalRun struct {
	name      string
	res       eval.Result
	fit, eval time.Duration
	notes     string
}

// evalCut is one rolling cut's split and results.
type evalCut struct {
	stats eval.SplitStats
	runs  []evalRun
}

// evalModels fits and scores each named model on s.
func evalModels(s *eval.Split, names []string, opts eval.Options, stderr io.Writer) ([]evalRun, error) {
	var runs []evalRun
	// twotower and pipeline share one training per split.
	opts.Shared = &eval.Towers{Config: opts.Train, Ranker: opts.Ranker, Log: opts.Log}
	for _, name := range names {
		m, err := eval.NewModel(name, opts)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(stderr, "%s: fitting on %d training events\n", name, len(s.Train.Interactions))
		start := time.Now()
		rank, err := m.Fit(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		r := evalRun{name: name, fit: time.Since(start)}
		start = time.Now()
		r.res = eval.Evaluate(s, rank)
		r.eval = time.Since(start)
		if d, ok := m.(eval.Describer); ok {
			r.notes = d.Describe()
		}
		fmt.Fprintf(stderr, "%s: fitted in %.1fs, evaluated %d users in %.1fs: recall@20 %.4f, ndcg@10 %.4f\n",
			name, r.fit.Seconds(), r.res.Users, r.eval.Seconds(), r.res.Metrics["recall@20"], r.res.Metrics["ndcg@10"])
		runs = append(runs, r)
	}
	return runs, nil
}

// parseModels splits a comma-separated model list and checks each name.
func parseModels(list string) ([]string, error) {
	var names []string
	for n := range strings.SplitSeq(list, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if !slices.Contains(eval.ModelNames(), n) {
			return nil, usagef("--models: unknown model %q (valid models: %s)", n, strings.Join(eval.ModelNames(), ", "))
		}
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return nil, usagef("--models is empty (valid models: %s)", strings.Join(eval.ModelNames(), ", "))
	}
	return names, nil
}

// logUsers counts the distinct users of the interaction log, which is
// what a data set without a user table has.
func logUsers(ds *dataset.Dataset) int {
	seen := map[string]bool{}
	for _, in := range ds.Interactions {
		seen[in.User] = true
	}
	return len(seen)
}

func writeSplitReport(w io.Writer, ds *dataset.Dataset, format string, st eval.SplitStats) {
	table := "no user table"
	if len(ds.Users) > 0 {
		table = fmt.Sprintf("%d in the user table", len(ds.Users))
	}
	fmt.Fprintf(w, "data: %s (%s): %d users (%s), %d items, %d interactions\n", ds.Name, format, logUsers(ds), table, len(ds.Items), len(ds.Interactions))
	fmt.Fprintf(w, "split: global temporal at the %g quantile, T = %s (Unix %d)\n", st.Quantile, st.TDate, st.T)
	fmt.Fprintf(w, "  train: %d users, %d items, %d events (ts < T; first interaction of each user-item pair)\n", st.TrainUsers, st.TrainItems, st.TrainEvents)
	fmt.Fprintf(w, "  test:  %d users, %d targets, %.2f targets per user (mean), %.1f history items per user (mean)\n", st.TestUsers, st.Targets, st.MeanTargets, st.MeanHistory)
	fmt.Fprintf(w, "  intervals: %s\n\n", ciMethod)
}

func writeEvalTable(w io.Writer, runs []evalRun) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "model\trecall@10\trecall@20 [95% bootstrap CI]\trecall@50\tndcg@10 [95% bootstrap CI]\tndcg@20\tndcg@50\thr@10\thr@20\thr@50\tnext-hr@10\tcoverage@20\tild@10\tfit")
	for _, r := range runs {
		m, ci := r.res.Metrics, r.res.CI
		fmt.Fprintf(tw, "%s\t%.4f\t%.4f [%.4f, %.4f]\t%.4f\t%.4f [%.4f, %.4f]\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%s\t%.1fs\n",
			r.name, m["recall@10"], m["recall@20"], ci["recall@20"][0], ci["recall@20"][1], m["recall@50"],
			m["ndcg@10"], ci["ndcg@10"][0], ci["ndcg@10"][1], m["ndcg@20"], m["ndcg@50"],
			m["hr@10"], m["hr@20"], m["hr@50"], m[eval.NextHR10], m[eval.Coverage20], metricCell(m, eval.ILD10), r.fit.Seconds())
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, r := range runs {
		if r.notes != "" {
			fmt.Fprintf(w, "%s: %s\n", r.name, r.notes)
		}
	}
}

// rollingMean averages each model's metrics and fit time over the cuts.
func rollingMean(cuts []evalCut) []evalRun {
	mean := make([]evalRun, len(cuts[0].runs))
	for i, r := range cuts[0].runs {
		mean[i] = evalRun{name: r.name, res: eval.Result{Metrics: map[string]float64{}}}
	}
	for _, c := range cuts {
		for i, r := range c.runs {
			for k, v := range r.res.Metrics {
				mean[i].res.Metrics[k] += v / float64(len(cuts))
			}
			mean[i].fit += r.fit / time.Duration(len(cuts))
		}
	}
	return mean
}

func writeRollingTable(w io.Writer, cuts []evalCut) {
	fmt.Fprintf(w, "\nrolling evaluation: %d cuts, each tested up to the next cut (the last up to the %g quantile)\n", len(cuts), eval.RollingEnd)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "cut\tquantiles\tT\tend\ttrain events\ttest users\ttargets per user")
	for i, c := range cuts {
		s := c.stats
		fmt.Fprintf(tw, "%d\t%g–%g\t%s\t%s\t%d\t%d\t%.2f\n", i+1, s.Quantile, s.EndQuantile, s.TDate, s.EndDate, s.TrainEvents, s.TestUsers, s.MeanTargets)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nmean over the cuts (per-cut values and intervals: --json)\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "model\trecall@10\trecall@20\trecall@50\tndcg@10\tndcg@20\tndcg@50\thr@10\thr@20\thr@50\tnext-hr@10\tcoverage@20\tild@10\tfit (mean)")
	for _, r := range rollingMean(cuts) {
		m := r.res.Metrics
		fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%s\t%.1fs\n",
			r.name, m["recall@10"], m["recall@20"], m["recall@50"], m["ndcg@10"], m["ndcg@20"], m["ndcg@50"],
			m["hr@10"], m["hr@20"], m["hr@50"], m[eval.NextHR10], m[eval.Coverage20], metricCell(m, eval.ILD10), r.fit.Seconds())
	}
	tw.Flush()
}

// jsonModels renders runs as {"NAME": {"recall@20": x, …, "ndcg@10_ci": [lo, hi], …}}.
func jsonModels(runs []evalRun) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, r := range runs {
		m := map[string]any{"fit_seconds": r.fit.Seconds()}
		if r.res.Users > 0 {
			m["users"] = r.res.Users
		}
		if r.eval > 0 {
			m["eval_seconds"] = r.eval.Seconds()
		}
		for k, v := range r.res.Metrics {
			m[k] = v
		}
		for k, v := range r.res.CI {
			m[k+"_ci"] = v
		}
		if r.notes != "" {
			m["notes"] = r.notes
		}
		out[r.name] = m
	}
	return out
}

// writeEvalJSON writes the results; cfg records what produced them (the
// command line, the resolved training and model settings).
func writeEvalJSON(w io.Writer, ds *dataset.Dataset, format string, st eval.SplitStats, runs []evalRun, bySeed [][]evalRun, seeds []int64, cuts []evalCut, cold *eval.ColdResult, cfg map[string]any) error {
	order := make([]string, len(runs))
	for i, r := range runs {
		order[i] = r.name
	}
	doc := map[string]any{
		"data":   map[string]any{"name": ds.Name, "format": format, "users": logUsers(ds), "user_table": len(ds.Users), "items": len(ds.Items), "interactions": len(ds.Interactions)},
		"config": cfg,
		"split":  st,
		"ci":     ciMethod,
		"order":  order,
		"models": jsonModels(runs),
	}
	if len(seeds) > 1 {
		per := map[string]any{}
		for i, s := range seeds {
			per[strconv.FormatInt(s, 10)] = jsonModels(bySeed[i])
		}
		doc["seeds"] = map[string]any{"seeds": seeds, "per_seed": per, "summary": seedSummary(bySeed)}
	}
	if len(cuts) > 0 {
		var per []map[string]any
		for _, c := range cuts {
			per = append(per, map[string]any{"split": c.stats, "models": jsonModels(c.runs)})
		}
		doc["rolling"] = map[string]any{"cuts": per, "mean": jsonModels(rollingMean(cuts))}
	}
	if cold != nil {
		figs := map[string]any{}
		for _, f := range cold.Figures {
			if f.Note != "" {
				figs[f.Model+"/"+f.Scale] = map[string]any{"note": f.Note}
				continue
			}
			figs[f.Model+"/"+f.Scale] = map[string]any{"recall@20": f.Recall20, "recall@20_ci": f.CI, "random_recall@20": f.Random20}
		}
		doc["cold_start"] = map[string]any{"cold_items": cold.ColdItems, "catalog": cold.Catalog, "users": cold.Users, "targets": cold.Targets, "recall@20": figs}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

func writePlot(path, name string, st eval.SplitStats, runs []evalRun) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	names := make([]string, len(runs))
	res := make([]eval.Result, len(runs))
	for i, r := range runs {
		names[i], res[i] = r.name, r.res
	}
	title := fmt.Sprintf("Recall@K on %s, temporal split at %s (%d test users)", name, st.TDate[:min(10, len(st.TDate))], st.TestUsers)
	if err := eval.PlotRecall(f, title, names, res); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func joinFloats(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatFloat(x, 'g', -1, 64)
	}
	return strings.Join(s, ",")
}

func parseFloats(s string) ([]float64, error) {
	var out []float64
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		v, err := strconv.ParseFloat(f, 64)
		if err != nil || !(v > 0) || v > 1e12 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, v)
	}
	return out, nil
}
