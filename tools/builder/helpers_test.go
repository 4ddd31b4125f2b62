package builder_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/tools/dataset"
	"github.com/edgerec/edgerec/tools/model"
	"github.com/edgerec/edgerec/tools/synth"
	"github.com/edgerec/edgerec/tools/train"
)

// smallTrained returns a synthetic data set of 300 users and 200 items and
// towers trained on it for one epoch: enough to build bundles from.
func smallTrained(t *testing.T) (*model.Model, *dataset.Dataset) {
	t.Helper()
	cfg := synth.DefaultConfig()
	cfg.Users, cfg.Items = 300, 200
	ds, err := synth.Generate(cfg)
	require.NoError(t, err)
	tc := train.DefaultConfig()
	tc.Epochs = 1
	m, err := train.Train(ds, tc, nil)
	require.NoError(t, err)
	return m, ds
}
