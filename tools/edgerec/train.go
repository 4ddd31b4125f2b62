package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

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
them. The towers are saved separately in MODELDIR with a manifest.`, stderr)
	dir, format := dataFlags(fs)
	out := fs.String("out", "", "model directory to write")
	printConfig := fs.Bool("print-config", false, "print the effective configuration as JSON and exit")
	noRanker := fs.Bool("no-ranker", false, "do not train the ranker")
	depth := fs.Int("rank-depth", train.DefaultRankerConfig().Depth, "retrieved candidates the ranker re-scores")
	rankLoss := fs.String("rank-loss", train.DefaultRankerConfig().Loss, "the ranker's training loss over each user's candidates: "+strings.Join(train.Losses, ", "))
	coldDrop := fs.Float64("rank-cold-dropout", train.DefaultRankerConfig().ColdDropout, "share of the ranker's training candidates presented as new items (their popularity and log-based sources unknown), so that it learns to order new items by content")
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
	rc.Depth, rc.Loss, rc.ColdDropout = *depth, *rankLoss, *coldDrop
	if err := rc.Validate(); err != nil {
		return usagef("%v", err)
	}

	ds, err := loadData(*dir, *format, stderr)
	if err != nil {
		return err
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
		r, rep, err := train.FitRanker(run.Holdout, ds, run.ValStart, rc)
		if err != nil {
			return err
		}
		m.Ranker = r
		ranker = fmt.Sprintf("ranker on %d lists: held-out Recall@20 %.4f vs retrieval order %.4f, blend %.4f", rep.Lists, rep.RankerRecall20, rep.RetrievalRecall20, rep.BlendRecall20)
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
	fmt.Fprintf(stdout, "wrote %s: %d items, dim %d, %d epochs (best validation Recall@20 at epoch %d), final loss %.4f, %s; %.1fs\n",
		*out, m.Manifest.Items, m.Manifest.Dim, m.Manifest.Epochs, run.BestEpoch, m.Manifest.FinalLoss, ranker, time.Since(start).Seconds())
	return nil
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
