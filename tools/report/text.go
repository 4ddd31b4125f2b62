package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteText prints r for a terminal: the span, each arm's figures, the
// verdicts, then take rates by position and by source.
func WriteText(w io.Writer, r *Report) error {
	var b strings.Builder
	if r.Lists == 0 {
		fmt.Fprintln(&b, "no impressions in these events: nothing to compare yet")
		_, err := io.WriteString(w, b.String())
		return err
	}
	fmt.Fprintf(&b, "events from %s to %s: %d lists shown", r.From.Format(time.RFC3339), r.To.Format(time.RFC3339), r.Lists)
	if r.Duplicates > 0 {
		fmt.Fprintf(&b, " (%d duplicate impressions ignored)", r.Duplicates)
	}
	fmt.Fprintf(&b, ", %d skips, %d takes not matched to a list shown\n\n", r.Skips, r.Unattributed)
	tw := tabwriter.NewWriter(&b, 2, 4, 2, ' ', tabwriter.AlignRight)
	boot := ""
	if r.Bootstrap > 0 {
		boot = "bootstrap 95% CI\t"
	}
	fmt.Fprintf(tw, "arm\tlists\tusers\timpressions\ttakes\ttake rate\t95%% CI\t%scoverage\tnovelty (bits)\t\n", boot)
	for _, a := range r.Arms {
		if r.Bootstrap > 0 {
			boot = fmt.Sprintf("[%s, %s]\t", pct(a.BootLow), pct(a.BootHigh))
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s%%\t[%s, %s]\t%s%.1f%%\t%.2f\t\n", a.Name, a.Lists, a.Users, a.Impressions, a.Takes,
			pct(a.Rate.Rate), pct(a.Low), pct(a.High), boot, 100*a.Coverage, a.Novelty)
	}
	tw.Flush()
	if len(r.Comparisons) > 0 {
		fmt.Fprintln(&b)
		for _, c := range r.Comparisons {
			fmt.Fprintf(&b, "%s\n", c.Verdict)
		}
	}
	section := func(title string, get func(*Arm) []Cell, label string) {
		fmt.Fprintf(&b, "\ntake rate by %s\n", title)
		tw := tabwriter.NewWriter(&b, 2, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "arm\t%s\timpressions\ttakes\ttake rate\t95%% CI\t\n", label)
		for _, a := range r.Arms {
			for _, c := range get(a) {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s%%\t[%s, %s]\t\n", a.Name, c.Key, c.Impressions, c.Takes, pct(c.Rate.Rate), pct(c.Low), pct(c.High))
			}
		}
		tw.Flush()
	}
	section("position", func(a *Arm) []Cell { return a.ByPosition }, "position")
	section("source", func(a *Arm) []Cell { return a.BySource }, "source")
	_, err := io.WriteString(w, b.String())
	return err
}

// pct writes a proportion as a percentage: one decimal, two below 1 %.
func pct(p float64) string {
	if p < 0.01 {
		return fmt.Sprintf("%.2f", 100*p)
	}
	return fmt.Sprintf("%.1f", 100*p)
}
