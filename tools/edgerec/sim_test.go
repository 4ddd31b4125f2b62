package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSimUsage: bad flags are bad usage (exit 2) before anything runs;
// an arms file replaces the default arms, the first being the baseline.
// (The simulation itself is tools/sim's TestRunFindsBetterArm.)
func TestSimUsage(t *testing.T) {
	one := filepath.Join(t.TempDir(), "one.json")
	require.NoError(t, os.WriteFile(one, []byte(`{"arms": [{"name": "a", "weight": 1}]}`), 0o644))
	for _, args := range [][]string{
		{"--users", "0"},
		{"--users", "5000", "--synth-users", "400"},
		{"--lists", "0"},
		{"--take-max", "1.5"},
		{"--position-bias", "-1"},
		{"--bootstrap", "-1"},
		{"--arms", one},
		{"--user", "3"},
		{"--events-propensity", "1,0"},
		{"--events-min-impressions", "-1"},
	} {
		err := runSim(args, &bytes.Buffer{}, &bytes.Buffer{})
		var ue *usageError
		assert.True(t, errors.As(err, &ue), "%v: %v", args, err)
	}
	two := filepath.Join(t.TempDir(), "two.json")
	require.NoError(t, os.WriteFile(two, []byte(`{"arms": [{"name": "b", "weight": 1}, {"name": "a", "weight": 2, "params": {"ranker": false}}]}`), 0o644))
	o, err := parseSim([]string{"--arms", two, "--users", "20", "--seed", "7"})
	require.NoError(t, err)
	require.Len(t, o.cfg.Arms, 2)
	assert.Equal(t, "b", o.cfg.Arms[0].Name)
	assert.Equal(t, float32(2), o.cfg.Arms[1].Weight)
	assert.Equal(t, 20, o.cfg.Users)
	assert.Equal(t, int64(7), o.cfg.Synth.Seed, "--seed seeds the data set too")
	assert.Equal(t, o.cfg.Synth.Beta, o.cfg.Behaviour.Beta, "users choose with the data set's β")
}
