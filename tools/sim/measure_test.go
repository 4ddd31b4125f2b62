package sim

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/host/events"
	"github.com/edgerec/edgerec/tools/train"
)

// TestMeasureMinImpressions measures what the ranker's logged lists add
// to the takes alone as the log grows, which sets
// train.EventConfig.MinImpressions: round 1 as DefaultConfig, then, for
// the events of the first n of its users, a bundle trained on their
// takes alone and one trained on their takes and lists, each served to
// every user of round 1 and compared with the bundle trained without
// events. Not part of make test (minutes):
//
//	EDGEREC_MEASURE=1 go test ./tools/sim -run TestMeasureMinImpressions -v -timeout 1h
//
// EDGEREC_SEED picks the seed (default 1).
func TestMeasureMinImpressions(t *testing.T) {
	if os.Getenv("EDGEREC_MEASURE") == "" {
		t.Skip("a measurement of minutes: EDGEREC_MEASURE=1 go test ./tools/sim -run TestMeasureMinImpressions -v -timeout 1h")
	}
	cfg := DefaultConfig()
	if s, err := strconv.ParseUint(os.Getenv("EDGEREC_SEED"), 10, 64); err == nil {
		cfg.Seed, cfg.Synth.Seed, cfg.Train.Seed, cfg.Ranker.Seed = s, int64(s), int64(s), int64(s)
	}
	cfg.Wasm, cfg.Dir = testWasm, t.TempDir()
	ctx := context.Background()
	cfg.afterRound1 = func(lp *loop) error {
		without, _, err := withRanker(lp.b, lp.run, lp.ds, lp.cfg)
		if err != nil {
			return err
		}
		base, err := lp.serve(ctx, without, "without", filepath.Join(cfg.Dir, "m", "without"))
		if err != nil {
			return err
		}
		t.Logf("without events: expected %.4f", base.arms[0].Expected)
		users := pickUsers(lp.ds, cfg.Users, cfg.Seed)
		for _, n := range []int{25, 50, 100, 300} {
			keep := map[string]bool{}
			for _, u := range users[:n] {
				keep[lp.ds.Users[u].ID] = true
			}
			var evs []events.Event
			for _, e := range lp.evs {
				if keep[e.User] {
					evs = append(evs, e)
				}
			}
			ev := train.PrepareEvents(lp.ds, evs)
			for _, lists := range []bool{false, true} {
				c := *lp.cfg
				c.Events.MinImpressions = 0
				if !lists {
					c.Events.MinImpressions = 1 << 30
				}
				b, rep, err := trainBundle(train.AddTakes(lp.ds, ev), &c, ev, "m")
				if err != nil {
					return err
				}
				name := fmt.Sprintf("%d-%v", n, lists)
				rr, err := lp.serve(ctx, b, name, filepath.Join(cfg.Dir, "m", name))
				if err != nil {
					return err
				}
				rt := &RetrainResult{}
				rt.compare(base.sessions, rr.sessions, cfg.Bootstrap, cfg.Seed)
				t.Logf("seed %d, events of %3d users (%5d shown, %4d taken), lists %-5v ranker kept %-5v: expected %.4f, with − without %+.4f [%+.4f, %+.4f] (observed %+.4f [%+.4f, %+.4f])",
					cfg.Seed, n, ev.Shown, ev.Taken, lists, rep != nil && rep.Used, rr.arms[0].Expected,
					rt.ExpectedDiff, rt.ExpectedLo, rt.ExpectedHi, rt.Diff, rt.DiffLo, rt.DiffHi)
			}
		}
		return nil
	}
	_, err := Run(ctx, cfg)
	require.NoError(t, err)
}

// TestMeasureDemotion separates what round 2's bundle trained with events
// gains by learning from the lists from what it gains by not applying
// the hand-set demotion (the simulated users do not tire of an item, so
// showing one again costs nothing): the bundle trained without events is
// served as it is, with the rule off (demote 0), and the bundle trained
// with events beside them. Not part of make test:
//
//	EDGEREC_MEASURE=1 go test ./tools/sim -run TestMeasureDemotion -v -timeout 1h
//
// EDGEREC_SEED picks the seed (default 1).
func TestMeasureDemotion(t *testing.T) {
	if os.Getenv("EDGEREC_MEASURE") == "" {
		t.Skip("a measurement of minutes: EDGEREC_MEASURE=1 go test ./tools/sim -run TestMeasureDemotion -v -timeout 1h")
	}
	cfg := DefaultConfig()
	if s, err := strconv.ParseUint(os.Getenv("EDGEREC_SEED"), 10, 64); err == nil {
		cfg.Seed, cfg.Synth.Seed, cfg.Train.Seed, cfg.Ranker.Seed = s, int64(s), int64(s), int64(s)
	}
	cfg.Wasm, cfg.Dir = testWasm, t.TempDir()
	ctx := context.Background()
	cfg.afterRound1 = func(lp *loop) error {
		without, _, err := withRanker(lp.b, lp.run, lp.ds, lp.cfg)
		if err != nil {
			return err
		}
		ev := train.PrepareEvents(lp.ds, lp.evs)
		with, _, err := trainBundle(train.AddTakes(lp.ds, ev), lp.cfg, ev, "m")
		if err != nil {
			return err
		}
		ruleOff := *without
		pipe := *without.Pipeline
		pipe.Defaults.Demote = 0
		ruleOff.Pipeline = &pipe
		var base *roundResult
		for _, v := range []struct {
			name string
			b    *bundle.Bundle
		}{{"without", without}, {"without-rule-off", &ruleOff}, {"with", with}} {
			rr, err := lp.serve(ctx, v.b, v.name, filepath.Join(cfg.Dir, "m", v.name))
			if err != nil {
				return err
			}
			if base == nil {
				base = rr
			}
			rt := &RetrainResult{}
			rt.compare(base.sessions, rr.sessions, cfg.Bootstrap, cfg.Seed)
			t.Logf("seed %d, %-16s (demotion %s): expected %.4f, − without %+.4f [%+.4f, %+.4f] (observed %+.4f [%+.4f, %+.4f])",
				cfg.Seed, v.name, demotion(v.b), rr.arms[0].Expected, rt.ExpectedDiff, rt.ExpectedLo, rt.ExpectedHi, rt.Diff, rt.DiffLo, rt.DiffHi)
		}
		return nil
	}
	_, err := Run(ctx, cfg)
	require.NoError(t, err)
}

func demotion(b *bundle.Bundle) string {
	if b.Ranker != nil && b.Ranker.LearnedDemotion() {
		return "learned"
	}
	return fmt.Sprintf("rule %g", b.Pipeline.Defaults.Demote)
}

// TestMeasureRankerSeeds tells the lists' effect from the ranker's
// initialization: round 2's bundle trained on the takes alone and on the
// takes and the lists, each with ranker seeds 1 to 3 (a ranker with
// shown_log has one more input, so the two start from different weights
// under one seed). Not part of make test:
//
//	EDGEREC_MEASURE=1 go test ./tools/sim -run TestMeasureRankerSeeds -v -timeout 1h
func TestMeasureRankerSeeds(t *testing.T) {
	if os.Getenv("EDGEREC_MEASURE") == "" {
		t.Skip("a measurement of minutes: EDGEREC_MEASURE=1 go test ./tools/sim -run TestMeasureRankerSeeds -v -timeout 1h")
	}
	cfg := DefaultConfig()
	cfg.Wasm, cfg.Dir = testWasm, t.TempDir()
	ctx := context.Background()
	cfg.afterRound1 = func(lp *loop) error {
		without, _, err := withRanker(lp.b, lp.run, lp.ds, lp.cfg)
		if err != nil {
			return err
		}
		base, err := lp.serve(ctx, without, "without", filepath.Join(cfg.Dir, "m", "without"))
		if err != nil {
			return err
		}
		ev := train.PrepareEvents(lp.ds, lp.evs)
		for rs := int64(1); rs <= 3; rs++ {
			for _, lists := range []bool{false, true} {
				c := *lp.cfg
				c.Ranker.Seed = rs
				if !lists {
					c.Events.MinImpressions = 1 << 30
				}
				b, _, err := trainBundle(train.AddTakes(lp.ds, ev), &c, ev, "m")
				if err != nil {
					return err
				}
				name := fmt.Sprintf("%d-%v", rs, lists)
				rr, err := lp.serve(ctx, b, name, filepath.Join(cfg.Dir, "m", name))
				if err != nil {
					return err
				}
				rt := &RetrainResult{}
				rt.compare(base.sessions, rr.sessions, cfg.Bootstrap, cfg.Seed)
				t.Logf("ranker seed %d, lists %-5v (demotion %s): expected %.4f, − without %+.4f [%+.4f, %+.4f]",
					rs, lists, demotion(b), rr.arms[0].Expected, rt.ExpectedDiff, rt.ExpectedLo, rt.ExpectedHi)
			}
		}
		return nil
	}
	_, err := Run(ctx, cfg)
	require.NoError(t, err)
}
