package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/edgerec/edgerec/host/events"
	"github.com/edgerec/edgerec/tools/model"
	"github.com/edgerec/edgerec/tools/train"
)

func runTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("train", "train --data DIR [--format F] --out MODELDIR [flags]", `
Train the two-tower model on a data set as the reference notes describe:
the query tower pools the user's history (plain and recency-weighted means
of item-id embeddings shared with the item tower), the seed item, the
user's demographics and attributes and quantile-normalized numeric features;
the item tower embeds item ids, categories, hashed title tokens, price and
item age. The loss is the softmax over in-batch plus uniform corpus
negatives with log-Q correction and accidental-hit masking; early stopping
watches Recall@20 on the latest events, then the model is refit on all of
them. The towers are saved separately in MODELDIR with a manifest.

With --events DIR (what edgerec serve --events logged, host/events/EVENTS.md)
the takes of the data set's users join the interactions at their time,
and, when the events show at least --events-min-impressions items, every
list served to those users trains the ranker too: its request rebuilt as
it stood, the items taken positive (with --events-propensity, weighted
by the inverse of their position's propensity; none by default), those
shown and not taken negative. That ranker carries shown_log, the demotion of items shown and
not taken, learned: the bundle then applies it instead of the hand-set
rule (bundle inspect says which).`)
	dir, format := dataFlags(fs)
	out := fs.String("out", "", "model directory to write")
	printConfig := fs.Bool("print-config", false, "print the effective configuration as JSON and exit")
	noRanker := fs.Bool("no-ranker", false, "do not train the ranker")
	depth := fs.Int("rank-depth", train.DefaultRankerConfig().Depth, "retrieved candidates the ranker re-scores")
	rankLoss := fs.String("rank-loss", train.DefaultRankerConfig().Loss, "the ranker's training loss over each user's candidates: "+strings.Join(train.Losses, ", "))
	rankFolds := fs.Int("rank-folds", train.DefaultRankerConfig().Folds, "folds of the cross-validation that decides whether the ranker ships (0: a held-out share decides; tools/train/CONFIG.md)")
	rankCuts := fs.Int("rank-cuts", train.DefaultRankerConfig().Cuts, "times each validation user is asked for a ranker training list (tools/train/CONFIG.md)")
	rankSoup := fs.Int("rank-soup", train.DefaultRankerConfig().Soup, "rankers from one initialization whose weights are averaged into the one shipped (0 or 1: one; tools/train/CONFIG.md)")
	coldDrop := fs.Float64("rank-cold-dropout", train.DefaultRankerConfig().ColdDropout, "share of the ranker's training candidates presented as new items (their popularity and log-based sources unknown), so that it learns to order new items by content")
	evDir := fs.String("events", "", "a directory of logged events (edgerec serve --events): takes as interactions, impressions as the ranker's training lists")
	evMin := fs.Int("events-min-impressions", train.DefaultEventConfig().MinImpressions, "fewest items shown in the events for the ranker to learn from them (and the demotion with them); fewer: only the takes are used")
	evProp := fs.String("events-propensity", train.DefaultEventConfig().Propensity, "position bias correction: "+train.PropensityRatio+" (take-rate ratios by position in the logs), "+train.PropensityNone+", or propensities of positions 1,2,… from a randomised experiment")
	doTune := fs.Bool("tune", false, "choose the hyperparameters first (edgerec tune, on the latest --validation share of the data) and train with them")
	tf := addTuneFlags(fs)
	config := trainFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := config()
	if err != nil {
		return err
	}
	if *printConfig {
		fmt.Fprintln(stdout, cfg.JSON())
		return nil
	}
	if err := required(fs, "data", "out"); err != nil {
		return err
	}
	rc := train.DefaultRankerConfig()
	rc.Depth, rc.Loss, rc.ColdDropout, rc.Folds, rc.Cuts, rc.Soup = *depth, *rankLoss, *coldDrop, *rankFolds, *rankCuts, *rankSoup
	if err := rc.Validate(); err != nil {
		return usagef("%v", err)
	}

	ecfg := train.DefaultEventConfig()
	ecfg.MinImpressions, ecfg.Propensity = *evMin, *evProp
	if err := ecfg.Validate(); err != nil {
		return usagef("%v", err)
	}

	ds, err := loadData(*dir, *format, stderr)
	if err != nil {
		return err
	}
	var ev *train.Events
	if *evDir != "" {
		evs, err := events.ReadDir(*evDir, time.Time{})
		if err != nil {
			return err
		}
		ev = train.PrepareEvents(ds, evs)
		ds = train.AddTakes(ds, ev)
		fmt.Fprintf(stderr, "events: %d lists showing %d items, %d taken from them, %d takes in all; %d events of users or items not in the data left out\n",
			len(ev.Lists), ev.Shown, ev.Taken, len(ev.Takes), ev.Skipped)
	}
	start := time.Now()
	var tuning string
	if *doTune {
		r, err := tf.search(ds, cfg, stderr)
		if err != nil {
			return err
		}
		cfg, tuning = r.Config, tuned(r)
	}
	live := isTerminal(stderr)
	run, err := train.Fit(ds, cfg, func(p train.Progress) {
		end := "\r"
		if p.EpochDone {
			end = "\n"
		} else if !live {
			return // a log file gets one line per epoch
		}
		val := ""
		if p.EpochDone && p.Phase == "fit" {
			val = fmt.Sprintf("  validation Recall@20 %.4f", p.ValRecall)
		}
		fmt.Fprintf(stderr, "%-5s epoch %d/%d  %3.0f%%  loss %.4f  %6.0f examples/s%s%s",
			p.Phase, p.Epoch, p.Epochs, 100*float64(p.Done)/float64(max(p.Total, 1)), p.Loss, p.PerSecond, val, end)
	})
	if err != nil {
		return err
	}
	m := run.Model
	m.Manifest.Tuned = tuning
	ranker := "no ranker"
	switch {
	case *noRanker:
	case run.Holdout == nil:
		ranker = "no ranker (no validation window to train it on)"
	default:
		r, rep, err := train.FitRankerEvents(run.Holdout, ds, run.ValStart, rc, ev, ecfg)
		if err != nil {
			return err
		}
		m.Ranker = r
		ranker = fmt.Sprintf("ranker on %d lists: held-out Recall@20 %.4f vs retrieval order %.4f, blend %.4f", rep.Lists, rep.RankerRecall20, rep.RetrievalRecall20, rep.BlendRecall20)
		if er := rep.Events; er != nil {
			if er.Learned {
				ranker += fmt.Sprintf(", and %d logged lists (%.0f%% of their items found again; propensities %s)", er.RankerLists, 100*er.Found, formatPropensities(er.Propensities))
			} else {
				ranker += fmt.Sprintf(", not on the logged lists (%d items shown, fewer than --events-min-impressions %d)", er.Shown, ecfg.MinImpressions)
			}
		}
		if r != nil {
			ranker += "; demotion " + demotionOf(r)
		}
		switch {
		case r == nil && rep.HeldOut == 0:
			ranker += " (too few lists to train one: left out)"
		case r == nil:
			ranker += " (not better: left out)"
		}
	}
	if err := model.Save(*out, m); err != nil {
		return err
	}
	prior := ""
	if len(run.PriorRecall) > 1 {
		prior = fmt.Sprintf(", popularity prior %g (validation Recall@20 by prior %.4f)", run.PopPrior, run.PriorRecall)
	}
	fmt.Fprintf(stdout, "wrote %s: %d items, dim %d, %d epochs (best validation Recall@20 at epoch %d%s), final loss %.4f, %s; %.1fs\n",
		*out, m.Manifest.Items, m.Manifest.Dim, m.Manifest.Epochs, run.BestEpoch, prior, m.Manifest.FinalLoss, ranker, time.Since(start).Seconds())
	return nil
}

// formatPropensities prints the first few propensities.
func formatPropensities(p []float64) string {
	var b strings.Builder
	for i, v := range p[:min(len(p), 5)] {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%.2f", v)
	}
	if len(p) > 5 {
		b.WriteString(" …")
	}
	return b.String()
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

func parseInts(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// isTerminal reports whether w is a terminal, where progress may redraw a
// line in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
