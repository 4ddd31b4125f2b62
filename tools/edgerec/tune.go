package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/edgerec/edgerec/tools/dataset"
	"github.com/edgerec/edgerec/tools/eval"
	"github.com/edgerec/edgerec/tools/train"
	"github.com/edgerec/edgerec/tools/tune"
)

// tuneFlags are the search's own flags, shared by tune, train --tune and
// eval --tune.
type tuneFlags struct {
	budget *time.Duration
	trials *int
	eta    *int
	seed   *uint64
	space  *string
}

func addTuneFlags(fs *flag.FlagSet) tuneFlags {
	return tuneFlags{
		budget: fs.Duration("budget", 20*time.Minute, "tuning: wall-time budget of the search (a trial that would pass it is not started; 0 = none)"),
		trials: fs.Int("trials", 9, "tuning: configurations drawn for the first rung of successive halving"),
		eta:    fs.Int("eta", 3, "tuning: each rung keeps the best 1/eta and trains them eta times longer"),
		seed:   fs.Uint64("tune-seed", 1, "tuning: seed of the configurations drawn"),
		space:  fs.String("space", "", "tuning: JSON file of the search space, {\"key\": [values...]} over train config keys (default: edgerec tune --print-space)"),
	}
}

// options returns the search options, reading --space.
func (f tuneFlags) options(stderr io.Writer) (tune.Options, error) {
	opt := tune.Options{Budget: *f.budget, Trials: *f.trials, Eta: *f.eta, Seed: *f.seed}
	if *f.trials < 1 || *f.trials > 1000 {
		return opt, usagef("--trials %d out of range [1, 1000]", *f.trials)
	}
	if *f.eta < 2 || *f.eta > 10 {
		return opt, usagef("--eta %d out of range [2, 10]", *f.eta)
	}
	if *f.budget < 0 {
		return opt, usagef("--budget must not be negative")
	}
	if *f.space != "" {
		b, err := os.ReadFile(*f.space)
		if err != nil {
			return opt, err
		}
		if opt.Space, err = tune.ParseSpace(b); err != nil {
			return opt, fmt.Errorf("%s: %w", *f.space, err)
		}
	}
	opt.Progress = func(t tune.Trial) {
		status := fmt.Sprintf("validation Recall@20 %.4f (best epoch %d)", t.ValRecall, t.BestEpoch)
		if t.Err != "" {
			status = "failed: " + t.Err
		}
		fmt.Fprintf(stderr, "tune: rung %d  trial %-3d %2d epochs  %6.1fs  %s  %s\n", t.Rung, t.ID, t.Epochs, t.Seconds, status, tune.Describe(t.Params))
	}
	return opt, nil
}

// search runs a search on ds from base and reports its outcome on stderr.
func (f tuneFlags) search(ds *dataset.Dataset, base train.Config, stderr io.Writer) (*tune.Result, error) {
	opt, err := f.options(stderr)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "tune: successive halving over %d configurations (eta %d, budget %v) on %s, %d events\n",
		opt.Trials, max(opt.Eta, 2), opt.Budget, ds.Name, len(ds.Interactions))
	r, err := tune.Search(ds, base, opt)
	if err != nil {
		return nil, err
	}
	cut := ""
	if r.Cut {
		cut = " (the budget ended it early)"
	}
	fmt.Fprintf(stderr, "tune: chose trial %d, validation Recall@20 %.4f at %d epochs, after %d trials in %.0fs%s: %s\n",
		r.Best.ID, r.Best.ValRecall, r.Best.Epochs, len(r.Trials), r.Seconds, cut, tune.Describe(r.Best.Params))
	return r, nil
}

// tuned describes a search for a model manifest.
func tuned(r *tune.Result) string {
	return fmt.Sprintf("edgerec tune: successive halving, %d trials in %.0fs, trial %d chosen at validation Recall@20 %.4f: %s",
		len(r.Trials), r.Seconds, r.Best.ID, r.Best.ValRecall, tune.Describe(r.Best.Params))
}

func runTune(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("tune", "tune --data DIR [--format F] --out DIR [--budget 20m] [--trials N] [flags]", `
Choose the two-tower's hyperparameters by successive halving: --trials
configurations are drawn from the search space, each trained for a few
epochs and scored by Recall@20 on the latest --validation share of its
training events; the best 1/eta go on with eta times the epochs, until a
rung trains for --epochs. One line per trial goes to stderr.

The search never sees the window edgerec eval tests on: the latest
--holdout share of the events (eval's split, 0.1 by default) is cut off
first. --out receives config.json (the chosen configuration, for --config
of train and eval), trials.json (every trial) and trials.svg (a plot).
A search is reproducible for --tune-seed, --seed and --workers unless the
budget cuts it short.`)
	dir, format := dataFlags(fs)
	out := fs.String("out", "", "directory for config.json, trials.json and trials.svg")
	holdout := fs.Float64("holdout", 0.1, "share of the latest events cut off before tuning, as edgerec eval's test window (0 = tune on everything)")
	jsonOut := fs.Bool("json", false, "print the search's result as JSON")
	printSpace := fs.Bool("print-space", false, "print the default search space as JSON and exit")
	tf := addTuneFlags(fs)
	config := trainFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *printSpace {
		b, _ := json.MarshalIndent(tune.DefaultSpace(), "", "  ")
		fmt.Fprintln(stdout, string(b))
		return nil
	}
	if err := required(fs, "data", "out"); err != nil {
		return err
	}
	if *holdout < 0 || *holdout >= 0.5 {
		return usagef("--holdout %v out of range [0, 0.5)", *holdout)
	}
	base, err := config()
	if err != nil {
		return err
	}
	ds, err := loadData(*dir, *format, stderr)
	if err != nil {
		return err
	}
	if *holdout > 0 {
		split, err := eval.TemporalSplit(ds, 1-*holdout)
		if err != nil {
			return err
		}
		ds = split.Train
	}
	r, err := tf.search(ds, base, stderr)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	cfgJSON, _ := json.MarshalIndent(r.Config, "", "  ")
	all, _ := json.MarshalIndent(r, "", "  ")
	f, err := os.Create(filepath.Join(*out, "trials.svg"))
	if err != nil {
		return err
	}
	err = tune.Plot(f, fmt.Sprintf("edgerec tune on %s", ds.Name), r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	for name, b := range map[string][]byte{"config.json": cfgJSON, "trials.json": all} {
		if err := os.WriteFile(filepath.Join(*out, name), append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if *jsonOut {
		fmt.Fprintln(stdout, string(all))
		return nil
	}
	fmt.Fprintf(stdout, "wrote %s: config.json (trial %d, validation Recall@20 %.4f, %d epochs), trials.json and trials.svg (%d trials, %.0fs)\n",
		*out, r.Best.ID, r.Best.ValRecall, r.Best.Epochs, len(r.Trials), r.Seconds)
	return nil
}
