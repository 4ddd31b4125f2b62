package events

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
)

// ReadDir reads the events stored under dir (EVENTS.md §3) whose time is
// not before since (the zero time: all), from the finished .parquet and
// .ndjson files of its day partitions, skipping the temporary files of
// writers still at work. Events come in file order (days, then files by
// name), so a file's events keep their order.
//
// # Notes
//
// It holds every event in memory: enough for a report over days of one
// node; larger logs are for DuckDB or Spark, which read the files as they
// are.
func ReadDir(dir string, since time.Time) ([]Event, error) {
	days, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	first := ""
	if !since.IsZero() {
		first = since.UTC().Format(time.DateOnly)
	}
	var out []Event
	for _, de := range days {
		day, ok := strings.CutPrefix(de.Name(), "day=")
		if !de.IsDir() || !ok || day < first {
			continue
		}
		files, err := os.ReadDir(filepath.Join(dir, de.Name()))
		if err != nil {
			return nil, fmt.Errorf("events: %w", err)
		}
		names := make([]string, 0, len(files))
		for _, f := range files {
			if n := f.Name(); f.Type().IsRegular() && !strings.HasPrefix(n, ".") {
				names = append(names, n)
			}
		}
		slices.Sort(names)
		for _, n := range names {
			path := filepath.Join(dir, de.Name(), n)
			var evs []Event
			switch filepath.Ext(n) {
			case ".parquet":
				evs, err = parquet.ReadFile[Event](path)
			case ".ndjson":
				evs, err = readNDJSON(path)
			default:
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("events: %s: %w", path, err)
			}
			for i := range evs {
				if len(evs[i].Items) == 0 {
					evs[i].Items = nil // Parquet reads an empty list
				}
				if since.IsZero() || evs[i].TimeMs >= since.UnixMilli() {
					out = append(out, evs[i])
				}
			}
		}
	}
	return out, nil
}

func readNDJSON(path string) ([]Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Event
	dec := json.NewDecoder(bufio.NewReader(f))
	for dec.More() {
		var e Event
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("event %d: %w", len(out), err)
		}
		out = append(out, e)
	}
	return out, nil
}
