package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestDiffEscapesBundleStrings: strings a bundle carries (version, ids,
// metadata) print quoted when they hold control characters, so a crafted
// bundle cannot forge a line of the diff report.
func TestDiffEscapesBundleStrings(t *testing.T) {
	forged := "v1\nnew  other.bundle: version 9"
	r := &diffReport{Old: diffFile{File: "a", Version: forged}, New: diffFile{File: "b", Version: "v2"},
		Items:    diffItems{AddedIDs: []string{"i\x1b[2J"}, Added: 1},
		Metadata: []diffChange{{Field: "version", Old: forged, New: "v2"}}, DriftNote: "none"}
	var b strings.Builder
	printDiff(&b, r)
	out := b.String()
	assert.NotContains(t, out, "\nnew  other.bundle")
	assert.NotContains(t, out, "\x1b")
	assert.Contains(t, out, `"v1\nnew  other.bundle: version 9"`)
}
