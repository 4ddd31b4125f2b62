package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseSeeds(t *testing.T) {
	s, err := parseSeeds("1, 2,3")
	require.NoError(t, err)
	assert.Equal(t, []int64{1, 2, 3}, s)
	for _, bad := range []string{"", "1,,2", "a", "1,1"} {
		_, err := parseSeeds(bad)
		assert.Error(t, err, bad)
	}
}

// TestEvalSeeds runs eval over two seeds: the seeded model trains twice and
// its summary is the mean and spread of the per-seed figures; the unseeded
// one is fitted once and has no spread.
func TestEvalSeeds(t *testing.T) {
	data := evalData(t)
	out := mustRun(t, "eval", "--data", data, "--models", "pop,twotower", "--seeds", "4,5", "--epochs", "1", "--validation", "0", "--json")
	var doc struct {
		Config struct {
			Seeds []int64 `json:"seeds"`
		} `json:"config"`
		Seeds struct {
			PerSeed map[string]map[string]map[string]any `json:"per_seed"`
			Summary map[string]map[string]seedStat       `json:"summary"`
		} `json:"seeds"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &doc), out)
	assert.Equal(t, []int64{4, 5}, doc.Config.Seeds)
	a := doc.Seeds.PerSeed["4"]["twotower"]["recall@20"].(float64)
	b := doc.Seeds.PerSeed["5"]["twotower"]["recall@20"].(float64)
	st := doc.Seeds.Summary["twotower"]["recall@20"]
	assert.InDelta(t, (a+b)/2, st.Mean, 1e-9)
	assert.Equal(t, []float64{a, b}, st.Values)
	assert.NotEqual(t, a, b, "two seeds train two different models")
	pop := doc.Seeds.Summary["pop"]["recall@20"]
	assert.Zero(t, pop.SD)
	assert.Equal(t, doc.Seeds.PerSeed["4"]["pop"]["recall@20"], doc.Seeds.PerSeed["5"]["pop"]["recall@20"])
}
