package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/host/events"
	"github.com/edgerec/edgerec/tools/report"
)

// writeArms stores two days of events: arm A takes the first item of one
// list in ten, arm B of one in four.
func writeArms(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	d, err := events.OpenDir(dir, events.DirOptions{})
	require.NoError(t, err)
	start := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	var evs []events.Event
	for l := range 2000 {
		arm, every := "A", 10
		if l%2 == 1 {
			arm, every = "B", 4
		}
		at := start.Add(time.Duration(l) * time.Minute)
		id := fmt.Sprintf("r%d", l)
		imp := events.Event{Type: events.TypeImpression, RequestID: id, TimeMs: at.UnixMilli(), Arm: arm, User: fmt.Sprintf("u%d", l%300),
			Items: []events.Shown{{Item: fmt.Sprintf("i%d", l%97), Position: 1, Source: "twotower"}, {Item: fmt.Sprintf("i%d", l%89), Position: 2, Source: "popular"}}}
		evs = append(evs, imp)
		if (l/2)%every == 0 {
			evs = append(evs, events.Event{Type: events.TypeTake, RequestID: id, Item: imp.Items[0].Item, Kind: events.KindWatch, Position: 1, TimeMs: at.UnixMilli() + 1})
		}
	}
	require.NoError(t, d.Write(evs))
	require.NoError(t, d.Close())
	return dir
}

func TestReportCommand(t *testing.T) {
	dir := writeArms(t)
	var out, errOut bytes.Buffer
	plot := filepath.Join(t.TempDir(), "report.svg")
	require.NoError(t, runReport([]string{"--events", dir, "--plot", plot}, &out, &errOut))
	text := out.String()
	assert.Regexp(t, `B beats A by 7\.5 points, 95% CI \[[0-9.]+, [0-9.]+\], bootstrap over users\n`, text)
	assert.Contains(t, text, "take rate by position")
	svg, err := os.ReadFile(plot)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(svg), "<svg"))

	// Without the bootstrap: Newcombe's interval.
	out.Reset()
	require.NoError(t, runReport([]string{"--events", dir, "--bootstrap", "0"}, &out, &errOut))
	assert.Contains(t, out.String(), "B beats A by 7.5 points, 95% CI [5.8, 9.3]\n")

	out.Reset()
	require.NoError(t, runReport([]string{"--events", dir, "--json"}, &out, &errOut))
	var r report.Report
	require.NoError(t, json.Unmarshal(out.Bytes(), &r))
	require.Len(t, r.Arms, 2)
	assert.Equal(t, 2000, r.Arms[0].Impressions)
	assert.Equal(t, 100, r.Arms[0].Takes)
	assert.Equal(t, 250, r.Arms[1].Takes)
	assert.True(t, r.Comparisons[0].Significant)

	// --since: the events of the second day only.
	out.Reset()
	require.NoError(t, runReport([]string{"--events", dir, "--json", "--since", "2026-12-05"}, &out, &errOut))
	r = report.Report{}
	require.NoError(t, json.Unmarshal(out.Bytes(), &r))
	assert.Equal(t, "2026-12-05", r.From.Format(time.DateOnly))
	assert.Less(t, r.Lists, 2000)
}

func TestReportUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--events", "x", "--effect", "0"},
		{"--events", "x", "--since", "yesterday"},
		{"--events", "x", "--items", "-1"},
		{"--events", "x", "--bootstrap", "-5"},
	} {
		err := runReport(args, &bytes.Buffer{}, &bytes.Buffer{})
		var ue *usageError
		assert.True(t, errors.As(err, &ue), "%v: %v", args, err)
	}
	err := runReport([]string{"--events", filepath.Join(t.TempDir(), "missing")}, &bytes.Buffer{}, &bytes.Buffer{})
	assert.Error(t, err)
	var ue *usageError
	assert.False(t, errors.As(err, &ue), "a missing directory is a failure, not bad usage")
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for s, want := range map[string]time.Time{
		"2026-12-01":           time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		"2026-12-05T08:00:00Z": time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC),
		"24h":                  now.Add(-24 * time.Hour),
	} {
		got, err := parseSince(s, now)
		require.NoError(t, err, s)
		assert.True(t, want.Equal(got), "%s: %v", s, got)
	}
	_, err := parseSince("-3h", now)
	assert.Error(t, err)
}
