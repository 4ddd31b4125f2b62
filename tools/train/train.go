// Package train fits the two towers of core/tower on an interaction log, as
// the reference notes describe two-tower training.
//
// Each interaction (u, i) at position p of u's history is an example: the
// query is u's features at that moment and the items before p (the last
// MaxHistory); the positive is i. A batch of B examples is scored against
// its B positives (in-batch negatives) and B′ items drawn uniformly from the
// corpus (mixed negative sampling: Yang et al., "Mixed Negative Sampling
// for Learning Two-tower Neural Networks in Recommendations", WWW 2020):
// S = U·Vᵀ/τ with unit embeddings, and the loss is each row's softmax
// cross-entropy against its own positive (Yi et al., "Sampling-Bias-
// Corrected Neural Modeling for Large Corpus Item Recommendations", RecSys
// 2019). With LogQ each logit is corrected by −log q(item), q the chance
// that the item fills a column (the mixture of its share of the examples
// and the uniform draw), so popular items are not over-penalized as
// negatives. A negative column holding the row's own positive item is
// masked out (an accidental hit). Item ids are hidden from the item tower
// with probability IDDropout so that the content features learn to embed
// items the model never saw.
//
// Early stopping watches Recall@20 on the latest Validation share of events;
// with Refit the model is then retrained on every event for the best number
// of epochs. Adam updates the weights, and only the touched rows of the
// embedding tables.
//
// The forward passes are core/tower's; this package adds the backward
// passes. Work is split over Workers goroutines; gradient sums run in a
// fixed order, so a run is reproducible for a given Seed and Workers.
package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/edgerec/edgerec/core/wire"
	"github.com/edgerec/edgerec/tools/dataset"
	"github.com/edgerec/edgerec/tools/model"
)

// Progress reports training progress.
type Progress struct {
	Phase         string // "fit" (with early stopping), "refit" or "train"
	Epoch, Epochs int
	Done, Total   int     // examples of this epoch
	Loss          float64 // mean loss over this epoch so far
	PerSecond     float64 // examples per second over this epoch so far
	EpochDone     bool
	ValRecall     float64 // validation Recall@20 after the epoch (EpochDone, phase "fit")
}

// Run is the outcome of Fit.
type Run struct {
	// Model is the trained model: refit on every event when Config.Refit,
	// else the best model before the validation window.
	Model *model.Model
	// Holdout is the best model trained on the events before ValStart (nil
	// without validation); the ranker is trained on what it retrieves for
	// the validation window.
	Holdout   *model.Model
	ValStart  int64     // first validation timestamp
	BestEpoch int       // epochs of the best validation score
	ValRecall []float64 // validation Recall@20 per epoch
	// PopPrior is the popularity prior the model's bundles rank the
	// two-tower source with (Config.PopPrior, or chosen on validation);
	// PriorRecall the best epoch's validation Recall@20 under each prior
	// considered (the first: none).
	PopPrior    float32
	PriorRecall []float64
	Seconds     float64 // wall time
	Examples    int     // training examples per epoch of the final model
}

// Train fits a model on ds and returns Fit's Model.
func Train(ds *dataset.Dataset, cfg Config, progress func(Progress)) (*model.Model, error) {
	r, err := Fit(ds, cfg, progress)
	if err != nil {
		return nil, err
	}
	return r.Model, nil
}

// Fit trains on every interaction in ds, with early stopping on the latest
// Config.Validation share of them. progress, if not nil, is called about
// once a second and at the end of every epoch.
func Fit(ds *dataset.Dataset, cfg Config, progress func(Progress)) (*Run, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	start := time.Now()
	c, err := newCorpus(ds, cfg.Validation)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	run := &Run{ValStart: c.valStart}
	val := c.validationQueries(maxValQueries)
	if len(val) == 0 {
		// Without validation users there is nothing to stop on: train on
		// everything for Config.Epochs.
		m, loss, err := trainEpochs(c, &cfg, c.all(), cfg.Epochs, "train", nil, progress)
		if err != nil {
			return nil, err
		}
		// A set prior is kept; none is chosen without validation.
		run.Model, run.BestEpoch, run.Examples, run.PopPrior = m, cfg.Epochs, len(c.all()), max(cfg.PopPrior, 0)
		finish(run.Model, c, ds, &cfg, loss, run.BestEpoch, run.Examples, run.PopPrior)
		run.Seconds = time.Since(start).Seconds()
		return run, nil
	}

	var best *model.Model
	var bestLoss float64
	bestRecall := -1.0
	// Early stopping watches the recall by score alone; the prior is
	// chosen at the best epoch, among the recalls of every prior there.
	priors, pop := []float32{0}, []float32(nil)
	if cfg.PopPrior < 0 {
		priors, pop = popPriors, c.trainPop
	} else if cfg.PopPrior > 0 {
		priors, pop = []float32{0, cfg.PopPrior}, c.trainPop
	}
	// The prior is chosen on the queries of users who were there before
	// the window, as the evaluation's test users are: a user's first
	// ratings (a sign-up's, say) are of popular items far more than their
	// later ones, and would choose a prior the established users do not
	// bear out.
	known := c.establishedQueries(val)
	_, _, err = trainEpochs(c, &cfg, c.train, cfg.Epochs, "fit", func(epoch int, m *model.Model, loss float64) (float64, bool) {
		r := validRecall(c, m, &cfg, val, nil, nil)[0]
		run.ValRecall = append(run.ValRecall, r)
		if r > bestRecall {
			bestRecall, run.BestEpoch, bestLoss = r, epoch, loss
			best = clone(m)
			if len(priors) > 1 && len(known) > 0 {
				run.PriorRecall = validRecall(c, m, &cfg, known, priors, pop)
			}
		}
		return r, epoch-run.BestEpoch >= cfg.Patience
	}, progress)
	if err != nil {
		return nil, err
	}
	run.PopPrior = max(cfg.PopPrior, 0)
	if cfg.PopPrior < 0 && len(run.PriorRecall) > 0 {
		// A larger prior only where it beats the one chosen so far by
		// priorMargin: it narrows the catalog users see.
		g := 0
		for i, r := range run.PriorRecall {
			if r > run.PriorRecall[g]+priorMargin {
				g = i
			}
		}
		run.PopPrior = priors[g]
	}
	run.Holdout = best
	finish(run.Holdout, c, ds, &cfg, bestLoss, run.BestEpoch, len(c.train), run.PopPrior)
	if !cfg.Refit {
		run.Model, run.Examples = run.Holdout, len(c.train)
		run.Seconds = time.Since(start).Seconds()
		return run, nil
	}
	all := c.all()
	m, loss, err := trainEpochs(c, &cfg, all, run.BestEpoch, "refit", nil, progress)
	if err != nil {
		return nil, err
	}
	run.Model, run.Examples = m, len(all)
	finish(run.Model, c, ds, &cfg, loss, run.BestEpoch, run.Examples, run.PopPrior)
	run.Seconds = time.Since(start).Seconds()
	return run, nil
}

// priorMargin is how much more validation Recall@20 a larger popularity
// prior must reach to be chosen over a smaller one.
const priorMargin = 0.001

// finish fills a trained model's manifest.
func finish(m *model.Model, c *corpus, ds *dataset.Dataset, cfg *Config, loss float64, epochs, examples int, prior float32) {
	m.Manifest = model.Manifest{
		Format: model.Format, Version: model.Version, Name: "twotower", TrainedAt: c.lastTime, Data: ds.Name,
		Dim: cfg.Dim, HistoryDim: cfg.IDDim, Temperature: cfg.Temperature, PopPrior: prior, Items: m.Vocab.Items.Size() - 1,
		Examples: examples, Epochs: epochs, FinalLoss: loss, Config: *cfg,
	}
}

// clone deep-copies a model.
func clone(m *model.Model) *model.Model {
	out := &model.Model{}
	for _, p := range []struct{ src, dst any }{{&m.Query, &out.Query}, {&m.Item, &out.Item}, {&m.Vocab, &out.Vocab}} {
		b, err := wire.Marshal(p.src)
		if err == nil {
			err = wire.Unmarshal(b, p.dst)
		}
		if err != nil {
			panic("train: cloning a model: " + err.Error()) // the model's own types always round-trip
		}
	}
	return out
}

// trainEpochs initializes a model on ex and trains it for up to epochs.
// After each epoch, onEpoch (if not nil) returns the validation score and
// whether to stop. It returns the model after the last epoch and its loss.
func trainEpochs(c *corpus, cfg *Config, ex []example, epochs int, phase string,
	onEpoch func(epoch int, m *model.Model, loss float64) (float64, bool), progress func(Progress)) (*model.Model, float64, error) {
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6564676572656321))
	m := initModel(c, cfg, ex, rng)
	t := newTrainer(m, c, cfg, ex)
	var loss float64
	for epoch := 1; epoch <= epochs; epoch++ {
		exs := shuffled(rng, ex, cfg.MaxPerUser)
		start, last := time.Now(), time.Now()
		var sum float64
		var n int
		for lo := 0; lo < len(exs); lo += cfg.Batch {
			hi := min(lo+cfg.Batch, len(exs))
			if hi-lo < 2 {
				break
			}
			sum += t.step(exs[lo:hi], rng, cfg.stepSize(epoch, float64(lo)/float64(len(exs)))) * float64(hi-lo)
			n += hi - lo
			if progress != nil && time.Since(last) > time.Second {
				last = time.Now()
				progress(Progress{Phase: phase, Epoch: epoch, Epochs: epochs, Done: n, Total: len(exs), Loss: sum / float64(n),
					PerSecond: float64(n) / time.Since(start).Seconds()})
			}
		}
		loss = sum / float64(max(n, 1))
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return nil, 0, fmt.Errorf("train: loss diverged to %v in epoch %d; lower the learning rate", loss, epoch)
		}
		p := Progress{Phase: phase, Epoch: epoch, Epochs: epochs, Done: n, Total: len(exs), Loss: loss,
			PerSecond: float64(n) / time.Since(start).Seconds(), EpochDone: true}
		stop := false
		if onEpoch != nil {
			p.ValRecall, stop = onEpoch(epoch, m, loss)
		}
		if progress != nil {
			progress(p)
		}
		if stop {
			break
		}
	}
	return m, loss, nil
}

// parallel runs fn(w, lo, hi) for each of W workers' share of [0, n); one
// worker runs on the caller's goroutine.
func parallel(W, n int, fn func(w, lo, hi int)) {
	if W <= 1 {
		fn(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	for w := 0; w < W; w++ {
		lo, hi := w*n/W, (w+1)*n/W
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(w, lo, hi)
		}()
	}
	wg.Wait()
}
