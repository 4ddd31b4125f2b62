package eval_test

import (
	"testing"

	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/pipeline"
	"github.com/edgerec/edgerec/tools/builder"
	"github.com/edgerec/edgerec/tools/eval"
	"github.com/edgerec/edgerec/tools/synth"
	"github.com/edgerec/edgerec/tools/train"
)

// TestTwoTowerBeatsPopularity is the quality smoke test: on the final 10%
// of a synthetic log, the trained model served through the pipeline must
// clearly beat popularity on Recall@20.
func TestTwoTowerBeatsPopularity(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	cfg := synth.DefaultConfig()
	cfg.Users, cfg.Items = 1200, 800
	ds, err := synth.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	split, err := eval.TemporalSplit(ds, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	tc := train.DefaultConfig()
	tc.Epochs = 3
	m, err := train.Train(split.Train, tc, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := builder.Build(m, split.Train, builder.Options{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := bundle.Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := pipeline.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	pop := eval.Evaluate(split, eval.Popularity(split))
	tt := eval.Evaluate(split, eval.Pipeline(rec, split.Train.Users))
	t.Logf("%d test users; Recall@20: two-tower %.4f, popularity %.4f; NDCG@10: %.4f vs %.4f",
		tt.Users, tt.Metrics["recall@20"], pop.Metrics["recall@20"], tt.Metrics["ndcg@10"], pop.Metrics["ndcg@10"])
	if pop.Metrics["recall@20"] <= 0 {
		t.Error("popularity found nothing: the synthetic data lost its popularity skew")
	}
	if tt.Metrics["recall@20"] < 1.5*pop.Metrics["recall@20"] {
		t.Errorf("two-tower Recall@20 %.4f is not clearly above popularity's %.4f", tt.Metrics["recall@20"], pop.Metrics["recall@20"])
	}
}
