package main

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestTrainEventsUsage: a bad events setting is bad usage (exit 2),
// reported before the data is read.
func TestTrainEventsUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--data", "nowhere", "--out", "x", "--events", "e", "--events-propensity", "1,2"},
		{"--data", "nowhere", "--out", "x", "--events", "e", "--events-propensity", "ratios"},
		{"--data", "nowhere", "--out", "x", "--events", "e", "--events-min-impressions", "-5"},
	} {
		err := runTrain(args, &bytes.Buffer{}, &bytes.Buffer{})
		var ue *usageError
		assert.True(t, errors.As(err, &ue), "%v: %v", args, err)
	}
}
