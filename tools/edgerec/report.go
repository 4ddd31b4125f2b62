package main

import (
	"encoding/json"
	"fmt"
	"io"
)

// writeJSON prints a command's report as indented JSON (--json).
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// progressf returns a function that rewrites one status line on w (a
// terminal's stderr): each call replaces the previous line, and a call
// with "" clears it. A nil w discards the lines.
func progressf(w io.Writer) func(format string, a ...any) {
	if w == nil {
		w = io.Discard
	}
	return func(format string, a ...any) { fmt.Fprintf(w, "\r\033[K"+format, a...) }
}
