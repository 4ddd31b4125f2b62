package sim

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/tools/builder"
	"github.com/edgerec/edgerec/tools/dataset"
	"github.com/edgerec/edgerec/tools/train"
)

// RetrainResult is round 2 of the loop (Config.Retrain): two bundles,
// trained alike on the data set (towers and ranker, train.Fit then
// train.FitRankerEvents) except that one also learns from round 1's
// events, each served to the same users with the same draws (the users'
// histories holding what they took in round 1).
type RetrainResult struct {
	// Without and With are the simulator's counts for the bundle trained
	// without and with the events (Name "without events", "with events").
	Without ArmResult `json:"without"`
	With    ArmResult `json:"with"`
	// Diff is With's observed take rate minus Without's, and [DiffLo,
	// DiffHi] its 95% interval: the percentiles of a paired bootstrap over
	// users (each user's lists under both bundles resampled together).
	Diff   float64 `json:"diff"`
	DiffLo float64 `json:"diff_low"`
	DiffHi float64 `json:"diff_high"`
	// ExpectedDiff and [ExpectedLo, ExpectedHi] are the same of the
	// expected take rates, the truth the simulator knows.
	ExpectedDiff float64 `json:"expected_diff"`
	ExpectedLo   float64 `json:"expected_low"`
	ExpectedHi   float64 `json:"expected_high"`
	// Better: the events raised the take rate, in truth and with an
	// observed interval that excludes zero.
	Better bool `json:"better"`
	// RankerWithout and RankerWith are the two rankers' training reports;
	// Demotion the demotion the bundle trained with events applies
	// ("learned" or "rule").
	RankerWithout *train.RankerReport `json:"ranker_without"`
	RankerWith    *train.RankerReport `json:"ranker_with"`
	Demotion      string              `json:"demotion"`
	// Requests is the lists asked for in the round; Failed those not
	// answered with 200.
	Requests int `json:"requests"`
	Failed   int `json:"failed"`
	// Seconds spent training the two bundles and serving the round.
	TrainSeconds float64 `json:"train_seconds"`
	ServeSeconds float64 `json:"serve_seconds"`
	// EventsDir holds the round's events: EventsDir/without and
	// EventsDir/with.
	EventsDir string `json:"events_dir"`
}

// retrain runs round 2 (see RetrainResult) on round 1's events and
// sessions. The bundle trained without events is round 1's with a ranker
// and without arms: what training on the data set alone gives, trained
// once.
func retrain(ctx context.Context, lp *loop) (*RetrainResult, error) {
	cfg, ds := lp.cfg, lp.ds
	rt := &RetrainResult{EventsDir: filepath.Join(cfg.Dir, "round2")}
	if ents, err := os.ReadDir(rt.EventsDir); err == nil && len(ents) > 0 {
		return nil, errorf("%s holds events already (an earlier run?): remove it or choose another directory", rt.EventsDir)
	}
	t0 := time.Now()
	lp.progress("train without events", 0, 1)
	without, rep, err := withRanker(lp.b, lp.run, ds, cfg)
	if err != nil {
		return nil, err
	}
	rt.RankerWithout = rep
	lp.progress("train with events", 0, 1)
	ev := train.PrepareEvents(ds, lp.evs)
	with, rep, err := trainBundle(train.AddTakes(ds, ev), cfg, ev, "sim-with-events")
	if err != nil {
		return nil, err
	}
	rt.RankerWith = rep
	rt.Demotion = "rule"
	if with.Ranker != nil && with.Ranker.LearnedDemotion() {
		rt.Demotion = "learned"
	}
	rt.TrainSeconds = time.Since(t0).Seconds()

	t0 = time.Now()
	var rounds [2]*roundResult
	for i, b := range []*bundle.Bundle{without, with} {
		name := []string{"without", "with"}[i]
		if rounds[i], err = lp.serve(ctx, b, name, filepath.Join(rt.EventsDir, name)); err != nil {
			return nil, err
		}
		rt.Requests += rounds[i].requests
		rt.Failed += rounds[i].failed
	}
	rt.ServeSeconds = time.Since(t0).Seconds()
	rt.Without, rt.With = rounds[0].arms[0], rounds[1].arms[0]
	rt.Without.Name, rt.With.Name = "without events", "with events"
	rt.compare(rounds[0].sessions, rounds[1].sessions, cfg.Bootstrap, cfg.Seed)
	return rt, nil
}

// serve serves b (written to Dir as sim-NAME-events.bundle) to round 1's
// users, their histories holding what they took in round 1, with the
// events in dir, four hours after round 1 began on the simulated clock.
func (lp *loop) serve(ctx context.Context, b *bundle.Bundle, name, dir string) (*roundResult, error) {
	users := pickUsers(lp.ds, lp.cfg.Users, lp.cfg.Seed)
	history := make(map[int][]api.Event, len(users))
	for k, u := range users {
		if s := lp.sessions[k]; s != nil {
			history[u] = s.taken
		}
	}
	raw, err := bundle.Encode(b)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(lp.cfg.Dir, "sim-"+name+"-events.bundle")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		return nil, err
	}
	return serveRound(ctx, lp.cfg, lp.mod, lp.ds, lp.ts, round{stage: "serve " + name + " events", bundlePath: path,
		eventsDir: dir, arms: []string{""}, history: history, start: lp.start + round2Ms, tag: name}, lp.progress)
}

// withRanker returns round 1's bundle b, trained as run on ds, with the
// ranker `edgerec train` would train (no events) and without arms.
func withRanker(b *bundle.Bundle, run *train.Run, ds *dataset.Dataset, cfg *Config) (*bundle.Bundle, *train.RankerReport, error) {
	out := *b
	pipe := *b.Pipeline
	pipe.Arms = nil
	out.Pipeline = &pipe
	out.Manifest.Version = "sim-without-events"
	if run.Holdout == nil {
		return &out, nil, nil
	}
	r, rep, err := train.FitRanker(run.Holdout, ds, run.ValStart, cfg.Ranker)
	if err != nil {
		return nil, nil, err
	}
	out.Ranker = r
	return &out, rep, nil
}

// trainBundle trains towers and ranker on ds (and ev, when not nil) as
// `edgerec train [--events]` does, and builds a bundle without arms.
func trainBundle(ds *dataset.Dataset, cfg *Config, ev *train.Events, version string) (*bundle.Bundle, *train.RankerReport, error) {
	run, err := train.Fit(ds, cfg.Train, nil)
	if err != nil {
		return nil, nil, err
	}
	m := run.Model
	var rep *train.RankerReport
	if run.Holdout != nil {
		r, rp, err := train.FitRankerEvents(run.Holdout, ds, run.ValStart, cfg.Ranker, ev, cfg.Events)
		if err != nil {
			return nil, nil, err
		}
		m.Ranker, rep = r, rp
	}
	b, err := builder.Build(m, ds, builder.Options{Version: version, Builder: "edgerec sim"})
	return b, rep, err
}

// compare sets the differences and their paired bootstrap intervals
// from each user's sessions under the two bundles (a and b, in the order
// of pickUsers).
func (rt *RetrainResult) compare(a, b []*session, resamples int, seed uint64) {
	type pair struct{ ta, ia, ea, tb, ib, eb float64 }
	var users []pair
	for k := range a {
		if a[k] == nil || b[k] == nil {
			continue
		}
		users = append(users, pair{float64(a[k].takes), float64(a[k].impressions), a[k].expected,
			float64(b[k].takes), float64(b[k].impressions), b[k].expected})
	}
	diffs := func(idx func(int) int) (obs, exp float64) {
		var p pair
		for k := range users {
			u := users[idx(k)]
			p.ta, p.ia, p.ea = p.ta+u.ta, p.ia+u.ia, p.ea+u.ea
			p.tb, p.ib, p.eb = p.tb+u.tb, p.ib+u.ib, p.eb+u.eb
		}
		if p.ia == 0 || p.ib == 0 {
			return 0, 0
		}
		return p.tb/p.ib - p.ta/p.ia, p.eb/p.ib - p.ea/p.ia
	}
	rt.Diff, rt.ExpectedDiff = diffs(func(k int) int { return k })
	rt.DiffLo, rt.DiffHi, rt.ExpectedLo, rt.ExpectedHi = rt.Diff, rt.Diff, rt.ExpectedDiff, rt.ExpectedDiff
	if resamples > 0 && len(users) > 1 {
		r := rand.New(rand.NewPCG(seed, 0x7265747261696e))
		obs, exp := make([]float64, resamples), make([]float64, resamples)
		for i := range obs {
			obs[i], exp[i] = diffs(func(int) int { return r.IntN(len(users)) })
		}
		slices.Sort(obs)
		slices.Sort(exp)
		lo, hi := int(0.025*float64(resamples)), min(resamples-1, int(0.975*float64(resamples)))
		rt.DiffLo, rt.DiffHi, rt.ExpectedLo, rt.ExpectedHi = obs[lo], obs[hi], exp[lo], exp[hi]
	}
	rt.Better = rt.ExpectedDiff > 0 && rt.DiffLo > 0
}
