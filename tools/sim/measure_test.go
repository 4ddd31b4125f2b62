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

// measurement is one of the gated measurements below: round 1 as
// DefaultConfig, then its own bundles, each served to round 1's users and
// compared with a base.
type measurement struct {
	ctx context.Context
	cfg Config
	lp  *loop
}

// measure runs round 1 (EDGEREC_SEED picks the seed, default 1) and then
// after, when EDGEREC_MEASURE is set: a measurement of minutes, not part
// of make test.
func measure(t *testing.T, after func(m *measurement) error) {
	if os.Getenv("EDGEREC_MEASURE") == "" {
		t.Skipf("a measurement of minutes: EDGEREC_MEASURE=1 go test ./tools/sim -run %s -v -timeout 1h", t.Name())
	}
	cfg := DefaultConfig()
	if s, err := strconv.ParseUint(os.Getenv("EDGEREC_SEED"), 10, 64); err == nil {
		cfg.Seed, cfg.Synth.Seed, cfg.Train.Seed, cfg.Ranker.Seed = s, int64(s), int64(s), int64(s)
	}
	cfg.Wasm, cfg.Dir = testWasm, t.TempDir()
	m := &measurement{ctx: context.Background(), cfg: cfg}
	cfg.afterRound1 = func(lp *loop) error {
		m.lp = lp
		return after(m)
	}
	_, err := Run(m.ctx, cfg)
	require.NoError(t, err)
}

// serve serves b to round 1's users as name and compares it with base
// (nil: with itself).
func (m *measurement) serve(base *roundResult, b *bundle.Bundle, name string) (*roundResult, *RetrainResult, error) {
	rr, err := m.lp.serve(m.ctx, b, name, filepath.Join(m.cfg.Dir, "m", name))
	if err != nil {
		return nil, nil, err
	}
	if base == nil {
		base = rr
	}
	rt := &RetrainResult{}
	rt.compare(base.sessions, rr.sessions, m.cfg.Bootstrap, m.cfg.Seed)
	return rr, rt, nil
}

// without serves the bundle trained without events: the base.
func (m *measurement) without() (*bundle.Bundle, *roundResult, error) {
	b, _, err := withRanker(m.lp.b, m.lp.run, m.lp.ds, m.lp.cfg)
	if err != nil {
		return nil, nil, err
	}
	base, _, err := m.serve(nil, b, "without")
	return b, base, err
}

// withEvents trains a bundle with ev under c.
func (m *measurement) withEvents(c *Config, ev *train.Events) (*bundle.Bundle, *train.RankerReport, error) {
	return trainBundle(train.AddTakes(m.lp.ds, ev), c, ev, "m")
}

// withListsOrNot trains a bundle with ev under c, its ranker also
// trained on the logged lists or (lists false) on the takes only, and
// serves it against base under name.
func (m *measurement) withListsOrNot(base *roundResult, c Config, ev *train.Events, lists bool, name string) (*bundle.Bundle, *train.RankerReport, *roundResult, *RetrainResult, error) {
	if !lists {
		c.Events.MinImpressions = 1 << 30
	}
	b, rep, err := m.withEvents(&c, ev)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	rr, rt, err := m.serve(base, b, name)
	return b, rep, rr, rt, err
}

// TestMeasureMinImpressions measures what the ranker's logged lists add
// to the takes alone as the log grows, which sets
// train.EventConfig.MinImpressions: for the events of the first n of
// round 1's users, a bundle trained on their takes alone and one trained
// on their takes and lists, each compared with the bundle trained without
// events:
//
//	EDGEREC_MEASURE=1 go test ./tools/sim -run TestMeasureMinImpressions -v -timeout 1h
func TestMeasureMinImpressions(t *testing.T) {
	measure(t, func(m *measurement) error {
		_, base, err := m.without()
		if err != nil {
			return err
		}
		t.Logf("without events: expected %.4f", base.arms[0].Expected)
		users := pickUsers(m.lp.ds, m.cfg.Users, m.cfg.Seed)
		for _, n := range []int{25, 50, 100, 300} {
			keep := map[string]bool{}
			for _, u := range users[:n] {
				keep[m.lp.ds.Users[u].ID] = true
			}
			var evs []events.Event
			for _, e := range m.lp.evs {
				if keep[e.User] {
					evs = append(evs, e)
				}
			}
			ev := train.PrepareEvents(m.lp.ds, evs)
			for _, lists := range []bool{false, true} {
				c := *m.lp.cfg
				c.Events.MinImpressions = 0
				_, rep, rr, rt, err := m.withListsOrNot(base, c, ev, lists, fmt.Sprintf("%d-%v", n, lists))
				if err != nil {
					return err
				}
				t.Logf("seed %d, events of %3d users (%5d shown, %4d taken), lists %-5v ranker kept %-5v: expected %.4f, with − without %+.4f [%+.4f, %+.4f] (observed %+.4f [%+.4f, %+.4f])",
					m.cfg.Seed, n, ev.Shown, ev.Taken, lists, rep != nil && rep.Used, rr.arms[0].Expected,
					rt.ExpectedDiff, rt.ExpectedLo, rt.ExpectedHi, rt.Diff, rt.DiffLo, rt.DiffHi)
			}
		}
		return nil
	})
}

// TestMeasureDemotion separates what round 2's bundle trained with events
// gains by learning from the lists from what it gains by not applying
// the hand-set demotion (the simulated users do not tire of an item, so
// showing one again costs nothing): the bundle trained without events is
// served as it is, with the rule off (demote 0), and the bundle trained
// with events beside them:
//
//	EDGEREC_MEASURE=1 go test ./tools/sim -run TestMeasureDemotion -v -timeout 1h
func TestMeasureDemotion(t *testing.T) {
	measure(t, func(m *measurement) error {
		without, base, err := m.without()
		if err != nil {
			return err
		}
		ev := train.PrepareEvents(m.lp.ds, m.lp.evs)
		with, _, err := m.withEvents(m.lp.cfg, ev)
		if err != nil {
			return err
		}
		ruleOff := *without
		pipe := *without.Pipeline
		pipe.Defaults.Demote = 0
		ruleOff.Pipeline = &pipe
		t.Logf("seed %d, %-16s (demotion %s): expected %.4f", m.cfg.Seed, "without", demotion(without), base.arms[0].Expected)
		for _, v := range []struct {
			name string
			b    *bundle.Bundle
		}{{"without-rule-off", &ruleOff}, {"with", with}} {
			rr, rt, err := m.serve(base, v.b, v.name)
			if err != nil {
				return err
			}
			t.Logf("seed %d, %-16s (demotion %s): expected %.4f, − without %+.4f [%+.4f, %+.4f] (observed %+.4f [%+.4f, %+.4f])",
				m.cfg.Seed, v.name, demotion(v.b), rr.arms[0].Expected, rt.ExpectedDiff, rt.ExpectedLo, rt.ExpectedHi, rt.Diff, rt.DiffLo, rt.DiffHi)
		}
		return nil
	})
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
// under one seed):
//
//	EDGEREC_MEASURE=1 go test ./tools/sim -run TestMeasureRankerSeeds -v -timeout 1h
func TestMeasureRankerSeeds(t *testing.T) {
	measure(t, func(m *measurement) error {
		_, base, err := m.without()
		if err != nil {
			return err
		}
		ev := train.PrepareEvents(m.lp.ds, m.lp.evs)
		for rs := int64(1); rs <= 3; rs++ {
			for _, lists := range []bool{false, true} {
				c := *m.lp.cfg
				c.Ranker.Seed = rs
				b, _, rr, rt, err := m.withListsOrNot(base, c, ev, lists, fmt.Sprintf("%d-%v", rs, lists))
				if err != nil {
					return err
				}
				t.Logf("ranker seed %d, lists %-5v (demotion %s): expected %.4f, − without %+.4f [%+.4f, %+.4f]",
					rs, lists, demotion(b), rr.arms[0].Expected, rt.ExpectedDiff, rt.ExpectedLo, rt.ExpectedHi)
			}
		}
		return nil
	})
}

// TestMeasureWeekdays runs the bounded simulation of make test
// (boundedConfig) with its data ending on each of the last seven days:
// the day of the week is a context feature, so each day trains other
// models, and TestRunFindsBetterArm's margins must hold on every one:
//
//	EDGEREC_MEASURE=1 go test ./tools/sim -run TestMeasureWeekdays -v -timeout 1h
func TestMeasureWeekdays(t *testing.T) {
	if os.Getenv("EDGEREC_MEASURE") == "" {
		t.Skipf("a measurement of minutes: EDGEREC_MEASURE=1 go test ./tools/sim -run %s -v -timeout 1h", t.Name())
	}
	for back := range 7 {
		cfg := boundedConfig(t)
		cfg.Synth.Start = cfg.Synth.Start.AddDate(0, 0, -back)
		res, err := Run(context.Background(), cfg)
		require.NoError(t, err)
		rt := res.Retrain
		t.Logf("data ending %s (%s): round 1 %s, right %v; round 2 with − without events: expected %+.4f [%+.4f, %+.4f], observed %+.4f [%+.4f, %+.4f]",
			cfg.Synth.Start.AddDate(0, 0, cfg.Synth.Days).Format("2006-01-02"), cfg.Synth.Start.AddDate(0, 0, cfg.Synth.Days).Weekday(),
			res.Report.Comparisons[0].Verdict, res.Right, rt.ExpectedDiff, rt.ExpectedLo, rt.ExpectedHi, rt.Diff, rt.DiffLo, rt.DiffHi)
	}
}
