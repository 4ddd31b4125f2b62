package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/edgerec/edgerec/tools/model"
	"github.com/edgerec/edgerec/tools/train"
)

func runTrain(args []string, stdout, stderr io.Writer) error {
	def := train.DefaultConfig()
	fs := newFlags("train", "train --data DIR [--format F] --out MODELDIR [flags]", `
Train the two-tower model on every interaction of a data set: the query tower
pools the user's history items and embeds their demographics; the item tower
embeds item ids and categories; the loss is the softmax over in-batch
negatives. The towers are saved separately in MODELDIR with a manifest.`, stderr)
	dir, format := dataFlags(fs)
	out := fs.String("out", "", "model directory to write")
	epochs := fs.Int("epochs", def.Epochs, "passes over the data")
	batch := fs.Int("batch", def.Batch, "examples per batch (the in-batch negatives)")
	lr := fs.Float64("lr", float64(def.LR), "Adam learning rate")
	temp := fs.Float64("temperature", float64(def.Temperature), "softmax temperature")
	dim := fs.Int("dim", def.Dim, "embedding width")
	hidden := fs.String("hidden", joinInts(def.Hidden), "hidden layer widths, comma-separated")
	seed := fs.Int64("seed", def.Seed, "random seed")
	workers := fs.Int("workers", 0, "goroutines (0 = all cores)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "data", "out"); err != nil {
		return err
	}
	cfg := def
	cfg.Epochs, cfg.Batch, cfg.LR, cfg.Temperature = *epochs, *batch, float32(*lr), float32(*temp)
	cfg.Dim, cfg.Seed, cfg.Workers = *dim, *seed, *workers
	h, err := parseInts(*hidden)
	if err != nil {
		return usagef("--hidden: %v", err)
	}
	cfg.Hidden = h

	ds, err := loadData(*dir, *format, stderr)
	if err != nil {
		return err
	}
	start := time.Now()
	m, err := train.Train(ds, cfg, func(p train.Progress) {
		end := "\r"
		if p.EpochDone {
			end = "\n"
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
	if err := model.Save(*out, m); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d items, dim %d, final loss %.4f, trained in %.1fs\n",
		*out, m.Manifest.Items, m.Manifest.Dim, m.Manifest.FinalLoss, time.Since(start).Seconds())
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
