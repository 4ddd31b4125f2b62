// Package tune chooses the two-tower's hyperparameters on a validation
// split by successive halving (Jamieson & Talwalkar, "Non-stochastic Best
// Arm Identification and Hyperparameter Optimization", AISTATS 2016): the
// base configuration and Trials−1 configurations drawn at random from a
// Space are each trained for a
// few epochs and scored by validation Recall@20 (train.Fit's early-stopping
// signal on the latest Config.Validation share of the events it is given);
// the best 1/Eta of them, and always the base configuration, go on to a
// rung with Eta times the epochs, until one rung trains for Config.Epochs.
//
// Search never sees events outside the data set it is given: callers that
// evaluate afterwards (edgerec eval --tune) pass the training part of their
// split, so the test window stays unseen.
//
// A search is reproducible for a seed and a worker count, unless Budget cuts
// it short: trials are drawn and trained in a fixed order, and a trial whose
// expected cost would pass the budget is not started.
package tune

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/edgerec/edgerec/tools/dataset"
	"github.com/edgerec/edgerec/tools/train"
)

// Options controls a search.
type Options struct {
	// Trials is the number of configurations drawn for the first rung
	// (default 9).
	Trials int
	// Eta is the halving factor: each rung keeps the best 1/Eta and trains
	// them Eta times longer (default 3).
	Eta int
	// Budget bounds the search's wall time (0: none).
	Budget time.Duration
	// Seed draws the configurations; trials train with the base config's
	// seed.
	Seed uint64
	// Space is searched (nil: DefaultSpace).
	Space Space
	// Progress, if not nil, receives each finished trial.
	Progress func(Trial)
}

func (o *Options) defaults() {
	if o.Trials <= 0 {
		o.Trials = 9
	}
	if o.Eta < 2 {
		o.Eta = 3
	}
	if o.Space == nil {
		o.Space = DefaultSpace()
	}
}

// Trial is one configuration trained at one rung.
type Trial struct {
	ID        int            `json:"id"`         // the configuration's index in draw order
	Rung      int            `json:"rung"`       // 0 for the first
	Epochs    int            `json:"epochs"`     // the most epochs this rung trains
	Params    map[string]any `json:"params"`     // the drawn values, by config key
	ValRecall float64        `json:"val_recall"` // best validation Recall@20 over its epochs
	BestEpoch int            `json:"best_epoch"`
	Seconds   float64        `json:"seconds"`
	Err       string         `json:"error,omitempty"` // training failed (e.g. diverged): scored 0
}

// Result is the outcome of a search.
type Result struct {
	Trials  []Trial      `json:"trials"`
	Best    Trial        `json:"best"`   // the best trial of the highest rung reached
	Config  train.Config `json:"config"` // the base config with Best's values (Epochs stays base's maximum)
	Seconds float64      `json:"seconds"`
	Cut     bool         `json:"cut"` // the budget ended the search before its last rung
}

// Search tunes base on ds. base.Validation must be positive: it is the
// share of ds's latest events every trial is scored on.
func Search(ds *dataset.Dataset, base train.Config, opt Options) (*Result, error) {
	opt.defaults()
	if base.Validation <= 0 {
		return nil, errors.New("tune: the base config needs a validation share (validation > 0)")
	}
	if err := base.Validate(); err != nil {
		return nil, fmt.Errorf("tune: %w", err)
	}
	start := time.Now()
	rng := rand.New(rand.NewPCG(opt.Seed, 0x74756e65))
	type arm struct {
		id     int
		params map[string]any
		cfg    train.Config
	}
	arms := make([]arm, 0, opt.Trials)
	for id := 0; id < opt.Trials; id++ {
		// The first configuration is the base itself, so the search never
		// chooses worse than the defaults on validation.
		params := map[string]any{}
		if id > 0 {
			params = opt.Space.draw(rng)
		}
		cfg, err := apply(base, params)
		if err != nil {
			return nil, err
		}
		arms = append(arms, arm{id, params, cfg})
	}
	// One rung per halving of the trials, but no more rungs than the
	// epochs can be divided by Eta: two rungs of the same length would
	// train the same configurations twice for the same score.
	rungs := 1
	for n := opt.Trials; n > 1; n = (n + opt.Eta - 1) / opt.Eta {
		rungs++
	}
	rungs = min(rungs, 1+int(math.Floor(math.Log(float64(base.Epochs))/math.Log(float64(opt.Eta))+1e-9)))
	res := &Result{}
	var perEpoch float64 // seconds per epoch, measured
	var done []Trial
	for rung := 0; rung < rungs && len(arms) > 0; rung++ {
		epochs := max(1, base.Epochs/pow(opt.Eta, rungs-1-rung))
		var scored []Trial
		for _, a := range arms {
			if opt.Budget > 0 && perEpoch > 0 &&
				time.Since(start)+time.Duration(perEpoch*float64(epochs)*float64(time.Second)) > opt.Budget {
				res.Cut = true
				break
			}
			cfg := a.cfg
			cfg.Epochs, cfg.Refit = epochs, false
			t0 := time.Now()
			tr := Trial{ID: a.id, Rung: rung, Epochs: epochs, Params: a.params}
			run, err := train.Fit(ds, cfg, nil)
			if err != nil {
				tr.Err = err.Error()
			} else {
				tr.BestEpoch = run.BestEpoch
				if len(run.ValRecall) > 0 {
					tr.ValRecall = slices.Max(run.ValRecall)
				}
				perEpoch = max(perEpoch, time.Since(t0).Seconds()/float64(max(len(run.ValRecall), 1)))
			}
			tr.Seconds = time.Since(t0).Seconds()
			res.Trials = append(res.Trials, tr)
			scored = append(scored, tr)
			if opt.Progress != nil {
				opt.Progress(tr)
			}
		}
		if len(scored) == 0 {
			break
		}
		done = scored
		if res.Cut {
			break
		}
		// Keep the best 1/Eta (ties: the earlier draw) for the next rung.
		order := slices.Clone(scored)
		slices.SortStableFunc(order, func(x, y Trial) int { return cmp.Compare(y.ValRecall, x.ValRecall) })
		keep := max(1, len(order)/opt.Eta)
		var next []arm
		for _, t := range order[:keep] {
			next = append(next, arms[slices.IndexFunc(arms, func(a arm) bool { return a.id == t.ID })])
		}
		// The base configuration always goes on: a short rung favours
		// settings that learn fast (a high step size), and the defaults
		// often do best only after the epochs a short rung does not give
		// them, so the last rung compares every survivor with them.
		if i := slices.IndexFunc(arms, func(a arm) bool { return a.id == 0 }); i >= 0 &&
			!slices.ContainsFunc(next, func(a arm) bool { return a.id == 0 }) {
			next = append(next, arms[i])
		}
		if rung+1 < rungs {
			arms = next
		}
	}
	if len(done) == 0 { // cannot happen: the first trial always runs
		return nil, errors.New("tune: no trial finished")
	}
	best := done[0]
	for _, t := range done[1:] {
		if t.ValRecall > best.ValRecall {
			best = t
		}
	}
	// The chosen configuration keeps base's Epochs as its maximum: the
	// final fit stops early on its own, and a search the budget cut short
	// must not hand it a first rung's few epochs.
	cfg, err := apply(base, best.Params)
	if err != nil {
		return nil, err
	}
	res.Best, res.Config = best, cfg
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

func pow(b, e int) int {
	return int(math.Pow(float64(b), float64(e)))
}
