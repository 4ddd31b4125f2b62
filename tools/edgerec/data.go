package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/edgerec/edgerec/tools/dataset"
	"github.com/edgerec/edgerec/tools/synth"
)

func runSynth(args []string, stdout, stderr io.Writer) error {
	def := synth.DefaultConfig()
	fs := newFlags("synth", "synth --out DIR [--users N] [--items N] [--seed S] [--days D]", `
Write a deterministic synthetic data set in the edgerec format (items.csv,
users.csv, interactions.csv): latent user tastes and item topics, a popularity
skew, tastes drifting over time and new items appearing over time. The same
flags always give the same bytes.`)
	out := fs.String("out", "", "directory to write (created if missing)")
	users := fs.Int("users", def.Users, "number of users")
	items := fs.Int("items", def.Items, "number of items")
	seed := fs.Int64("seed", def.Seed, "random seed")
	days := fs.Int("days", def.Days, "days of activity")
	events := fs.Float64("events-per-user", def.EventsPerUser, "mean interactions per user")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "out"); err != nil {
		return err
	}
	cfg := def
	cfg.Users, cfg.Items, cfg.Seed, cfg.Days, cfg.EventsPerUser = *users, *items, *seed, *days, *events
	if err := cfg.Validate(); err != nil {
		return &usageError{err.Error()}
	}
	start := time.Now()
	ds, err := synth.Generate(cfg)
	if err != nil {
		return err
	}
	if err := dataset.WriteDir(*out, ds); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d users, %d items, %d interactions (%.1fs)\n",
		*out, len(ds.Users), len(ds.Items), len(ds.Interactions), time.Since(start).Seconds())
	return nil
}

// dataFlags adds --data and --format to fs.
func dataFlags(fs interface {
	String(name, value, usage string) *string
}) (dir, format *string) {
	dir = fs.String("data", "", "data set directory")
	format = fs.String("format", "edgerec", "data set format: "+strings.Join(dataset.Formats(), ", "))
	return dir, format
}

// loadData loads a data set, timing it on stderr.
func loadData(dir, format string, stderr io.Writer) (*dataset.Dataset, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	start := time.Now()
	ds, err := dataset.Load(dir, format)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "loaded %s (%s): %d users, %d items, %d interactions in %.1fs\n",
		dir, format, len(ds.Users), len(ds.Items), len(ds.Interactions), time.Since(start).Seconds())
	return ds, nil
}
