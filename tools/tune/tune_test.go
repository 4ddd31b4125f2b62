package tune

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/tools/synth"
	"github.com/edgerec/edgerec/tools/train"
)

func smallSearch(t *testing.T, opt Options) *Result {
	t.Helper()
	sc := synth.DefaultConfig()
	sc.Users, sc.Items = 150, 120
	ds, err := synth.Generate(sc)
	require.NoError(t, err)
	base := train.DefaultConfig()
	base.IDDim, base.CategoryDim, base.TokenBuckets, base.Hidden, base.Dim = 8, 4, 64, []int{16}, 8
	base.Epochs, base.Workers = 3, 2
	if opt.Space == nil {
		opt.Space = Space{"temperature": {0.05, 0.2}, "lr": {0.003, 0.01}, "dim": {8, 16}}
	}
	r, err := Search(ds, base, opt)
	require.NoError(t, err)
	return r
}

func TestSearchHalves(t *testing.T) {
	var seen []Trial
	r := smallSearch(t, Options{Trials: 4, Eta: 2, Seed: 3, Progress: func(tr Trial) { seen = append(seen, tr) }})
	// 3 epochs at most, halving by 2: two rungs (1 and 3 epochs; a third
	// would repeat one of them). The first keeps the best 2 of 4, and the
	// base configuration goes on whatever its score.
	rungs := map[int]int{}
	base := map[int]bool{}
	for _, tr := range r.Trials {
		rungs[tr.Rung]++
		assert.Equal(t, []int{1, 3}[tr.Rung], tr.Epochs)
		if tr.ID == 0 {
			base[tr.Rung] = true
		}
	}
	assert.Equal(t, 4, rungs[0])
	assert.Contains(t, []int{2, 3}, rungs[1])
	assert.Len(t, rungs, 2)
	assert.True(t, base[0] && base[1], "the base runs at every rung")
	assert.Empty(t, r.Trials[0].Params, "the first trial is the base configuration")
	assert.Equal(t, r.Trials, seen, "progress reports every trial in order")
	for _, tr := range r.Trials {
		if tr.Rung == 1 {
			assert.GreaterOrEqual(t, r.Best.ValRecall, tr.ValRecall, "the best of the last rung is chosen")
		}
	}
	assert.Equal(t, 1, r.Best.Rung)
	assert.Equal(t, 3, r.Config.Epochs, "the chosen config keeps the base's maximum epochs")
	for k, v := range r.Best.Params {
		b, _ := json.Marshal(v)
		cb, _ := json.Marshal(r.Config)
		assert.Contains(t, string(cb), `"`+k+`":`+string(b), "the chosen config carries the best trial's %s", k)
	}
	// The survivors of the first rung are its best (and the base).
	var first []Trial
	for _, tr := range r.Trials {
		if tr.Rung == 0 {
			first = append(first, tr)
		}
	}
	for _, c := range r.Trials {
		if c.Rung != 1 || c.ID == 0 {
			continue
		}
		mine := first[indexOf(first, c.ID)]
		for _, p := range first {
			if indexOf(r.Trials[len(first):], p.ID) < 0 {
				assert.GreaterOrEqual(t, mine.ValRecall, p.ValRecall, "promoted %d over %d", c.ID, p.ID)
			}
		}
	}
}

// TestApplyLeavesBaseAlone: drawing lists (hidden, decays) must not write
// into the base configuration's arrays, which every trial shares.
func TestApplyLeavesBaseAlone(t *testing.T) {
	base := train.DefaultConfig()
	base.Workers = 3
	hidden, decays := slices.Clone(base.Hidden), slices.Clone(base.Decays)
	a, err := apply(base, map[string]any{"hidden": []int{256}, "decays": []float32{0.5}})
	require.NoError(t, err)
	assert.Equal(t, []int{256}, a.Hidden)
	assert.Equal(t, []float32{0.5}, a.Decays)
	assert.Equal(t, 3, a.Workers)
	assert.Equal(t, hidden, base.Hidden)
	assert.Equal(t, decays, base.Decays)
	b, err := apply(base, map[string]any{"hidden": []int{7}})
	require.NoError(t, err)
	assert.Equal(t, []int{256}, a.Hidden, "a later draw leaves an earlier one alone")
	assert.Equal(t, decays, b.Decays)
}

func indexOf(ts []Trial, id int) int {
	for i, t := range ts {
		if t.ID == id {
			return i
		}
	}
	return -1
}

func TestSearchReproducible(t *testing.T) {
	a := smallSearch(t, Options{Trials: 3, Seed: 9})
	b := smallSearch(t, Options{Trials: 3, Seed: 9})
	for i := range a.Trials {
		a.Trials[i].Seconds, b.Trials[i].Seconds = 0, 0
	}
	a.Best.Seconds, b.Best.Seconds = 0, 0
	assert.Equal(t, a.Trials, b.Trials)
	assert.Equal(t, a.Config, b.Config)
	c := smallSearch(t, Options{Trials: 3, Seed: 10})
	assert.NotEqual(t, Describe(a.Trials[1].Params)+Describe(a.Trials[2].Params), Describe(c.Trials[1].Params)+Describe(c.Trials[2].Params),
		"another seed draws other configurations")
}

func TestSearchBudget(t *testing.T) {
	// A budget shorter than one trial: the first trial runs (its cost is
	// unknown before), nothing after it.
	r := smallSearch(t, Options{Trials: 6, Seed: 1, Budget: time.Nanosecond})
	assert.True(t, r.Cut)
	assert.Len(t, r.Trials, 1)
}

func TestParseSpace(t *testing.T) {
	s, err := ParseSpace([]byte(`{"temperature": [0.1, 0.2], "hidden": [[], [64]]}`))
	require.NoError(t, err)
	assert.Len(t, s["hidden"], 2)
	for _, bad := range []string{`{"temprature": [0.1]}`, `{"temperature": []}`, `{"temperature": [-1]}`, `{"dim": ["x"]}`, `[`} {
		_, err := ParseSpace([]byte(bad))
		assert.Error(t, err, bad)
	}
	for k, vs := range DefaultSpace() {
		for _, v := range vs {
			_, err := apply(train.DefaultConfig(), map[string]any{k: v})
			assert.NoError(t, err, "default space %s=%v", k, v)
		}
	}
}

func TestPlot(t *testing.T) {
	r := smallSearch(t, Options{Trials: 2, Seed: 2})
	var b bytes.Buffer
	require.NoError(t, Plot(&b, "search <1>", r))
	svg := b.String()
	assert.True(t, strings.HasPrefix(svg, "<svg"))
	assert.Equal(t, len(r.Trials), strings.Count(svg, "<title>trial"))
	assert.Contains(t, svg, "search &lt;1&gt;")
}
