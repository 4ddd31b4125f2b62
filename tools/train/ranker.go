package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/nn"
	"github.com/edgerec/edgerec/core/pipeline"
	"github.com/edgerec/edgerec/core/rank"
	"github.com/edgerec/edgerec/tools/builder"
	"github.com/edgerec/edgerec/tools/dataset"
	"github.com/edgerec/edgerec/tools/model"
)

// RankerConfig sets the ranker and its training.
type RankerConfig struct {
	Depth   int     `json:"depth"`   // retrieved candidates the ranker re-scores
	Hidden  []int   `json:"hidden"`  // hidden layer widths (ReLU)
	Cross   int     `json:"cross"`   // DCN-v2 cross layers before the MLP
	Epochs  int     `json:"epochs"`  // maximum passes over the lists
	LR      float32 `json:"lr"`      // Adam step size
	Holdout float64 `json:"holdout"` // share of lists held out to pick the epoch
	Seed    int64   `json:"seed"`
	// Loss is the training loss over each user's candidate list: one of
	// Losses (LossListwise, LossPairwise, LossPointwise).
	Loss string `json:"loss"`
	// ColdDropout is the share of candidate rows presented as cold in
	// training (the step's coldDrop).
	ColdDropout float64 `json:"cold_dropout"`
	// NoBlendGuard ships a ranker that beats the sources' retrieval order
	// on the held-out lists; by default it must also beat the reciprocal
	// rank blend of the sources, what the pipeline serves without a
	// ranker.
	NoBlendGuard bool `json:"no_blend_guard"`
	// MinLists is the fewest lists (users with a target among their
	// candidates) a ranker is trained on; with fewer, the pipeline is
	// served without one. Its held-out fifth is then too small to tell
	// whether the ranker beats the blend: on MovieLens-100K, 67 lists
	// gave a ranker that beat the blend on its 13 held-out lists and lost
	// to it on the test window (tools/eval/RESULTS.md, "What each part
	// adds").
	MinLists int `json:"min_lists"`
	// EMA, when above 0, is the decay β of an exponential moving average
	// of the weights, w̄ ← β·w̄ + (1 − β)·w after every step: the average
	// is what the held-out lists score and what is shipped.
	EMA float64 `json:"ema"`
	// Select is the held-out metric that picks the epoch: "recall@20" or
	// "ndcg@10". The guard compares Recall@20 either way.
	Select string `json:"select"`
	// Ensemble trains this many rankers (without cross layers), each
	// from its own initialization and order, and ships one model whose
	// score is their mean (mergeRankers). 0 or 1 is one ranker.
	Ensemble int `json:"ensemble"`
	// Batch is the number of lists whose gradients one Adam step
	// averages; 0 or 1 steps on every list.
	Batch int `json:"batch"`
	// WeightDecay is AdamW's decoupled weight decay on every weight
	// tensor of the ranker, each step.
	WeightDecay float32 `json:"weight_decay"`
	// Cuts is how many requests each user of the validation window makes
	// at most: one at the window's start, and with Cuts > 1 up to
	// Cuts − 1 more at later times of the user's own events, each with
	// the events before it added to the history and those from it on as
	// its targets. 0 or 1 is one list per user. MinLists and the
	// held-out share count users, whatever their lists.
	Cuts int `json:"cuts"`
	// Folds, when above 1, decides whether the ranker beats the
	// retrieval order and the blend by cross-validation over that many
	// folds of the users (each fold's lists scored by a ranker trained on
	// the others'), and ships a ranker trained on every list; Holdout is
	// then unused. It needs SWA, a schedule that holds out nothing to
	// choose an epoch by.
	Folds int `json:"folds"`
	// FewUsers is the number of users with a list from which the
	// remedies for few lists stop: Folds (the held-out share then holds
	// enough users for the guard to be steady, and cross-validation would
	// train Folds + 1 rankers for nothing) and WeightDecay (applied every
	// step, its pull grows with the steps an epoch takes, that is with
	// the lists: at 0.1 it cost the synthetic set's 5 500 users 0.010
	// NDCG@10 and gained Last.fm's 240 0.004). 0 applies both whatever
	// the users.
	FewUsers int `json:"few_users"`
	// SWA, when above 0, trains every one of Epochs and ships the mean
	// of the weights at the end of each of the last SWA epochs
	// (stochastic weight averaging, Izmailov et al. 2018), instead of
	// the weights of the epoch that scored best on the held-out lists:
	// those then only decide whether the ranker is shipped.
	SWA int `json:"swa"`
	// Soup, when above 1, trains this many rankers from one
	// initialization, each on its own order of the lists, and ships the
	// mean of their weights: one model of one ranker's size and cost (a
	// "model soup", Wortsman et al. 2022), where Ensemble's mean of
	// scores costs one ranker per member. Like Folds and WeightDecay it
	// stops from FewUsers users on, where one ranker is steady already,
	// and an Ensemble of more than one turns it off.
	Soup int `json:"soup"`
}

// DefaultRankerConfig returns the ranker defaults.
func DefaultRankerConfig() RankerConfig {
	return RankerConfig{Depth: 200, Hidden: []int{32, 16}, Cross: 1, Epochs: 10, LR: 0.003, Holdout: 0.2, Seed: 1, Loss: LossListwise, MinLists: 100,
		WeightDecay: 0.1, Cuts: 4, Folds: 5, FewUsers: 1000, SWA: 8, Soup: 4}
}

// Validate reports a setting out of range.
func (c *RankerConfig) Validate() error {
	switch {
	case !slices.Contains(Losses, c.Loss):
		return fmt.Errorf("ranker loss %q, want one of %v", c.Loss, Losses)
	case c.Ensemble < 0 || c.Ensemble > 16:
		return fmt.Errorf("ranker ensemble of %d out of [0, 16]", c.Ensemble)
	case c.Soup < 0 || c.Soup > 16:
		return fmt.Errorf("ranker soup of %d out of [0, 16]", c.Soup)
	case !(c.EMA >= 0 && c.EMA < 1):
		return fmt.Errorf("ranker EMA decay %v out of [0, 1)", c.EMA)
	case c.Select != "" && c.Select != SelectRecall && c.Select != SelectNDCG:
		return fmt.Errorf("ranker select %q, want %s or %s", c.Select, SelectRecall, SelectNDCG)
	case !(c.ColdDropout >= 0 && c.ColdDropout < 1):
		return fmt.Errorf("ranker cold dropout %v out of [0, 1)", c.ColdDropout)
	case c.Batch < 0 || c.Batch > 4096:
		return fmt.Errorf("ranker batch of %d lists out of [0, 4096]", c.Batch)
	case !(c.WeightDecay >= 0 && c.WeightDecay < 1):
		return fmt.Errorf("ranker weight decay %v out of [0, 1)", c.WeightDecay)
	case c.Cuts < 0 || c.Cuts > 64:
		return fmt.Errorf("ranker cuts %d out of [0, 64]", c.Cuts)
	case c.Folds < 0 || c.Folds > 20:
		return fmt.Errorf("ranker folds %d out of [0, 20]", c.Folds)
	case c.FewUsers < 0:
		return fmt.Errorf("ranker few users %d below 0", c.FewUsers)
	case c.Folds > 1 && c.SWA == 0:
		return fmt.Errorf("ranker folds %d need swa > 0 (a fixed schedule: no held-out lists remain to choose an epoch)", c.Folds)
	case c.SWA < 0 || c.SWA > c.Epochs:
		return fmt.Errorf("ranker SWA over %d epochs out of [0, epochs = %d]", c.SWA, c.Epochs)
	case c.Depth < 20 || c.Epochs < 1 || !(c.LR > 0) || !(c.Holdout > 0 && c.Holdout < 1):
		return fmt.Errorf("train: ranker config out of range: %+v", *c)
	}
	return nil
}

// RankerReport tells how the ranker did on its held-out lists.
type RankerReport struct {
	Lists, HeldOut    int     // lists with a positive among the candidates
	Users             int     // users with such a list (what MinLists counts)
	Candidates        int     // candidate rows in all
	BestEpoch         int     // epochs of the best held-out Recall@20
	RetrievalRecall20 float64 // held-out Recall@20 of the retrieval order
	BlendRecall20     float64 // held-out Recall@20 of the sources' blend (served without a ranker)
	RankerRecall20    float64 // held-out Recall@20 of the ranker's order
	CandidateRecall   float64 // share of targets among the Depth candidates
	Used              bool    // the ranker beat the retrieval order (and the blend) and is kept
	// Events tells what the ranker took from logged events (nil without).
	Events *EventReport
}

// list is one user's candidates: raw features and labels.
type list struct {
	x       [][]float32
	y       []bool
	targets int // the user's targets in the window, found or not
	// blend scores each candidate by its place in the order the pipeline
	// serves without a ranker (higher is better).
	blend []float32
	// w weighs each positive in the loss (0 for negatives); nil spreads
	// a weight of 1 evenly over the positives. A list logged by a node
	// weighs each take by its inverse propensity (eventLists).
	w []float32
}

// FitRanker trains the ranker on what retrieval returns: it builds a bundle
// from holdout (the towers trained on events before valStart) with every
// candidate source, runs stages 1 and 2 of the serving pipeline for every
// user with events in [valStart, ∞), labels the candidates the user then
// took (leaving out items the log never shows), and fits cfg.Loss over
// each user's candidates. It returns nil (and says so in the report) when
// the ranker does not beat the retrieval order on the held-out lists.
func FitRanker(holdout *model.Model, ds *dataset.Dataset, valStart int64, cfg RankerConfig) (*rank.Model, *RankerReport, error) {
	return FitRankerEvents(holdout, ds, valStart, cfg, nil, EventConfig{})
}

// FitRankerEvents is FitRanker with logged events: when ev (prepared from
// ds's users and items, its takes in ds: AddTakes) shows at least
// ecfg.MinImpressions items, each of its lists with a take is a training
// list too (eventLists: shown and taken positive, weighted by the inverse
// propensity of its position, shown and not taken negative), and the
// ranker carries rank.ShownFeature, the learned demotion. The held-out
// lists, which choose the epoch and decide whether the ranker is kept,
// stay the data's. ev nil is FitRanker.
func FitRankerEvents(holdout *model.Model, ds *dataset.Dataset, valStart int64, cfg RankerConfig, ev *Events, ecfg EventConfig) (*rank.Model, *RankerReport, error) {
	d, err := PrepareRanker(holdout, ds, valStart, cfg, ev, ecfg)
	if err != nil {
		return nil, nil, err
	}
	return d.Fit(cfg)
}

// RankerData is what a ranker learns from: the candidate lists that
// retrieval returns for the validation window, labelled, and the lists
// logged by nodes, if any. PrepareRanker builds it once; Fit trains a
// ranker on it, so that rankers of several configurations (or seeds) can
// be compared on the same lists.
type RankerData struct {
	groups      [][]list // per user (rankerLists)
	logged      []list
	features    []string
	depth, cuts int
	report      RankerReport // Lists, CandidateRecall, Events
}

// PrepareRanker builds the lists FitRankerEvents trains on: it builds a
// bundle of holdout over the events before valStart and retrieves,
// with cfg.Depth, a list for every user with events in [valStart, ∞)
// (and ev's logged lists, as FitRankerEvents says). Only cfg.Depth
// matters here; Fit takes the rest.
func PrepareRanker(holdout *model.Model, ds *dataset.Dataset, valStart int64, cfg RankerConfig, ev *Events, ecfg EventConfig) (*RankerData, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rec, err := rankerRecommender(holdout, ds, valStart)
	if err != nil {
		return nil, err
	}
	groups, found, targets, err := rankerLists(rec, ds, valStart, cfg.Depth, cfg.Cuts)
	if err != nil {
		return nil, err
	}
	d := &RankerData{groups: groups, features: rank.Features, depth: cfg.Depth, cuts: cfg.Cuts}
	if targets > 0 {
		d.report.CandidateRecall = float64(found) / float64(targets)
	}
	if ev != nil {
		if err := ecfg.Validate(); err != nil {
			return nil, err
		}
		er := &EventReport{Lists: len(ev.Lists), Shown: ev.Shown, Taken: ev.Taken, Skipped: ev.Skipped}
		d.report.Events = er
		if ev.Shown >= ecfg.MinImpressions && ev.Taken > 0 {
			if er.Propensities, err = ev.Propensities(ecfg); err != nil {
				return nil, err
			}
			if d.logged, err = eventLists(rec, ds, ev, er.Propensities, cfg.Depth, er); err != nil {
				return nil, err
			}
			if len(d.logged) > 0 {
				d.features, er.Learned = rank.Raw, true
			}
		}
	}
	return d, nil
}

// Fit trains a ranker on d by cfg (whose Depth must be the one d was
// prepared with, as must Cuts) and returns it, or nil when there are too few lists or
// it does not beat the retrieval order (and the blend) on the held-out
// lists; the report says which. d is not changed: Fit may be called again.
func (d *RankerData) Fit(cfg RankerConfig) (*rank.Model, *RankerReport, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	if cfg.Depth != d.depth || cfg.Cuts != d.cuts {
		return nil, nil, fmt.Errorf("train: ranker depth %d and cuts %d, the lists were retrieved with %d and %d", cfg.Depth, cfg.Cuts, d.depth, d.cuts)
	}
	rep := d.report
	if rep.Events != nil {
		er := *rep.Events
		rep.Events = &er
	}
	groups := slices.Clone(d.groups)
	rep.Users = len(groups)
	for _, g := range groups {
		rep.Lists += len(g)
	}
	if len(groups) < max(cfg.MinLists, 10) {
		return nil, &rep, nil
	}
	for _, g := range groups {
		for _, l := range g {
			rep.Candidates += len(l.y)
		}
	}
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x72616e6b))
	var best *rank.Model
	if cfg.FewUsers > 0 && len(groups) >= cfg.FewUsers {
		cfg.Folds, cfg.WeightDecay, cfg.Soup = 0, 0, 0
	}
	if cfg.Folds > 1 {
		best = d.fitFolds(groups, cfg, rng, &rep)
	} else {
		held, fit := holdOut(groups, cfg.Holdout, rng)
		rep.HeldOut = len(held)
		rep.RetrievalRecall20 = recallAt(held, 20, nil)
		rep.BlendRecall20 = recallBy(held, 20, func(l list, i int) float32 { return l.blend[i] })
		best, rep.BestEpoch, rep.RankerRecall20 = d.fitMembers(append(fit, d.logged...), held, cfg, rng)
	}
	bestRecall := rep.RankerRecall20
	rep.Used = bestRecall > rep.RetrievalRecall20 && (cfg.NoBlendGuard || bestRecall > rep.BlendRecall20)
	if !rep.Used {
		return nil, &rep, nil
	}
	return best, &rep, nil
}

// fitFolds is Fit with cfg.Folds > 1: the groups are shuffled and dealt
// into Folds folds, a ranker trained on the others' lists scores each
// fold's, and the guard compares the Recall@20 of those orders over every
// list with the retrieval order's and the blend's; the ranker returned
// is trained on every list. With a fixed schedule (cfg.SWA) no list is
// needed to choose an epoch, so every user is held out once for the
// guard and every list trains the shipped ranker.
func (d *RankerData) fitFolds(groups [][]list, cfg RankerConfig, rng *rand.Rand, rep *RankerReport) *rank.Model {
	rng.Shuffle(len(groups), func(i, j int) { groups[i], groups[j] = groups[j], groups[i] })
	var all []list
	var ranker, n float64
	for f := range cfg.Folds {
		var held, fit []list
		for i, g := range groups {
			if i%cfg.Folds == f {
				held = append(held, g...)
			} else {
				fit = append(fit, g...)
			}
		}
		all = append(all, held...)
		r := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x666f6c64+uint64(f)))
		_, _, recall := d.fitMembers(append(fit, d.logged...), held, cfg, r)
		ranker += recall * float64(len(held))
		n += float64(len(held))
	}
	rep.HeldOut = len(all)
	rep.RankerRecall20 = ranker / max(n, 1)
	rep.RetrievalRecall20 = recallAt(all, 20, nil)
	rep.BlendRecall20 = recallBy(all, 20, func(l list, i int) float32 { return l.blend[i] })
	best, epoch, _ := d.fitMembers(append(slices.Clone(all), d.logged...), nil, cfg, rng)
	rep.BestEpoch = epoch
	return best
}

// fitMembers trains cfg.Ensemble rankers (at least one) on fit and
// returns the one, or their merged mean (mergeRankers), with the epoch
// chosen and its Recall@20 on held.
func (d *RankerData) fitMembers(fit, held []list, cfg RankerConfig, rng *rand.Rand) (*rank.Model, int, float64) {
	if cfg.Soup > 1 && cfg.Ensemble <= 1 {
		return d.fitSoup(fit, held, cfg, rng)
	}
	members := max(cfg.Ensemble, 1)
	mcfg := cfg
	if members > 1 {
		// Members with cross layers of their own could not be merged
		// into one model (mergeRankers).
		mcfg.Cross = 0
	}
	var trained []*rank.Model
	var epoch int
	var recall float64
	for k := range members {
		r := rng
		if k > 0 {
			r = rand.New(rand.NewPCG(uint64(cfg.Seed), 0x72616e6b+uint64(k)))
		}
		var best *rank.Model
		best, epoch, recall = trainRanker(fit, held, d.features, mcfg, r)
		trained = append(trained, best)
	}
	if members == 1 {
		return trained[0], epoch, recall
	}
	best := mergeRankers(trained)
	return best, epoch, recallAt(held, 20, best)
}

// fitSoup trains cfg.Soup rankers on fit from one initialization, the
// first with rng's order of the lists and each other with its own stream
// (seeded by cfg.Seed and its index), and returns the mean of their
// weights, the first member's epoch and the mean's Recall@20 on held.
//
// The members train side by side, one run of them per core: each reads
// the lists and writes only its own model.
func (d *RankerData) fitSoup(fit, held []list, cfg RankerConfig, rng *rand.Rand) (*rank.Model, int, float64) {
	init := newRanker(fit, d.features, cfg, rng)
	members := make([]*rank.Model, cfg.Soup)
	epochs := make([]int, cfg.Soup)
	side := min(runtime.GOMAXPROCS(0), cfg.Soup)
	parallel(side, cfg.Soup, func(_, lo, hi int) {
		for k := lo; k < hi; k++ {
			r := rng
			if k > 0 {
				r = rand.New(rand.NewPCG(uint64(cfg.Seed), 0x736f7570+uint64(k)))
			}
			members[k], epochs[k], _ = trainRankerFrom(cloneRanker(init), fit, held, cfg, r, runtime.GOMAXPROCS(0)/side)
		}
	})
	params := make([][][]float32, cfg.Soup)
	for k, m := range members {
		params[k] = rankerParams(m)
	}
	soup := cloneRanker(members[0])
	for i, p := range rankerParams(soup) {
		for j := range p {
			var sum float64
			for k := range params {
				sum += float64(params[k][i][j])
			}
			p[j] = float32(sum / float64(cfg.Soup))
		}
	}
	return soup, epochs[0], recallAt(held, 20, soup)
}

// holdOut shuffles groups (one per user) and returns the lists of the
// first share of them, at least one, as held and the others' as fit.
// Lists are held out by user, not one by one: a user's later lists
// (RankerConfig.Cuts) share targets with the first. groups is shuffled
// in place.
func holdOut(groups [][]list, share float64, rng *rand.Rand) (held, fit []list) {
	rng.Shuffle(len(groups), func(i, j int) { groups[i], groups[j] = groups[j], groups[i] })
	nHeld := max(1, int(float64(len(groups))*share))
	for i, g := range groups {
		if i < nHeld {
			held = append(held, g...)
		} else {
			fit = append(fit, g...)
		}
	}
	return held, fit
}

// trainRanker trains a ranker on fit for up to cfg.Epochs and returns the
// one of the epoch that scored best on held (cfg.Select), that epoch and
// its held-out Recall@20.
func trainRanker(fit, held []list, features []string, cfg RankerConfig, rng *rand.Rand) (best *rank.Model, bestEpoch int, bestRecall float64) {
	return trainRankerFrom(newRanker(fit, features, cfg, rng), fit, held, cfg, rng, runtime.GOMAXPROCS(0))
}

// trainRankerFrom is trainRanker from the initialized ranker m, which it
// trains in place.
func trainRankerFrom(m *rank.Model, fit, held []list, cfg RankerConfig, rng *rand.Rand, W int) (best *rank.Model, bestEpoch int, bestRecall float64) {
	best, bestRecall, bestScore := cloneRanker(m), -1.0, -1.0
	t := newRankTrainer(m, W)
	// scored is the model the held-out lists score: m, or the moving
	// average of its weights.
	scored := m
	var avg, w [][]float32
	if cfg.EMA > 0 {
		scored = cloneRanker(m)
		avg, w = rankerParams(scored), rankerParams(m)
	}
	order := make([]int, len(fit))
	for i := range order {
		order[i] = i
	}
	batch := max(cfg.Batch, 1)
	// swa accumulates the weights at the end of each of the last cfg.SWA
	// epochs.
	var swa *rank.Model
	var swaSum [][]float64
	if cfg.SWA > 0 {
		swa = cloneRanker(m)
		for _, p := range rankerParams(swa) {
			swaSum = append(swaSum, make([]float64, len(p)))
		}
	}
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for b := 0; b < len(order); b += batch {
			t.zero()
			part := order[b:min(b+batch, len(order))]
			for _, i := range part {
				t.accumulate(fit[i], cfg.Loss, cfg.ColdDropout, rng)
			}
			t.apply(cfg.LR, cfg.WeightDecay, len(part))
			for k, a := range avg {
				for j, v := range w[k] {
					a[j] += float32(1-cfg.EMA) * (v - a[j])
				}
			}
		}
		if swa != nil {
			if epoch <= cfg.Epochs-cfg.SWA {
				continue
			}
			for k, p := range rankerParams(scored) {
				for j, v := range p {
					swaSum[k][j] += float64(v)
				}
			}
			if epoch < cfg.Epochs {
				continue
			}
			n := float64(cfg.SWA)
			for k, p := range rankerParams(swa) {
				for j := range p {
					p[j] = float32(swaSum[k][j] / n)
				}
			}
			return swa, epoch, recallAt(held, 20, swa)
		}
		r := recallAt(held, 20, scored)
		score := r
		if cfg.Select == SelectNDCG {
			score = ndcgAt(held, 10, scored)
		}
		if score > bestScore {
			bestScore, bestRecall, bestEpoch, best = score, r, epoch, cloneRanker(scored)
		}
	}
	return best, bestEpoch, bestRecall
}

// mergeRankers returns one model whose score is the mean of the members'
// scores: members without cross layers, of one shape and one
// standardization. Its first dense layer stacks the members' rows, each
// later layer holds theirs on its block diagonal, and the output layer
// averages: K members of widths n→h₁→…→1 become n→K·h₁→…→1.
func mergeRankers(ms []*rank.Model) *rank.Model {
	k := len(ms)
	out := cloneRanker(ms[0])
	for l := range out.MLP.Layers {
		d := &out.MLP.Layers[l]
		first, last := l == 0, l+1 == len(out.MLP.Layers)
		in, o := d.In, d.Out
		if !first {
			d.In = k * in
		}
		if !last {
			d.Out = k * o
		}
		d.W, d.B = make([]float32, d.In*d.Out), make([]float32, d.Out)
		for m, src := range ms {
			sd := &src.MLP.Layers[l]
			for r := range o {
				row, col := r, 0
				if !last {
					row = m*o + r
				}
				if !first {
					col = m * in
				}
				for i := range in {
					v := sd.W[r*in+i]
					if last {
						v /= float32(k)
					}
					d.W[row*d.In+col+i] += v
				}
				if last {
					d.B[row] += sd.B[r] / float32(k)
				} else {
					d.B[row] = sd.B[r]
				}
			}
		}
	}
	return out
}

// rankerRecommender builds the pipeline the ranker's training lists come
// from: a bundle of holdout over the events before valStart.
func rankerRecommender(holdout *model.Model, ds *dataset.Dataset, valStart int64) (*pipeline.Recommender, error) {
	cut := dataset.SplitAt(ds, valStart)
	b, err := builder.Build(holdout, cut.Before, builder.Options{Created: valStart})
	if err != nil {
		return nil, err
	}
	data, err := bundle.Encode(b)
	if err != nil {
		return nil, err
	}
	return pipeline.Load(data)
}

// rankerLists retrieves and labels the candidate lists, grouped by user:
// each group's first list is the user's request at valStart (when it
// holds a target), and with cuts > 1 up to cuts − 1 more follow, asked at
// later times of the user's own events in the window (requestTimes), each
// with the events before it added to the history and those from it on as
// its targets. found and targets count the requests at valStart.
func rankerLists(rec *pipeline.Recommender, ds *dataset.Dataset, valStart int64, depth, cuts int) (groups [][]list, found, targets int, err error) {
	cut := dataset.SplitAt(ds, valStart)
	users := map[string]dataset.User{}
	for _, u := range ds.Users {
		users[u.ID] = u
	}
	// Candidates the log never shows (no interaction before the cut or
	// after it) are left out of the lists: nothing says whether anyone
	// could have taken them — items added after the log ends, or the items
	// eval --cold-start holds out. As negatives they taught the ranker that
	// an item without interactions is never taken, and it put new items
	// below a random order (TestColdStartPipelineRanksByContent).
	blendParams := rec.Bundle().Pipeline.Defaults
	blendParams.Ranker = false
	inLog := make([]bool, rec.Summary().Items)
	for _, in := range ds.Interactions {
		if row, ok := rec.Lookup(in.Item); ok {
			inLog[row] = true
		}
	}
	for _, id := range cut.Users {
		h, later := cut.History[id], cut.Later[id]
		if len(h) == 0 || len(later) == 0 {
			continue
		}
		var group []list
		for ci, at := range requestTimes(later, valStart, cuts) {
			history := slices.Clone(h)
			want := map[int32]bool{}
			for _, in := range later {
				if in.Time < at {
					history = append(history, in.Item)
				} else if row, ok := rec.Lookup(in.Item); ok {
					want[row] = true
				}
			}
			if ci == 0 {
				targets += len(want)
			}
			u := users[id]
			// k = Depth (200) asks the sources to fetch deeper than a
			// typical request of 20 would: measured on ML-100K, lists
			// that deep train a better ranker (Recall@20 0.252 vs 0.203
			// with k = 20).
			req := &api.Request{K: min(depth, api.MaxK), UserID: id, Context: u.Context}
			req.Context.Time = at
			for _, it := range history {
				req.History = append(req.History, api.Event{Item: it})
			}
			cands, err := rec.Candidates(req)
			if err != nil {
				return nil, 0, 0, err
			}
			l := list{targets: len(want)}
			pos := 0
			blend := blendPlace(rec, blendParams, cands)
			for _, c := range cands {
				if !inLog[c.Row] {
					continue
				}
				l.x = append(l.x, c.Features)
				l.blend = append(l.blend, blend[c.Row])
				l.y = append(l.y, want[c.Row])
				if want[c.Row] {
					pos++
				}
			}
			if ci == 0 {
				found += pos
			}
			if pos > 0 {
				group = append(group, l)
			}
		}
		if len(group) > 0 {
			groups = append(groups, group)
		}
	}
	return groups, found, targets, nil
}

// requestTimes returns the times a user with events later (in time order,
// none before valStart) is asked at: valStart, then, with cuts > 1, up to
// cuts − 1 of the distinct later event times but the first, evenly
// spaced among them and the latest last.
func requestTimes(later []dataset.Interaction, valStart int64, cuts int) []int64 {
	out := []int64{valStart}
	if cuts <= 1 {
		return out
	}
	var times []int64
	for _, in := range later {
		if in.Time > later[0].Time && (len(times) == 0 || in.Time != times[len(times)-1]) {
			times = append(times, in.Time)
		}
	}
	n := min(cuts-1, len(times))
	for k := range n {
		// The k-th of n picks, evenly spaced, ending at the latest.
		out = append(out, times[(k+1)*len(times)/n-1])
	}
	return out
}

// blendPlace returns, per candidate row, minus its place in the order
// the pipeline's rank stage gives the candidates without a ranker (p's
// weights, p.Ranker off): the served blend, by the serving code.
func blendPlace(rec *pipeline.Recommender, p bundle.Params, cands []pipeline.Candidate) map[int32]float32 {
	sorted := slices.Clone(cands)
	rec.Rank(nil, nil, &p, sorted)
	out := make(map[int32]float32, len(sorted))
	for i, c := range sorted {
		out[c.Row] = -float32(i)
	}
	return out
}

// newRanker initializes a ranker over features (a prefix of rank.Raw:
// rank.Features, or rank.Raw with the learned demotion) with
// standardization fitted on lists.
func newRanker(lists []list, features []string, cfg RankerConfig, rng *rand.Rand) *rank.Model {
	m := newRankerOver(features, cfg, rng)
	nf := len(features)
	var n float64
	sum, sq := make([]float64, nf), make([]float64, nf)
	for _, l := range lists {
		for _, x := range l.x {
			for i, v := range x[:nf] {
				sum[i] += float64(v)
				sq[i] += float64(v) * float64(v)
			}
			n++
		}
	}
	for i := range sum {
		mean := sum[i] / max(n, 1)
		sd := math.Sqrt(max(sq[i]/max(n, 1)-mean*mean, 0))
		m.Mean[i] = float32(mean)
		// A feature constant in training (no cold items, say) keeps a unit
		// scale: its weights never learned anything, and dividing by a
		// floor like 10⁻³ would blow up the first value that differs.
		if sd < 1e-3 {
			sd = 1
		}
		m.Std[i] = float32(sd)
	}
	return m
}

// NewRanker returns an untrained ranker of cfg's shape: Glorot-uniform
// weights (the cross layers' scaled by 0.1, so that they start near the
// identity), zero biases, and standardization by mean 0 and deviation 1.
func NewRanker(cfg RankerConfig, rng *rand.Rand) *rank.Model {
	return newRankerOver(rank.Features, cfg, rng)
}

// newRankerOver is NewRanker over features, a prefix of rank.Raw, which
// the model then reads from the raw vector in order, unvalidated.
func newRankerOver(features []string, cfg RankerConfig, rng *rand.Rand) *rank.Model {
	if !slices.Equal(features, rank.Raw[:len(features)]) {
		panic("train: ranker features must be a prefix of rank.Raw")
	}
	nf := len(features)
	m := &rank.Model{Depth: cfg.Depth, Features: append([]string(nil), features...),
		Mean: make([]float32, nf), Std: make([]float32, nf)}
	for i := range m.Std {
		m.Std[i] = 1
	}
	uniform := func(k, fanIn, fanOut int) []float32 {
		w := make([]float32, k)
		lim := math.Sqrt(6 / float64(fanIn+fanOut))
		for i := range w {
			w[i] = float32((rng.Float64()*2 - 1) * lim)
		}
		return w
	}
	for l := 0; l < cfg.Cross; l++ {
		w := uniform(nf*nf, nf, nf)
		for i := range w {
			w[i] *= 0.1
		}
		m.Cross = append(m.Cross, nn.Cross{Dim: nf, W: w, B: make([]float32, nf)})
	}
	widths := append(append([]int{nf}, cfg.Hidden...), 1)
	for l := 0; l+1 < len(widths); l++ {
		d := nn.Dense{In: widths[l], Out: widths[l+1], W: uniform(widths[l]*widths[l+1], widths[l], widths[l+1]),
			B: make([]float32, widths[l+1]), Act: nn.ReLU}
		if l+2 == len(widths) {
			d.Act = nn.Linear
		}
		m.MLP.Layers = append(m.MLP.Layers, d)
	}
	return m
}

func cloneRanker(m *rank.Model) *rank.Model {
	out := *m
	out.Features = append([]string(nil), m.Features...)
	out.Mean = append([]float32(nil), m.Mean...)
	out.Std = append([]float32(nil), m.Std...)
	out.Cross = make(nn.Stack, len(m.Cross))
	for l, c := range m.Cross {
		out.Cross[l] = nn.Cross{Dim: c.Dim, W: append([]float32(nil), c.W...), B: append([]float32(nil), c.B...)}
	}
	out.MLP.Layers = make([]nn.Dense, len(m.MLP.Layers))
	for l, d := range m.MLP.Layers {
		d.W = append([]float32(nil), d.W...)
		d.B = append([]float32(nil), d.B...)
		out.MLP.Layers[l] = d
	}
	return &out
}

// recallAt returns the mean Recall@k over lists when ordered by m's scores
// (nil: the retrieval order they came in). Recall counts against all the
// user's targets, found by retrieval or not.
func recallAt(lists []list, k int, m *rank.Model) float64 {
	if m == nil {
		return recallBy(lists, k, func(_ list, i int) float32 { return -float32(i) })
	}
	s := m.NewScratch()
	return recallBy(lists, k, func(l list, i int) float32 { return m.Score(s, l.x[i]) })
}

// Held-out metrics that RankerConfig.Select may name.
const (
	SelectRecall = "recall@20"
	SelectNDCG   = "ndcg@10"
)

// rankerParams lists m's weight tensors (cross layers, then dense layers;
// each weights then biases).
func rankerParams(m *rank.Model) [][]float32 {
	var p [][]float32
	for l := range m.Cross {
		p = append(p, m.Cross[l].W, m.Cross[l].B)
	}
	for l := range m.MLP.Layers {
		p = append(p, m.MLP.Layers[l].W, m.MLP.Layers[l].B)
	}
	return p
}

// ndcgAt returns the mean NDCG@k over lists ordered by m's scores, binary
// gains: DCG = Σ_{i<k, y_i} 1/log2(i + 2), over the ideal DCG of
// min(targets, k) hits (Järvelin and Kekäläinen 2002), counting every
// target of the user, found by retrieval or not.
func ndcgAt(lists []list, k int, m *rank.Model) float64 {
	s := m.NewScratch()
	var sum float64
	for _, l := range lists {
		idx := ranked(l, func(i int) float32 { return m.Score(s, l.x[i]) })
		var dcg, ideal float64
		for r, i := range idx[:min(k, len(idx))] {
			if l.y[i] {
				dcg += 1 / math.Log2(float64(r+2))
			}
		}
		for r := range min(k, l.targets) {
			ideal += 1 / math.Log2(float64(r+2))
		}
		sum += dcg / ideal
	}
	return sum / float64(max(len(lists), 1))
}

// ranked returns l's candidates' indices ordered by score(i), higher
// first, ties in list order.
func ranked(l list, score func(i int) float32) []int {
	idx := make([]int, len(l.y))
	scores := make([]float32, len(l.y))
	for i := range idx {
		idx[i] = i
		scores[i] = score(i)
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
	return idx
}

// recallBy returns the mean Recall@k over lists ordered by score(l, i) of
// each candidate i, higher first (ties in list order).
func recallBy(lists []list, k int, score func(l list, i int) float32) float64 {
	var sum float64
	for _, l := range lists {
		idx := ranked(l, func(i int) float32 { return score(l, i) })
		hits := 0
		for _, i := range idx[:min(k, len(idx))] {
			if l.y[i] {
				hits++
			}
		}
		sum += float64(hits) / float64(l.targets)
	}
	return sum / float64(max(len(lists), 1))
}

// rankTrainer holds the ranker's gradient buffers and Adam state.
type rankTrainer struct {
	m     *rank.Model
	g     netGrad
	adams []*adam
	t     int
	// b passes a list's candidates through the layers together (grown to
	// the longest list); s standardizes each into its row of b.x.
	b      *netBatch
	w      int // goroutines for the products
	s      *rank.Scratch
	scores []float64
	// coldRow holds a row presented as cold.
	coldRow []float32
}

// coldAt is the cold flag's position in rank.Features.
var coldAt = slices.Index(rank.Features, "cold")

// newRankTrainer returns a trainer of m whose products run on at most W
// goroutines (fewer than the cores where other trainers run beside it).
func newRankTrainer(m *rank.Model, W int) *rankTrainer {
	t := &rankTrainer{m: m, g: netGrad{cross: newCrossGrad(m.Cross), mlp: newMLPGrad(&m.MLP)}, s: m.NewScratch(), w: max(W, 1)}
	for _, w := range t.params() {
		t.adams = append(t.adams, newAdam(len(w)))
	}
	return t
}

// params lists the weight tensors, in the order of grads.
func (t *rankTrainer) params() [][]float32 { return rankerParams(t.m) }

func (t *rankTrainer) grads() [][]float32 {
	var g [][]float32
	for l := range t.g.cross.W {
		g = append(g, t.g.cross.W[l], t.g.cross.B[l])
	}
	for l := range t.g.mlp.W {
		g = append(g, t.g.mlp.W[l], t.g.mlp.B[l])
	}
	return g
}

// zero clears the gradients.
func (t *rankTrainer) zero() { t.g.zero() }

// accumulate adds the gradient of l's loss (see lossGrad) to the
// gradients. With coldDrop > 0 each row is presented as cold with that
// probability (its cold flag set, so rank.Model.Standardize imputes its
// evidence features), which teaches the ranker to order items by what it
// knows without the log's evidence, as it must for new items.
//
// The list's candidates go through the layers as one batch of matrix
// products (netBatch), forward and back: the logits are Score's up to the
// order of float32 additions, and the gradients those of one candidate at
// a time (TestRankBatchMatchesRows).
func (t *rankTrainer) accumulate(l list, loss string, coldDrop float64, rng *rand.Rand) {
	n := len(l.y)
	if n == 0 {
		return
	}
	if t.b == nil || n > t.b.rows() {
		t.b = newRankBatch(t.m, n)
	}
	nf := len(t.m.Features)
	for i := range l.y {
		x := l.x[i]
		if coldDrop > 0 && rng.Float64() < coldDrop {
			t.coldRow = append(t.coldRow[:0], x...)
			t.coldRow[coldAt] = 1
			x = t.coldRow
		}
		t.s.X = row(t.b.x, i, nf)
		t.m.Standardize(t.s, x)
	}
	t.b.forward(n, t.w)
	logits := t.b.acts[len(t.b.acts)-1]
	t.scores = t.scores[:0]
	for _, v := range logits[:n] {
		t.scores = append(t.scores, float64(v))
	}
	for i, d := range lossGrad(loss, t.scores, l.y, l.w) {
		t.b.dOut[i] = float32(d)
	}
	t.b.backwardNet(&t.g, n, t.w)
}

// apply takes one Adam step (weight decay wd) on the mean of the
// gradients of the n lists accumulated since zero.
func (t *rankTrainer) apply(lr, wd float32, n int) {
	t.t++
	g := t.grads()
	for i, w := range t.params() {
		if n > 1 {
			for j := range g[i] {
				g[i][j] /= float32(n)
			}
		}
		t.adams[i].step(w, 0, g[i], lr, wd, t.t)
	}
}

// The ranker's losses over one list of scores s with labels y (P
// positives, N negatives):
//
//   - LossListwise: softmax cross-entropy with the target spread evenly
//     over the positives, L = −Σ_k y_k/P·log softmax(s)_k;
//     ∂L/∂s_k = softmax(s)_k − y_k/P.
//   - LossPairwise: RankNet/BPR over every (positive, negative) pair,
//     L = Σ_{p,n} log(1 + e^{−(s_p − s_n)})/(P·N).
//   - LossPointwise: binary cross-entropy of σ(s_k) against y_k, averaged
//     over the list; ∂L/∂s_k = (σ(s_k) − y_k)/(P+N).
const (
	LossListwise  = "listwise"
	LossPairwise  = "pairwise"
	LossPointwise = "pointwise"
)

// Losses lists the ranker's losses.
var Losses = []string{LossListwise, LossPairwise, LossPointwise}

// lossGrad returns ∂L/∂s for one list under loss (one of Losses), each
// positive k weighted by w_k (the weights of negatives are ignored), for
// lists whose takes weigh their inverse propensity; w nil weighs every
// positive 1/P (listwise) or 1 (the others):
//
//   - LossListwise: L = −Σ_k w_k·log softmax(s)_k;
//     ∂L/∂s_i = softmax(s)_i·Σ_k w_k − w_i.
//   - LossPairwise: each pair (p, n) weighs w_p/(P·N).
//   - LossPointwise: a positive's term weighs w_k,
//     L = −(Σ_pos w_k·log σ(s_k) + Σ_neg log(1 − σ(s_k)))/(P+N).
func lossGrad(loss string, s []float64, y []bool, w []float32) []float64 {
	n := len(s)
	d := make([]float64, n)
	pos := 0
	var wsum float64
	for i, v := range y {
		if v {
			pos++
			if w != nil {
				wsum += float64(w[i])
			}
		}
	}
	switch loss {
	case LossPointwise:
		for i := range s {
			d[i] = sigmoid(s[i]) / float64(n)
			switch {
			case !y[i]:
			case w == nil:
				d[i] -= 1 / float64(n)
			default:
				d[i] = float64(w[i]) * (sigmoid(s[i]) - 1) / float64(n)
			}
		}
	case LossPairwise:
		neg := n - pos
		if pos == 0 || neg == 0 {
			return d
		}
		for p := range s {
			if !y[p] {
				continue
			}
			wp := 1 / float64(pos*neg)
			if w != nil {
				wp = float64(w[p]) / float64(pos*neg)
			}
			for q := range s {
				if y[q] {
					continue
				}
				// ∂/∂s_p log(1 + e^{−(s_p−s_q)}) = −σ(−(s_p − s_q)).
				g := sigmoid(s[q]-s[p]) * wp
				d[p] -= g
				d[q] += g
			}
		}
	default: // LossListwise
		mx := math.Inf(-1)
		for _, v := range s {
			mx = max(mx, v)
		}
		var z float64
		for i, v := range s {
			d[i] = math.Exp(v - mx)
			z += d[i]
		}
		for i := range d {
			d[i] /= z
			switch {
			case w == nil:
				if y[i] {
					d[i] -= 1 / float64(pos)
				}
			default:
				d[i] *= wsum
				if y[i] {
					d[i] -= float64(w[i])
				}
			}
		}
	}
	return d
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
