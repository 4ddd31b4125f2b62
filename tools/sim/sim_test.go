package sim

import (
	"context"
	"fmt"
	"math"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/host"
	"github.com/edgerec/edgerec/host/events"
	"github.com/edgerec/edgerec/tools/synth"
	"github.com/edgerec/edgerec/wasm/wasmtest"
)

// testWasm is recommender.wasm built from ./wasm by TestMain.
var testWasm []byte

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "edgerec-sim-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		out, err := wasmtest.Build(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if testWasm, err = host.LoadModuleFile(out); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return m.Run()
	}())
}

// TestBehaviour: the take probability falls with the position as p^-η and
// with the distance from the user's favourite topic, and is TakeMax for a
// favourite item at the top.
func TestBehaviour(t *testing.T) {
	cfg := synth.DefaultConfig()
	cfg.Users, cfg.Items, cfg.EventsPerUser = 50, 200, 5
	ds, ts, err := synth.GenerateTastes(cfg)
	require.NoError(t, err)
	b := DefaultBehaviour(ts)
	for u := range ds.Users {
		best, worst := -1, -1
		for i := range ds.Items {
			if best < 0 || ts.Affinity(u, i) > ts.Affinity(u, best) {
				best = i
			}
			if worst < 0 || ts.Affinity(u, i) < ts.Affinity(u, worst) {
				worst = i
			}
		}
		top := b.TakeProb(ts, u, best, 1)
		require.LessOrEqual(t, top, b.TakeMax+1e-12)
		if ts.Affinity(u, best) == ts.Best(u) {
			assert.InDelta(t, b.TakeMax, top, 1e-12, "user %d: a favourite item at the top", u)
		}
		assert.InDelta(t, top/4, b.TakeProb(ts, u, best, 4), 1e-12, "η = 1: position 4 is seen a quarter as often")
		assert.Less(t, b.TakeProb(ts, u, worst, 1), top/10, "user %d: an item far from the taste is rarely taken", u)
	}
	flat := Behaviour{TakeMax: 0.3, PositionBias: 0, Beta: ts.Beta}
	assert.Equal(t, flat.TakeProb(ts, 0, 0, 1), flat.TakeProb(ts, 0, 0, 9), "η = 0: no position bias")
}

func TestConfigErrors(t *testing.T) {
	for name, mod := range map[string]func(*Config){
		"no module":  func(c *Config) { c.Wasm = nil },
		"no dir":     func(c *Config) { c.Dir = "" },
		"one arm":    func(c *Config) { c.Arms = c.Arms[:1] },
		"same names": func(c *Config) { c.Arms[1].Name = c.Arms[0].Name },
		"zero users": func(c *Config) { c.Users = 0 },
		"too many":   func(c *Config) { c.Users = c.Synth.Users + 1 },
		"k":          func(c *Config) { c.K = 0 },
		"behaviour":  func(c *Config) { c.Behaviour = Behaviour{TakeMax: 2} },
	} {
		t.Run(name, func(t *testing.T) {
			c := DefaultConfig()
			c.Wasm, c.Dir = []byte{0}, t.TempDir()
			mod(&c)
			_, err := Run(context.Background(), c)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "sim: ")
		})
	}
}

// boundedConfig is DefaultConfig made cheaper for make test: fewer users
// and items, and a ranker trained for 10 epochs over 100 candidates,
// whose guard is the held-out share rather than cross-validation (Folds
// 0). With the folds of the 2026-12-07 defaults the ranker trained
// without events is the stronger, and what events add to it in this
// small world (expected +0.002 to +0.004 in take rate, against +0.008 to
// +0.011 with Folds 0) is below what 8 000 impressions resolve: the
// assertion that events raise the take rate failed in 4 of 6 runs
// (tools/sim/README.md, "Bounded in make test"). Eight lists a user, not
// the default four: with four, round 2's observed interval came within
// 0.0015 of zero and once crossed it (+0.0040 [−0.0003, +0.0080] on a
// clean clone); with eight its lower end was +0.0071 to +0.0076 in four
// runs, for 2.5 s more. On the simulated clock a day's runs are
// identical; over a week's days the lower end was +0.0065 to +0.0104
// (TestMeasureWeekdays).
func boundedConfig(t *testing.T) Config {
	cfg := DefaultConfig()
	cfg.Synth.Users, cfg.Synth.Items, cfg.Users, cfg.Lists = 300, 400, 200, 8
	cfg.Ranker.Epochs, cfg.Ranker.Depth, cfg.Ranker.Folds = 10, 100, 0
	cfg.Wasm, cfg.Dir = testWasm, t.TempDir()
	return cfg
}

// TestRunFindsBetterArm is the loop end to end, bounded: users ask a real
// node on loopback for lists from two arms, take by their hidden tastes,
// the node and the users' posts store the events as Parquet, and the
// report finds the arm that is better in truth, with a 95% interval that
// excludes zero. Every list served and every take posted is in the
// report's counts, and each arm's observed rate is near its expected one.
//
// Then round 2: a bundle trained with those events (towers on the takes,
// the ranker on the lists, the demotion learned) and one trained without
// are each served to the same users with the same draws, and the one
// trained with events has the higher take rate, in truth and with an
// observed interval that excludes zero.
func TestRunFindsBetterArm(t *testing.T) {
	if testing.Short() {
		t.Skip("the simulation trains three models and serves a few thousand lists")
	}
	cfg := boundedConfig(t)
	res, err := Run(context.Background(), cfg)
	require.NoError(t, err)
	t.Logf("train %.1fs, serve %.1fs, report %.1fs", res.TrainSeconds, res.ServeSeconds, res.ReportSeconds)
	require.Zero(t, res.Failed, "every list answered")
	require.Equal(t, cfg.Users*cfg.Lists, res.Requests)
	require.Len(t, res.Report.Arms, len(cfg.Arms), "every arm served")
	for _, a := range res.Arms {
		var got = res.Report.Arms[0]
		for _, ra := range res.Report.Arms {
			if ra.Name == a.Name {
				got = ra
			}
		}
		require.Equal(t, a.Name, got.Name)
		t.Logf("%s: %d users, %d impressions, %d takes, expected rate %.4f", a.Name, a.Users, a.Impressions, a.Takes, a.Expected)
		assert.Equal(t, a.Impressions, got.Impressions, "%s: every item served is an impression in the events", a.Name)
		assert.Equal(t, a.Takes, got.Takes, "%s: every take posted is joined to its impression", a.Name)
		assert.Equal(t, a.Users, got.Users)
		assertNearExpected(t, a)
	}
	// The files agree with themselves on the simulated clock: every take
	// after the list it came from, as edgerec train --events reads them.
	evs, err := events.ReadDir(res.EventsDir, time.Time{})
	require.NoError(t, err)
	shown := map[string]int64{}
	for _, e := range evs {
		if e.Type == events.TypeImpression {
			shown[e.RequestID] = e.TimeMs
		}
	}
	for _, e := range evs {
		if at, ok := shown[e.RequestID]; ok && e.Type == events.TypeTake {
			require.Greater(t, e.TimeMs, at, "take of %s before its list", e.RequestID)
		}
	}
	c := res.Report.Comparisons[0]
	t.Logf("verdict: %s", c.Verdict)
	assert.True(t, c.Significant, "a 95%% interval that excludes zero: %s", c.Verdict)
	assert.True(t, res.Right, "the report finds %q, the truth is %q", res.Found, res.Truth)

	rt := res.Retrain
	require.NotNil(t, rt)
	t.Logf("round 2: train %.1fs, serve %.1fs; with − without events: observed %+.4f [%+.4f, %+.4f], expected %+.4f [%+.4f, %+.4f]",
		rt.TrainSeconds, rt.ServeSeconds, rt.Diff, rt.DiffLo, rt.DiffHi, rt.ExpectedDiff, rt.ExpectedLo, rt.ExpectedHi)
	assert.Equal(t, 2*cfg.Users*cfg.Lists, rt.Requests)
	assert.LessOrEqual(t, rt.Failed, rt.Requests/100, "lists not answered (the node's deadline under load)")
	for _, a := range []ArmResult{rt.Without, rt.With} {
		t.Logf("%s: %d users, %d impressions, %d takes, expected rate %.4f", a.Name, a.Users, a.Impressions, a.Takes, a.Expected)
		assert.Equal(t, cfg.Users, a.Users)
		assertNearExpected(t, a)
	}
	require.NotNil(t, rt.RankerWith)
	require.NotNil(t, rt.RankerWith.Events)
	e := rt.RankerWith.Events
	t.Logf("events: %d lists, %d shown, %d taken, %d ranker lists (%.2f found), propensities %.2f", e.Lists, e.Shown, e.Taken, e.RankerLists, e.Found, e.Propensities)
	assert.Equal(t, res.Requests, e.Lists, "every list of round 1 is prepared for training")
	assert.True(t, e.Learned, "%d items shown, at least the %d needed", e.Shown, cfg.Events.MinImpressions)
	assert.Equal(t, "learned", rt.Demotion, "the ranker trained with events is kept and carries the learned demotion")
	assert.Nil(t, rt.RankerWithout.Events)
	assert.True(t, rt.Better, "training with events raises the take rate: %+.4f [%+.4f, %+.4f]", rt.Diff, rt.DiffLo, rt.DiffHi)

	_, err = Run(context.Background(), cfg)
	assert.ErrorContains(t, err, "holds events already", "a second run into the same directory would mix its events with the first's")
}

// assertNearExpected checks that an arm's observed take rate is near its
// expected one.
func assertNearExpected(t *testing.T, a ArmResult) {
	t.Helper()
	p := a.Expected
	se := math.Sqrt(p * (1 - p) / float64(a.Impressions))
	assert.InDelta(t, p, float64(a.Takes)/float64(a.Impressions), 5*se+0.002, "%s: observed take rate near the expected one", a.Name)
}
