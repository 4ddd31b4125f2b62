package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"

	"github.com/edgerec/edgerec/tools/builder"
	"github.com/edgerec/edgerec/tools/report"
	"github.com/edgerec/edgerec/tools/sim"
	"github.com/edgerec/edgerec/tools/train"
)

const simAbout = `
Simulate the loop end to end (tools/sim): draw a synthetic data set with
hidden tastes (edgerec synth's generator), train towers on it, build a
bundle with two experiment arms, start an edge node on a loopback port
with events on, and let --users of the data set's users each ask for
--lists lists of --k. Each user takes an item at position p with
probability p^-η · take-max · exp(β·(affinity − best)) from its hidden
taste alone, posts its takes to /v1/events, and sends the rest back as
impressions; the node logs every list it served. Then the stored Parquet
events are read as edgerec report reads them, and the report's verdict
is checked against the truth the simulator knows (each arm's expected
take rate). Exit status 1 when the report finds no better arm or the
wrong one.

Then round 2 (--retrain, on by default): a bundle trained with round 1's
events (as edgerec train --events trains one: takes as interactions,
the logged lists as the ranker's, the demotion learned) and one trained
without (edgerec train: the same towers, a ranker from the data alone)
are each served to the same users, who send what they took in round 1 as
history and draw as in round 1. It prints both bundles' expected and
observed take rates and the difference with a 95% interval (a paired
bootstrap over users); exit status 1 when the bundle trained with events
does not raise the take rate with an interval that excludes zero.

The default arms are "control" (the bundle's defaults) and
"popular-only" (two-tower, co-visitation and item-to-item sources off).
--arms takes a rules file whose "arms" replace them (bundles/FORMAT.md
§5.8, edgerec bundle build --rules); the first is the baseline.`

type simOptions struct {
	cfg        sim.Config
	wasm, out  string
	arms, plot string
	json       bool
}

func runSim(args []string, stdout, stderr io.Writer) error {
	o, err := parseSim(args)
	if err != nil {
		return err
	}
	if o.out == "" {
		dir, err := os.MkdirTemp("", "edgerec-sim-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		o.cfg.Dir = dir
	} else {
		o.cfg.Dir = o.out
	}
	_, wasm, err := readModule(o.wasm)
	if err != nil {
		return err
	}
	o.cfg.Wasm = wasm
	progress := progressf(nil)
	if isTerminal(stderr) {
		progress = progressf(stderr)
	}
	o.cfg.Progress = func(stage string, done, total int) {
		if stage == "serve" {
			progress("sim: serving users %d/%d", done, total)
			return
		}
		progress("sim: %s", stage)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := sim.Run(ctx, o.cfg)
	progress("")
	if err != nil {
		return err
	}
	if o.plot != "" {
		if err := writeReportPlot(o.plot, res.Report); err != nil {
			return err
		}
	}
	if o.json {
		if err := writeJSON(stdout, res); err != nil {
			return err
		}
	} else if err := writeSim(stdout, &o.cfg, res); err != nil {
		return err
	}
	if !res.Right {
		found := "no better arm"
		if res.Found != "" {
			found = fmt.Sprintf("%q better", res.Found)
		}
		return fmt.Errorf("the report finds %s; in truth %q is better: more users (--users, --lists) or arms that differ more (--arms)", found, res.Truth)
	}
	if rt := res.Retrain; rt != nil && !rt.Better {
		return fmt.Errorf("round 2: the bundle trained with events does not raise the take rate detectably (%+.2f points, 95%% CI [%+.2f, %+.2f]; expected %+.2f)",
			100*rt.Diff, 100*rt.DiffLo, 100*rt.DiffHi, 100*rt.ExpectedDiff)
	}
	return nil
}

func parseSim(args []string) (simOptions, error) {
	fs := newFlags("sim", "sim [--users N] [--lists N] [--arms FILE] [--out DIR] [--json] [--plot FILE] [flags]", simAbout)
	def := sim.DefaultConfig()
	o := simOptions{cfg: def}
	c := &o.cfg
	fs.StringVar(&o.wasm, "wasm", "", "recommender.wasm (default: beside the edgerec binary, else bin/recommender.wasm)")
	fs.StringVar(&o.out, "out", "", "keep the bundle and the events in this directory (DIR/sim.bundle, DIR/events, which must not hold events already); default: a temporary one, removed")
	fs.StringVar(&o.arms, "arms", "", "a rules file (JSON) whose arms replace the default ones; the first is the baseline")
	fs.IntVar(&c.Users, "users", def.Users, "simulated users, drawn from the data set's")
	fs.IntVar(&c.Lists, "lists", def.Lists, "lists each user asks for")
	fs.IntVar(&c.K, "k", def.K, "items per list")
	fs.IntVar(&c.Synth.Users, "synth-users", def.Synth.Users, "users in the synthetic data set the towers are trained on")
	fs.IntVar(&c.Synth.Items, "items", def.Synth.Items, "items in the synthetic catalog")
	fs.IntVar(&c.Train.Epochs, "epochs", def.Train.Epochs, "training epochs")
	fs.Float64Var(&c.Behaviour.TakeMax, "take-max", 0.5, "probability that a user takes an examined item wholly of its favourite topic")
	fs.Float64Var(&c.Behaviour.PositionBias, "position-bias", 1, "η: position p is examined with probability p^-η (0: no position bias)")
	seed := fs.Uint64("seed", def.Seed, "seed of the users' draws, the data set and the bootstrap")
	fs.IntVar(&c.Bootstrap, "bootstrap", def.Bootstrap, "resamples of users behind the verdict's interval (0: Newcombe's interval)")
	fs.IntVar(&c.Workers, "workers", 0, "users asking at once (default: GOMAXPROCS, at least 2)")
	fs.BoolVar(&c.Retrain, "retrain", def.Retrain, "round 2: train a bundle with round 1's events and one without, serve each to the same users, compare their take rates")
	fs.IntVar(&c.Events.MinImpressions, "events-min-impressions", def.Events.MinImpressions, "round 2: fewest items shown for the ranker to learn from the events (edgerec train --events-min-impressions)")
	fs.StringVar(&c.Events.Propensity, "events-propensity", def.Events.Propensity, "round 2: position bias correction (edgerec train --events-propensity)")
	fs.BoolVar(&o.json, "json", false, "print the result (the report, the simulator's per-arm truth) as JSON")
	fs.StringVar(&o.plot, "plot", "", "also write the report's SVG plot to this file")
	if err := parse(fs, args); err != nil {
		return o, err
	}
	c.Seed = *seed
	c.Synth.Seed, c.Train.Seed, c.Ranker.Seed = int64(*seed), int64(*seed), int64(*seed)
	if o.arms != "" {
		r, err := builder.LoadRules(o.arms)
		if err != nil {
			return o, err
		}
		if len(r.Arms) < 2 {
			return o, usagef("--arms %s: %d arms; the simulation compares two or more", o.arms, len(r.Arms))
		}
		c.Arms = r.Arms
	}
	switch {
	case c.Users < 1 || c.Users > c.Synth.Users:
		return o, usagef("--users %d out of range [1, %d] (at most --synth-users)", c.Users, c.Synth.Users)
	case c.Lists < 1 || c.Lists > sim.MaxLists:
		return o, usagef("--lists %d out of range [1, %d]", c.Lists, sim.MaxLists)
	case !(c.Behaviour.TakeMax > 0 && c.Behaviour.TakeMax <= 1):
		return o, usagef("--take-max %g out of range (0, 1]", c.Behaviour.TakeMax)
	case !(c.Behaviour.PositionBias >= 0):
		return o, usagef("--position-bias must not be negative")
	case c.Bootstrap < 0 || c.Bootstrap > 100000:
		return o, usagef("--bootstrap %d out of range [0, 100000]", c.Bootstrap)
	case c.Workers < 0:
		return o, usagef("--workers must not be negative")
	}
	if err := c.Events.Validate(); err != nil {
		return o, usagef("%v", err)
	}
	// Beta is the data set's: the users choose as the generator made them.
	c.Behaviour.Beta = c.Synth.Beta
	return o, nil
}

// writeSim prints what was simulated, each arm's truth beside what the
// events show, the report, and whether it found the better arm.
func writeSim(w io.Writer, cfg *sim.Config, res *sim.Result) error {
	names := make([]string, len(res.Arms))
	for i, a := range res.Arms {
		names[i] = a.Name
	}
	fmt.Fprintf(w, "edgerec sim: %d users × %d lists of %d from arms %s, served by an edge node on loopback; train %.1fs, serve %.1fs (%d lists, %d failed), report %.1fs\n\n",
		cfg.Users, cfg.Lists, cfg.K, strings.Join(names, ", "), res.TrainSeconds, res.ServeSeconds, res.Requests, res.Failed, res.ReportSeconds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "arm\tusers\tlists\timpressions\ttakes\texpected rate\tobserved\t")
	for _, a := range res.Arms {
		obs := 0.0
		if a.Impressions > 0 {
			obs = float64(a.Takes) / float64(a.Impressions)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%.2f%%\t%.2f%%\t\n", a.Name, a.Users, a.Lists, a.Impressions, a.Takes, 100*a.Expected, 100*obs)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nedgerec report --events %s:\n\n", res.EventsDir)
	if err := report.WriteText(w, res.Report); err != nil {
		return err
	}
	switch {
	case res.Right:
		fmt.Fprintf(w, "\nsim: the report finds %q better, as it is in truth.\n", res.Found)
	case res.Found == "":
		fmt.Fprintf(w, "\nsim: the report finds no better arm; in truth %q is.\n", res.Truth)
	default:
		fmt.Fprintf(w, "\nsim: the report finds %q better; in truth %q is.\n", res.Found, res.Truth)
	}
	if rt := res.Retrain; rt != nil {
		return writeRetrain(w, rt)
	}
	return nil
}

// writeRetrain prints round 2: the bundles trained without and with round
// 1's events, served to the same users.
func writeRetrain(w io.Writer, rt *sim.RetrainResult) error {
	fmt.Fprintf(w, "\nround 2: a bundle trained with round 1's events (edgerec train --events) against one trained without, each served to the same users with the same draws; train %.1fs, serve %.1fs\n\n",
		rt.TrainSeconds, rt.ServeSeconds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "bundle\tusers\tlists\timpressions\ttakes\texpected rate\tobserved\tranker\t")
	for _, r := range []struct {
		a   sim.ArmResult
		rep *train.RankerReport
	}{{rt.Without, rt.RankerWithout}, {rt.With, rt.RankerWith}} {
		a := r.a
		obs := 0.0
		if a.Impressions > 0 {
			obs = float64(a.Takes) / float64(a.Impressions)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%.2f%%\t%.2f%%\t%s\t\n", a.Name, a.Users, a.Lists, a.Impressions, a.Takes, 100*a.Expected, 100*obs, rankerSummary(r.rep))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if er := rt.RankerWith; er != nil && er.Events != nil {
		e := er.Events
		fmt.Fprintf(w, "\nevents: %d lists showing %d items, %d taken; ranker lists from them %d (%.0f%% of the shown items found again); propensities %s; demotion %s\n",
			e.Lists, e.Shown, e.Taken, e.RankerLists, 100*e.Found, formatPropensities(e.Propensities), rt.Demotion)
	}
	fmt.Fprintf(w, "\ntake rate with events − without: observed %+.2f points, 95%% CI [%+.2f, %+.2f]; expected %+.2f points [%+.2f, %+.2f] (paired bootstrap over users)\n",
		100*rt.Diff, 100*rt.DiffLo, 100*rt.DiffHi, 100*rt.ExpectedDiff, 100*rt.ExpectedLo, 100*rt.ExpectedHi)
	if rt.Better {
		fmt.Fprintf(w, "sim: training with events raises the take rate.\n")
	} else {
		fmt.Fprintf(w, "sim: training with events does not raise the take rate detectably.\n")
	}
	return nil
}

// rankerSummary says whether a ranker was trained and kept.
func rankerSummary(rep *train.RankerReport) string {
	switch {
	case rep == nil:
		return "none"
	case !rep.Used:
		return fmt.Sprintf("none (%d lists; not better than the blend)", rep.Lists)
	}
	return fmt.Sprintf("%d lists, held-out R@20 %.3f vs blend %.3f", rep.Lists, rep.RankerRecall20, rep.BlendRecall20)
}
