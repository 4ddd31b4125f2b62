package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReason: a skip's reason is the test's own message, without
// test2json's framing or the file:line prefix.
func TestReason(t *testing.T) {
	out := []string{"=== RUN   TestSoak\n", "    server_test.go:791: set EDGEREC_SOAK=2m (make soak) to run the soak test\n", "--- SKIP: TestSoak (0.00s)\n"}
	assert.Equal(t, "set EDGEREC_SOAK=2m (make soak) to run the soak test", reason(out))
}

// TestEnable: each kind of reason gets the command that runs the test.
func TestEnable(t *testing.T) {
	for _, tc := range []struct {
		s    skip
		want string
	}{
		{skip{"tools/pytorch", "TestPyTorchRoundTrip", "SKIPPING the PyTorch round trip: /usr/bin/python3 cannot import torch"},
			"apt-get install python3-torch python3-numpy libopenblas0-pthread (.ci/run does), then go test -count=1 -run '^TestPyTorchRoundTrip$' ./tools/pytorch"},
		{skip{"tools/eval", "TestQualityFloors/ml-100k", "ml-100k not found at ../../../shared/data/ml-100k (it is not redistributed with edgerec)"},
			"the MovieLens and Last.fm data sets in ../shared/data beside the repository (README, Data), then go test -count=1 -run '^TestQualityFloors$' ./tools/eval"},
		{skip{"tools/compact", "TestRecallSweep", "a measurement: -args -compact.items N runs it"},
			"go test -count=1 -run '^TestRecallSweep$' ./tools/compact -v -args -compact.items N"},
		{skip{"web-demo", "browser", "no Chromium at /usr/bin/chromium"}, "apt-get install chromium (make web-deps does it as root), then make web-test"},
	} {
		assert.Equal(t, tc.want, enable(tc.s), tc.s.Test)
	}
}

// TestTAPAndSummary: a node --test TAP report's counts and skips reach
// the summary and its closing line.
func TestTAPAndSummary(t *testing.T) {
	dir := t.TempDir()
	tap := filepath.Join(dir, "web.tap")
	require.NoError(t, os.WriteFile(tap, []byte(`TAP version 13
# Subtest: loads
ok 1 - loads
# Subtest: browser
ok 2 - browser # SKIP no Chromium at /usr/bin/chromium
# Subtest: group
    ok 1 - inner # SKIP no workerd
ok 3 - group
1..3
# tests 4
# pass 2
# fail 0
# skipped 2
# duration_ms 1234.5
`), 0o644))
	state := filepath.Join(dir, "state")
	require.NoError(t, readTAP("3 web tests", state, tap, 0))
	require.NoError(t, save(state, record{Phase: "1 go test", Passed: 10, Failed: 1, Seconds: 3}))
	var b bytes.Buffer
	status, err := summary(&b, state, 0)
	require.NoError(t, err)
	assert.Equal(t, 1, status, "a failed test fails the summary")
	out := b.String()
	assert.Contains(t, out, "web-demo browser\n      why:    no Chromium at /usr/bin/chromium\n")
	assert.Contains(t, out, "web-demo inner\n")
	assert.Contains(t, out, "3 web tests                       1s  2 passed, 0 failed, 2 skipped")
	assert.Contains(t, out, "\ntests: 12 passed, 1 failed, 2 skipped\n")
}
