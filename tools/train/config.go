package train

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"

	"github.com/edgerec/edgerec/core/feature"
)

// Config sets the model's shape and the training run. Every field has a
// JSON name and a documented default (DefaultConfig; `edgerec train
// --print-config` prints them). LoadConfig reads a file holding any subset.
type Config struct {
	// Model shape.
	IDDim        int       `json:"id_dim"`        // item-id embedding width, shared by both towers
	CategoryDim  int       `json:"category_dim"`  // category embedding width
	TokenBuckets int       `json:"token_buckets"` // hashed title-token rows (0 = no text input)
	TokenDim     int       `json:"token_dim"`     // title-token embedding width
	FieldDim     int       `json:"field_dim"`     // width of each categorical user field's embedding
	Decays       []float32 `json:"decays"`        // one pooled history vector per decay (1 = plain mean)
	SeedItem     bool      `json:"seed_item"`     // add the seed (or newest history) item's embedding
	// UserFields lists the categorical query features (feature.Context
	// names); "attrs" stands for every attribute the user table has.
	UserFields   []string `json:"user_fields"`
	UserNumerics []string `json:"user_numerics"` // quantile-normalized, with x² and √x
	ItemNumerics []string `json:"item_numerics"` // quantile-normalized, with x² and √x
	QueryCross   int      `json:"query_cross"`   // DCN-v2 cross layers before the query MLP
	ItemCross    int      `json:"item_cross"`    // cross layers before the item MLP
	Hidden       []int    `json:"hidden"`        // hidden layer widths of both MLPs (ReLU)
	Dim          int      `json:"dim"`           // output embedding width

	// Loss and sampling.
	Temperature float32 `json:"temperature"` // softmax temperature τ: logits are u·v/τ
	Batch       int     `json:"batch"`       // examples per batch; their items are the in-batch negatives
	Negatives   int     `json:"negatives"`   // B′ uniform corpus negatives per batch (mixed negative sampling); 0 = off
	LogQ        bool    `json:"logq"`        // subtract log q(item) from every logit (sampling-bias correction)
	// LogQScale multiplies the log-Q correction: 1 corrects the sampling
	// bias exactly; above 1 the scores learn to favour popular items by
	// about (LogQScale − 1)·log q(item). Without LogQ, and under the full
	// softmax, it does nothing.
	LogQScale float32 `json:"logq_scale"`
	// PopPrior is the popularity prior the model's bundle orders the
	// two-tower source with: score + PopPrior·ln(1 + training
	// interactions) (bundle.Model.PopPrior). Negative: chosen on the
	// validation split, at the best epoch, among 0, 0.02, 0.05, 0.1 and
	// 0.2, by the Recall@20 of the users with items before the window;
	// without validation, 0.
	PopPrior float32 `json:"pop_prior"`
	// FullSoftmax scores each example against every item instead of the
	// sampled columns when the catalog has at most this many items (0 =
	// never): no sampling, so no log-Q correction and no negatives.
	FullSoftmax int     `json:"full_softmax"`
	HitMask     bool    `json:"hit_mask"`   // mask negatives that are the row's own positive item
	IDDropout   float32 `json:"id_dropout"` // probability of hiding an item's id from the item tower, so content features learn to stand in (cold start)
	MaxPerUser  int     `json:"max_per_user"`
	MaxHistory  int     `json:"max_history"` // most recent history items a query pools

	// Optimization.
	Epochs int     `json:"epochs"` // maximum epochs
	LR     float32 `json:"lr"`     // Adam step size
	// LRSchedule is "constant", or "cosine": the step size falls from LR to
	// 0 along a half cosine over Epochs (the maximum), so a refit for fewer
	// epochs follows the fit's schedule.
	LRSchedule string `json:"lr_schedule"`
	// WeightDecay is AdamW's decoupled weight decay, applied to the dense
	// weights every step and to an embedding row when a batch touches it.
	WeightDecay float32 `json:"weight_decay"`
	Validation  float64 `json:"validation"` // share of the latest training events held out for early stopping (0 = off)
	Patience    int     `json:"patience"`   // epochs without a better validation Recall@20 before stopping
	Refit       bool    `json:"refit"`      // after early stopping, retrain on all events for the best epoch count
	Seed        int64   `json:"seed"`
	// Workers is the number of goroutines; 0 means GOMAXPROCS.
	Workers int `json:"-"`
}

// AttrsField in Config.UserFields stands for every user attribute.
const AttrsField = "attrs"

// DefaultConfig returns the configuration `edgerec train` uses by default.
func DefaultConfig() Config {
	return Config{
		IDDim:        32,
		CategoryDim:  16,
		TokenBuckets: 2048,
		TokenDim:     16,
		FieldDim:     8,
		Decays:       []float32{1, 0.8},
		SeedItem:     true,
		UserFields:   []string{feature.Region, feature.Device, feature.Gender, feature.AgeGroup, AttrsField},
		UserNumerics: []string{feature.Age, feature.HistoryLog},
		ItemNumerics: []string{feature.Price, feature.ItemAge},
		QueryCross:   0,
		ItemCross:    0,
		Hidden:       []int{128},
		Dim:          64,
		Temperature:  0.1,
		Batch:        256,
		Negatives:    256,
		LogQ:         true,
		LogQScale:    1,
		PopPrior:     -1,
		HitMask:      true,
		IDDropout:    0.1,
		MaxPerUser:   0,
		MaxHistory:   50,
		Epochs:       8,
		LR:           0.0015,
		LRSchedule:   "constant",
		Validation:   0.1,
		Patience:     2,
		Refit:        true,
		Seed:         1,
	}
}

// LoadConfig reads a JSON configuration file over the defaults: fields the
// file leaves out keep their default, unknown fields are an error.
func LoadConfig(path string) (Config, error) {
	cfg := DefaultConfig()
	f, err := os.Open(path)
	if err != nil {
		return cfg, err
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, cfg.Validate()
}

// Validate reports the first field out of range.
func (c *Config) Validate() error {
	type bound struct {
		name   string
		v      int
		lo, hi int
	}
	for _, b := range []bound{
		{"id_dim", c.IDDim, 1, 1024}, {"category_dim", c.CategoryDim, 1, 1024}, {"token_buckets", c.TokenBuckets, 0, 1 << 20},
		{"token_dim", c.TokenDim, 1, 1024}, {"field_dim", c.FieldDim, 1, 1024}, {"query_cross", c.QueryCross, 0, 8},
		{"item_cross", c.ItemCross, 0, 8}, {"dim", c.Dim, 1, 1024}, {"batch", c.Batch, 2, 8192},
		{"negatives", c.Negatives, 0, 8192}, {"full_softmax", c.FullSoftmax, 0, 1 << 20}, {"max_per_user", c.MaxPerUser, 0, 1 << 30}, {"max_history", c.MaxHistory, 1, 4096},
		{"epochs", c.Epochs, 1, 1000}, {"patience", c.Patience, 1, 1000}, {"workers", c.Workers, 0, 1024},
	} {
		if b.v < b.lo || b.v > b.hi {
			return fmt.Errorf("%s = %d out of range [%d, %d]", b.name, b.v, b.lo, b.hi)
		}
	}
	switch {
	case !(c.LogQScale >= 0) || c.LogQScale > 4:
		return fmt.Errorf("logq_scale = %v out of range [0, 4]", c.LogQScale)
	case !(c.PopPrior <= 1): // negative: chosen on validation
		return fmt.Errorf("pop_prior = %v out of range [0, 1] (or negative: chosen on validation)", c.PopPrior)
	case !(c.Temperature > 0) || c.Temperature > 10:
		return fmt.Errorf("temperature = %v out of range (0, 10]", c.Temperature)
	case !(c.LR > 0) || c.LR > 1:
		return fmt.Errorf("lr = %v out of range (0, 1]", c.LR)
	case !(c.WeightDecay >= 0 && c.WeightDecay < 1):
		return fmt.Errorf("weight_decay = %v out of range [0, 1)", c.WeightDecay)
	case c.FullSoftmax > 0 && c.Batch*c.FullSoftmax > 1<<26:
		return fmt.Errorf("batch × full_softmax = %d × %d logits per step, more than %d", c.Batch, c.FullSoftmax, 1<<26)
	case c.LRSchedule != "constant" && c.LRSchedule != "cosine":
		return fmt.Errorf("lr_schedule = %q, want constant or cosine", c.LRSchedule)
	case !(c.IDDropout >= 0 && c.IDDropout < 1):
		return fmt.Errorf("id_dropout = %v out of range [0, 1)", c.IDDropout)
	case !(c.Validation >= 0 && c.Validation < 0.5):
		return fmt.Errorf("validation = %v out of range [0, 0.5)", c.Validation)
	case len(c.Decays) > 8:
		return fmt.Errorf("%d decays, at most 8", len(c.Decays))
	}
	for _, d := range c.Decays {
		if !(d > 0 && d <= 1) {
			return fmt.Errorf("decay %v out of range (0, 1]", d)
		}
	}
	for _, h := range c.Hidden {
		if h <= 0 || h > 4096 {
			return fmt.Errorf("hidden width %d out of range [1, 4096]", h)
		}
	}
	known := map[string]bool{feature.Age: true, feature.HistoryLog: true, feature.Price: true, feature.ItemAge: true}
	for _, n := range append(append([]string{}, c.UserNumerics...), c.ItemNumerics...) {
		if !known[n] {
			return fmt.Errorf("unknown numeric feature %q (known: age, history_len, price, age_days)", n)
		}
	}
	return nil
}

// stepSize returns the learning rate at fraction done of epoch (1-based).
func (c *Config) stepSize(epoch int, done float64) float32 {
	if c.LRSchedule != "cosine" {
		return c.LR
	}
	progress := (float64(epoch-1) + done) / float64(c.Epochs)
	return float32(float64(c.LR) * 0.5 * (1 + math.Cos(math.Pi*min(progress, 1))))
}

func (c *Config) workers() int {
	if c.Workers > 0 {
		return c.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// JSON returns the configuration as indented JSON.
func (c Config) JSON() string {
	b, _ := json.MarshalIndent(c, "", "  ")
	return strings.TrimSpace(string(b))
}
