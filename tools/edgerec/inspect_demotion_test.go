package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/bundle/bundletest"
	"github.com/edgerec/edgerec/core/nn"
	"github.com/edgerec/edgerec/core/rank"
)

// TestInspectDemotion: bundle inspect says the demotion is the rule for a
// bundle whose ranker was trained on an interaction log (as every bundle
// before training from events), and learned for one whose ranker weighs
// shown_log.
func TestInspectDemotion(t *testing.T) {
	inspect := func(b *bundle.Bundle) (string, string) {
		data, err := bundle.Encode(b)
		require.NoError(t, err)
		path := filepath.Join(t.TempDir(), "b.bundle")
		require.NoError(t, os.WriteFile(path, data, 0o644))
		var text, js bytes.Buffer
		require.NoError(t, runBundleInspect([]string{path}, &text, &bytes.Buffer{}))
		require.NoError(t, runBundleInspect([]string{"--json", path}, &js, &bytes.Buffer{}))
		var in struct {
			Demotion string `json:"demotion"`
		}
		require.NoError(t, json.Unmarshal(js.Bytes(), &in))
		return text.String(), in.Demotion
	}
	text, d := inspect(bundletest.Random(50, 8, 1))
	assert.Equal(t, "rule", d)
	assert.Contains(t, text, "demotion  rule: demote 1")

	b := bundletest.Random(50, 8, 1)
	b.Ranker = &rank.Model{Depth: 20, Features: []string{"query_similarity", rank.ShownFeature},
		Mean: []float32{0, 0}, Std: []float32{1, 1},
		MLP: nn.MLP{Layers: []nn.Dense{{In: 2, Out: 1, W: []float32{1, -1}, B: []float32{0}, Act: nn.Linear}}}}
	text, d = inspect(b)
	assert.Equal(t, "learned", d)
	assert.Contains(t, text, "demotion  learned")
}
