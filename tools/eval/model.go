package eval

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/pipeline"
	"github.com/edgerec/edgerec/core/rank"
	"github.com/edgerec/edgerec/tools/builder"
	"github.com/edgerec/edgerec/tools/train"
)

// Model is a recommender that [Evaluate] can score: Fit learns from the
// training part of a split (never from its test users' targets) and
// returns a Ranker over the training items.
type Model interface {
	Name() string
	Fit(s *Split) (Ranker, error)
}

// Describer is implemented by models that report what their last Fit
// chose or measured (EASE's λ, an item cap), for the evaluation report.
type Describer interface {
	Describe() string
}

// Options configure the models [NewModel] builds.
type Options struct {
	// Train configures the two-tower models' training; start from
	// train.DefaultConfig (its zero value does not validate).
	Train train.Config
	// Neighbours is [ItemKNN].Neighbours.
	Neighbours int
	// Lambdas, EASEMaxItems and EASEMemory are [EASE].Lambdas, MaxItems
	// and Memory.
	Lambdas      []float64
	EASEMaxItems int
	EASEMemory   int64
	// Workers is the number of goroutines of the baselines; 0 means
	// GOMAXPROCS.
	Workers int
	// Log, if not nil, receives progress lines (λ search, training epochs).
	Log io.Writer
	// Ranker configures the pipeline's ranker (start from
	// train.DefaultRankerConfig).
	Ranker train.RankerConfig
	// Shared holds the two-tower training that "twotower" and "pipeline"
	// share; nil gives each model its own.
	Shared *Towers
}

func (o Options) towers() *Towers {
	if o.Shared != nil {
		return o.Shared
	}
	return &Towers{Config: o.Train, Ranker: o.Ranker, Log: o.Log}
}

// models lists the model names NewModel accepts, in report order.
var models = []struct {
	name  string
	about string
	make  func(Options) Model
}{
	{"pop", "popularity: training interactions per item", func(Options) Model { return Pop{} }},
	{"itemknn", "item-based kNN, cosine on the binary matrix", func(o Options) Model {
		return &ItemKNN{Neighbours: o.Neighbours, Workers: o.Workers}
	}},
	{"ease", "EASE closed form, λ tuned on a validation split", func(o Options) Model {
		return &EASE{Lambdas: o.Lambdas, MaxItems: o.EASEMaxItems, Memory: o.EASEMemory, Workers: o.Workers, Log: o.Log}
	}},
	{"slim", "the learned item-to-item model of the pipeline's slim source: ridge regression on each item's most co-occurring items", func(o Options) Model {
		return &SLIM{}
	}},
	{"twotower", "edgerec's two-tower retrieval through core/pipeline", func(o Options) Model {
		return &TwoTower{Towers: o.towers()}
	}},
	{"pipeline", "the full four-stage pipeline: every source, filters, the ranker, MMR ordering", func(o Options) Model {
		return &TwoTower{Towers: o.towers(), WithRanker: true}
	}},
	{"pipeline-no-sources", "ablation: the pipeline with two-tower retrieval as its only source", func(o Options) Model {
		return &TwoTower{Towers: o.towers(), WithRanker: true, NoSources: true, name: "pipeline-no-sources"}
	}},
	{"pipeline-no-ranker", "ablation: the pipeline ordered by the reciprocal-rank blend of its sources", func(o Options) Model {
		return &TwoTower{Towers: o.towers(), WithRanker: true, name: "pipeline-no-ranker",
			Tune: func(p *bundle.Params) { p.Ranker = false }}
	}},
	{"pipeline-no-slim", "ablation: the pipeline without its slim source (weight 0; the same towers and ranker)", func(o Options) Model {
		return &TwoTower{Towers: o.towers(), WithRanker: true, name: "pipeline-no-slim",
			Tune: func(p *bundle.Params) { p.Weights[api.SourceSlim] = 0 }}
	}},
	{"pipeline-no-covisit", "ablation: the pipeline without its co-visitation source (weight 0; the same towers and ranker)", func(o Options) Model {
		return &TwoTower{Towers: o.towers(), WithRanker: true, name: "pipeline-no-covisit",
			Tune: func(p *bundle.Params) { p.Weights[api.SourceCovisit] = 0 }}
	}},
	{"pipeline-no-mmr", "ablation: the pipeline without MMR diversification (λ = 1)", func(o Options) Model {
		return &TwoTower{Towers: o.towers(), WithRanker: true, name: "pipeline-no-mmr",
			Tune: func(p *bundle.Params) { p.MMRLambda = 1 }}
	}},
	{"pipeline-ema-ndcg", "the pipeline with its ranker's weights averaged over its steps (EMA 0.995) and its epoch chosen by held-out NDCG@10 (the same towers)", func(o Options) Model {
		return &TwoTower{Towers: o.towers(), WithRanker: true, name: "pipeline-ema-ndcg", RankVary: func(c *train.RankerConfig) { c.EMA, c.Select = 0.995, train.SelectNDCG }}
	}},
	{"pipeline-ensemble", "the pipeline with a mean of 8 rankers without cross layers, merged into one (the same towers)", func(o Options) Model {
		return &TwoTower{Towers: o.towers(), WithRanker: true, name: "pipeline-ensemble", RankVary: func(c *train.RankerConfig) { c.Ensemble = 8 }}
	}},
	{"pipeline-listwise", "the pipeline with its ranker trained on the listwise softmax loss (the same towers)", func(o Options) Model {
		return &TwoTower{Towers: o.towers(), WithRanker: true, RankLoss: train.LossListwise, name: "pipeline-listwise"}
	}},
	{"pipeline-pairwise", "the pipeline with its ranker trained on the pairwise (RankNet) loss (the same towers)", func(o Options) Model {
		return &TwoTower{Towers: o.towers(), WithRanker: true, RankLoss: train.LossPairwise, name: "pipeline-pairwise"}
	}},
	{"pipeline-pointwise", "the pipeline with its ranker trained on the pointwise (logistic) loss (the same towers)", func(o Options) Model {
		return &TwoTower{Towers: o.towers(), WithRanker: true, RankLoss: train.LossPointwise, name: "pipeline-pointwise"}
	}},
}

// ModelNames returns the names NewModel accepts, in report order.
func ModelNames() []string {
	out := make([]string, len(models))
	for i, m := range models {
		out[i] = m.name
	}
	return out
}

// rankerComparisons are the models that train another ranker on the same
// towers, besides the pipeline-<loss> ones: each costs a ranker's
// training, so only an evaluation that names them runs them.
var rankerComparisons = []string{"pipeline-ema-ndcg", "pipeline-ensemble"}

// DefaultModelNames returns the models an evaluation runs unless told
// otherwise: every model but the pipeline-<loss> comparisons and
// rankerComparisons.
func DefaultModelNames() []string {
	var out []string
	for _, m := range models {
		loss := strings.HasPrefix(m.name, "pipeline-") && slices.Contains(train.Losses, strings.TrimPrefix(m.name, "pipeline-"))
		if !loss && !slices.Contains(rankerComparisons, m.name) {
			out = append(out, m.name)
		}
	}
	return out
}

// ModelHelp returns one line per model, "name: what it is", for --help.
func ModelHelp() string {
	var b strings.Builder
	for _, m := range models {
		fmt.Fprintf(&b, "%s: %s\n", m.name, m.about)
	}
	return b.String()
}

// NewModel returns the model called name (one of [ModelNames]).
func NewModel(name string, opts Options) (Model, error) {
	for _, m := range models {
		if m.name == name {
			return m.make(opts), nil
		}
	}
	return nil, fmt.Errorf("unknown model %q (valid models: %s)", name, strings.Join(ModelNames(), ", "))
}

// Pop is the popularity baseline: [Popularity] as a Model.
type Pop struct{}

// Name returns "pop".
func (Pop) Name() string { return "pop" }

// Fit counts the training interactions per item.
func (Pop) Fit(s *Split) (Ranker, error) { return Popularity(s), nil }

// Towers trains edgerec's model once per split for both "twotower" and
// "pipeline": the towers with [train.Fit] (early stopping on the latest
// training events, then refit), and the ranker with [train.FitRanker] on
// what the early-stopped towers retrieve for those latest events. Its
// zero value is ready; share one between the two models.
type Towers struct {
	Config train.Config       // start from train.DefaultConfig
	Ranker train.RankerConfig // start from train.DefaultRankerConfig
	Log    io.Writer          // progress lines, if not nil

	split  *Split
	err    error
	run    *train.Run
	rank   *rank.Model
	report *train.RankerReport
	secs   float64
	// byLoss holds the rankers trained with another configuration than
	// Ranker, for the pipeline-<loss> models and RankVary, by key.
	byLoss map[string]lossRanker
	// lists holds the ranker's training lists, retrieved once for every
	// ranker of the same depth and cuts, by {Depth, Cuts}.
	lists map[[2]int]*train.RankerData
}

type lossRanker struct {
	rank   *rank.Model
	report *train.RankerReport
	err    error
}

// ranker returns the ranker trained with loss ("" is Ranker.Loss) and its
// report, training it on the same holdout towers the first time.
func (t *Towers) ranker(loss string) (*rank.Model, *train.RankerReport, error) {
	if loss == "" || loss == t.Ranker.Loss {
		return t.rank, t.report, nil
	}
	return t.rankerWith("loss="+loss, func(c *train.RankerConfig) { c.Loss = loss })
}

// rankerWith returns the ranker trained with Ranker changed by vary, and
// its report, training it on the same holdout towers the first time it
// is asked for key.
func (t *Towers) rankerWith(key string, vary func(*train.RankerConfig)) (*rank.Model, *train.RankerReport, error) {
	if r, ok := t.byLoss[key]; ok {
		return r.rank, r.report, r.err
	}
	if t.byLoss == nil {
		t.byLoss = map[string]lossRanker{}
	}
	var r lossRanker
	if t.run.Holdout != nil {
		rc := t.Ranker
		vary(&rc)
		r.rank, r.report, r.err = t.fitRanker(rc)
	}
	t.byLoss[key] = r
	return r.rank, r.report, r.err
}

// fitRanker trains a ranker by rc on the holdout towers' lists, retrieved
// once for every ranker of rc's depth and cuts.
func (t *Towers) fitRanker(rc train.RankerConfig) (*rank.Model, *train.RankerReport, error) {
	k := [2]int{rc.Depth, rc.Cuts}
	d, ok := t.lists[k]
	if !ok {
		var err error
		if d, err = train.PrepareRanker(t.run.Holdout, t.split.Train, t.run.ValStart, rc, nil, train.EventConfig{}); err != nil {
			return nil, nil, err
		}
		if t.lists == nil {
			t.lists = map[[2]int]*train.RankerData{}
		}
		t.lists[k] = d
	}
	return d.Fit(rc)
}

// fit trains on s unless it already did.
func (t *Towers) fit(s *Split, name string) error {
	if t.split == s {
		return t.err
	}
	t.split, t.byLoss, t.lists = s, nil, nil
	var progress func(train.Progress)
	if t.Log != nil {
		progress = func(p train.Progress) {
			if p.EpochDone {
				val := ""
				if p.Phase == "fit" {
					val = fmt.Sprintf("  validation recall@20 %.4f", p.ValRecall)
				}
				fmt.Fprintf(t.Log, "%s: %s epoch %d/%d  loss %.4f  %.0f examples/s%s\n", name, p.Phase, p.Epoch, p.Epochs, p.Loss, p.PerSecond, val)
			}
		}
	}
	start := time.Now()
	t.run, t.err = train.Fit(s.Train, t.Config, progress)
	if t.err == nil && t.run.Holdout != nil {
		t.rank, t.report, t.err = t.fitRanker(t.Ranker)
	}
	t.secs = time.Since(start).Seconds()
	return t.err
}

// TwoTower is edgerec's model served through core/pipeline exactly as the
// module serves it: the towers built into a bundle over the training items
// with [builder.Build], loaded with [pipeline.Load] and ranked with
// [Pipeline]. Without WithRanker ("twotower") the bundle has no ranker and
// the order is the retrieval order; with it ("pipeline") the ranker
// re-scores the retrieved candidates.
type TwoTower struct {
	Towers     *Towers
	WithRanker bool
	// NoSources serves two-tower retrieval alone (no section PIPE).
	NoSources bool
	// Tune, if not nil, changes the bundle's default pipeline parameters.
	Tune func(*bundle.Params)
	// RankLoss trains the ranker with this loss instead of the Towers'
	// (train.Losses; "" keeps it).
	RankLoss string
	// RankVary, if not nil, trains the ranker with the Towers' ranker
	// configuration changed by it (on the same holdout towers), once per
	// model name.
	RankVary func(*train.RankerConfig)

	name   string // overrides the name
	bundle int    // bundle size in bytes, set by Fit
}

// Name returns "pipeline" with the ranker, "twotower" without, or the
// ablation's name.
func (m *TwoTower) Name() string {
	if m.name != "" {
		return m.name
	}
	if m.WithRanker {
		return "pipeline"
	}
	return "twotower"
}

// Fit trains (or reuses) the towers and loads their bundle.
func (m *TwoTower) Fit(s *Split) (Ranker, error) {
	rec, err := m.load(s)
	if err != nil {
		return nil, err
	}
	return Pipeline(rec, s.Train.Users), nil
}

// load trains (or reuses) the towers and loads their bundle.
func (m *TwoTower) load(s *Split) (*pipeline.Recommender, error) {
	if err := m.Towers.fit(s, m.Name()); err != nil {
		return nil, err
	}
	tm := *m.Towers.run.Model
	tm.Ranker = nil
	if m.WithRanker {
		r, _, err := m.rankerOf()
		if err != nil {
			return nil, err
		}
		tm.Ranker = r
	}
	// "twotower" is retrieval alone: no other source, no ranker, no MMR.
	b, err := builder.Build(&tm, s.Train, builder.Options{NoSources: m.NoSources || !m.WithRanker})
	if err != nil {
		return nil, err
	}
	if b.Pipeline != nil && m.Tune != nil {
		m.Tune(&b.Pipeline.Defaults)
	}
	data, err := bundle.Encode(b)
	if err != nil {
		return nil, err
	}
	m.bundle = len(data)
	return pipeline.Load(data)
}

// rankerOf returns the model's ranker and its report.
func (m *TwoTower) rankerOf() (*rank.Model, *train.RankerReport, error) {
	if m.RankVary != nil {
		return m.Towers.rankerWith("vary="+m.Name(), m.RankVary)
	}
	return m.Towers.ranker(m.RankLoss)
}

// Describe reports the training run.
func (m *TwoTower) Describe() string {
	t := m.Towers
	r := t.run
	c := t.Config
	d := fmt.Sprintf("dim %d, batch %d+%d negatives, seed %d; early stop at epoch %d (validation recall@20 %v), popularity prior %g (validation recall@20 %v), refit %v; %d examples; trained in %.1fs; bundle %d bytes",
		c.Dim, c.Batch, c.Negatives, c.Seed, r.BestEpoch, roundAll(r.ValRecall), r.PopPrior, roundAll(r.PriorRecall), c.Refit, r.Examples, t.secs, m.bundle)
	if m.WithRanker {
		if _, rep, _ := m.rankerOf(); rep != nil {
			d += fmt.Sprintf("; ranker on %d lists (%d held out, %d candidates, %.0f%% of targets retrieved): held-out recall@20 %.4f vs retrieval order %.4f, blend %.4f",
				rep.Lists, rep.HeldOut, rep.Candidates, 100*rep.CandidateRecall, rep.RankerRecall20, rep.RetrievalRecall20, rep.BlendRecall20)
			switch {
			case rep.HeldOut == 0:
				d += ", too few lists to train one: served without it"
			case !rep.Used:
				d += ", not better: served without it"
			}
		} else {
			d += "; no ranker (no validation window)"
		}
	}
	return d
}

func roundAll(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(int(x*10000+0.5)) / 10000
	}
	return out
}
