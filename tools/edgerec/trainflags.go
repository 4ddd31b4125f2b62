package main

import (
	"flag"

	"github.com/edgerec/edgerec/tools/train"
)

// trainFlags registers the training flags on fs and returns a function that,
// after parsing, gives the configuration: the defaults, then --config, then
// the flags given on the command line; the ablation switches last.
func trainFlags(fs *flag.FlagSet) func() (train.Config, error) {
	def := train.DefaultConfig()
	configFile := fs.String("config", "", "JSON file of training settings over the defaults (see --print-config)")
	epochs := fs.Int("epochs", def.Epochs, "maximum passes over the data (early stopping may end sooner)")
	batch := fs.Int("batch", def.Batch, "examples per batch: their items are the in-batch negatives")
	negatives := fs.Int("negatives", def.Negatives, "uniform corpus negatives per batch (mixed negative sampling)")
	lr := fs.Float64("lr", float64(def.LR), "Adam learning rate")
	temp := fs.Float64("temperature", float64(def.Temperature), "softmax temperature")
	dim := fs.Int("dim", def.Dim, "embedding width")
	hidden := fs.String("hidden", joinInts(def.Hidden), "hidden layer widths, comma-separated")
	validation := fs.Float64("validation", def.Validation, "share of the latest events held out for early stopping (0 = none)")
	maxPerUser := fs.Int("max-per-user", def.MaxPerUser, "cap on training examples per user per epoch (0 = no cap)")
	seed := fs.Int64("seed", def.Seed, "random seed")
	workers := fs.Int("workers", 0, "goroutines (0 = all cores)")
	noLogQ := fs.Bool("no-logq", false, "ablation: no log-Q sampling-bias correction")
	noMNS := fs.Bool("no-mns", false, "ablation: in-batch negatives only (no uniform corpus negatives)")
	noHitMask := fs.Bool("no-hit-mask", false, "ablation: do not mask accidental hits")
	noRefit := fs.Bool("no-refit", false, "keep the early-stopped model instead of retraining on every event")
	noPrior := fs.Bool("no-pop-prior", false, "ablation: no popularity prior on the two-tower source (pop_prior 0 instead of chosen on validation)")
	return func() (train.Config, error) {
		cfg := def
		if *configFile != "" {
			c, err := train.LoadConfig(*configFile)
			if err != nil {
				return cfg, err
			}
			cfg = c
		}
		var err error
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "epochs":
				cfg.Epochs = *epochs
			case "batch":
				cfg.Batch = *batch
			case "negatives":
				cfg.Negatives = *negatives
			case "lr":
				cfg.LR = float32(*lr)
			case "temperature":
				cfg.Temperature = float32(*temp)
			case "dim":
				cfg.Dim = *dim
			case "hidden":
				var h []int
				if h, err = parseInts(*hidden); err != nil {
					err = usagef("--hidden: %v", err)
				}
				cfg.Hidden = h
			case "validation":
				cfg.Validation = *validation
			case "max-per-user":
				cfg.MaxPerUser = *maxPerUser
			case "seed":
				cfg.Seed = *seed
			case "workers":
				cfg.Workers = *workers
			}
		})
		if err != nil {
			return cfg, err
		}
		if *noLogQ {
			cfg.LogQ = false
		}
		if *noMNS {
			cfg.Negatives = 0
		}
		if *noHitMask {
			cfg.HitMask = false
		}
		if *noRefit {
			cfg.Refit = false
		}
		if *noPrior {
			cfg.PopPrior = 0
		}
		if err := cfg.Validate(); err != nil {
			return cfg, usagef("%v", err)
		}
		return cfg, nil
	}
}
