package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/edgerec/edgerec/host/events"
	"github.com/edgerec/edgerec/tools/report"
)

const reportAbout = `
Report on an experiment from stored events (edgerec serve --events DIR;
host/events/EVENTS.md): for each arm, the lists shown, users,
impressions (items shown), takes and the take rate with its 95% interval
(Wilson), coverage and novelty; each arm's difference from the baseline
with its 95% interval (Newcombe's hybrid score) and a verdict in plain
words ("B beats A by 1.2 points, 95% CI [0.4, 2.0]", or how many more
impressions a --effect-sized difference needs); and the take rate by
position and by source. Impressions of one user are not independent, so
the verdicts use a bootstrap over users (--bootstrap resamples) when it is
on, and the interval says so.

An impression counts as taken when a take names its request id and item.
--plot writes an SVG: the take rate by arm with its interval, and by
position.`

// reportOptions are the flags of `edgerec report`.
type reportOptions struct {
	dir, plot, baseline string
	since               time.Time
	json                bool
	effect              float64
	items, bootstrap    int
	seed                uint64
}

func runReport(args []string, stdout, stderr io.Writer) error {
	o, err := parseReport(args, time.Now())
	if err != nil {
		return err
	}
	r, err := buildReport(o)
	if err != nil {
		return err
	}
	if o.plot != "" {
		if err := writeReportPlot(o.plot, r); err != nil {
			return err
		}
	}
	if o.json {
		return writeJSON(stdout, r)
	}
	return report.WriteText(stdout, r)
}

func parseReport(args []string, now time.Time) (reportOptions, error) {
	fs := newFlags("report", "report --events DIR [--since WHEN] [--json] [--plot FILE] [flags]", reportAbout)
	var o reportOptions
	fs.StringVar(&o.dir, "events", "", "the events directory (edgerec serve --events DIR)")
	since := fs.String("since", "", "only events at or after this: a date (2026-12-01), a time (RFC 3339) or a duration back from now (24h)")
	fs.BoolVar(&o.json, "json", false, "print the report as JSON")
	fs.StringVar(&o.plot, "plot", "", "also write an SVG plot to this file")
	fs.StringVar(&o.baseline, "baseline", "", "the arm the others are compared with (default: the first by name)")
	fs.Float64Var(&o.effect, "effect", 1, "the smallest difference worth detecting, in points of take rate: the verdict says how many more impressions it needs")
	fs.IntVar(&o.items, "items", 0, "catalog size for coverage (default: the items seen in the events)")
	fs.IntVar(&o.bootstrap, "bootstrap", 1000, "resamples of users for bootstrap intervals, which the verdicts then use (impressions of one user are not independent); 0: Wilson and Newcombe only")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the bootstrap")
	if err := parse(fs, args); err != nil {
		return o, err
	}
	if err := required(fs, "events"); err != nil {
		return o, err
	}
	switch {
	case o.effect <= 0 || o.effect >= 100:
		return o, usagef("--effect %g out of range (0, 100) points", o.effect)
	case o.items < 0:
		return o, usagef("--items must not be negative")
	case o.bootstrap < 0 || o.bootstrap > 100000:
		return o, usagef("--bootstrap %d out of range [0, 100000]", o.bootstrap)
	}
	if *since != "" {
		t, err := parseSince(*since, now)
		if err != nil {
			return o, usagef("--since %q: want a date (2026-12-01), an RFC 3339 time or a duration (24h)", *since)
		}
		o.since = t
	}
	return o, nil
}

// parseSince reads a date, an RFC 3339 time or a duration back from now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("bad --since")
	}
	return now.Add(-d), nil
}

// buildReport reads the events and builds the report: the work of
// `edgerec report`.
func buildReport(o reportOptions) (*report.Report, error) {
	evs, err := events.ReadDir(o.dir, o.since)
	if err != nil {
		return nil, err
	}
	return report.Build(evs, report.Options{Baseline: o.baseline, Effect: o.effect / 100, Items: o.items,
		Bootstrap: o.bootstrap, Seed: o.seed})
}

// writeReportPlot writes the SVG beside and renames it into place.
func writeReportPlot(path string, r *report.Report) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".report-*.svg")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := report.WriteSVG(tmp, r); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
