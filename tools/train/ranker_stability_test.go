package train

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/rank"
	"github.com/edgerec/edgerec/tools/dataset"
)

// randomLists returns n lists of 30 candidates over rank.Features whose
// positives lean on the first two features, so that a ranker has
// something to learn.
func randomLists(n int, rng *rand.Rand) []list {
	var out []list
	for range n {
		l := list{}
		for range 30 {
			x := make([]float32, len(rank.Features))
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			l.x = append(l.x, x)
			l.y = append(l.y, x[0]+x[1]+float32(rng.NormFloat64()) > 2)
			l.blend = append(l.blend, -float32(len(l.blend)))
		}
		l.y[0] = true
		for _, v := range l.y {
			if v {
				l.targets++
			}
		}
		out = append(out, l)
	}
	return out
}

// TestSWAIsTheMeanOfTheLastEpochs checks that a ranker trained with SWA k
// over E epochs has the mean of the weights that training for E − k + 1,
// …, E epochs ends with: a run is a prefix of a longer one (the shuffles
// draw from one stream), so the snapshots can be taken from shorter runs.
func TestSWAIsTheMeanOfTheLastEpochs(t *testing.T) {
	lists := randomLists(40, rand.New(rand.NewPCG(3, 4)))
	fit, held := lists[8:], lists[:8]
	cfg := DefaultRankerConfig()
	run := func(epochs, swa, batch int) *rank.Model {
		c := cfg
		c.Epochs, c.SWA, c.Batch = epochs, swa, batch
		require.NoError(t, c.Validate())
		m, epoch, _ := trainRanker(fit, held, rank.Features, c, rand.New(rand.NewPCG(5, 6)))
		assert.Equal(t, epochs, epoch, "SWA trains every epoch")
		return m
	}
	for _, batch := range []int{1, 4} {
		got := rankerParams(run(5, 3, batch))
		var snaps [][][]float32
		for e := 3; e <= 5; e++ {
			snaps = append(snaps, rankerParams(run(e, 1, batch)))
		}
		for k := range got {
			for j := range got[k] {
				want := (snaps[0][k][j] + snaps[1][k][j] + snaps[2][k][j]) / 3
				require.InDelta(t, want, got[k][j], 1e-6, "batch %d, tensor %d, weight %d", batch, k, j)
			}
		}
	}
}

// TestBatchOfOneIsPerListSteps checks that Batch 1 and Batch 0 train the
// same ranker, and that a larger batch trains another (fewer steps).
func TestBatchOfOneIsPerListSteps(t *testing.T) {
	lists := randomLists(30, rand.New(rand.NewPCG(7, 8)))
	cfg := DefaultRankerConfig()
	cfg.Epochs = 3
	train := func(batch int) []float32 {
		c := cfg
		c.Batch = batch
		m, _, _ := trainRanker(lists[5:], lists[:5], rank.Features, c, rand.New(rand.NewPCG(1, 1)))
		return m.MLP.Layers[0].W
	}
	assert.Equal(t, train(0), train(1))
	assert.NotEqual(t, train(0), train(8))
}

// TestHoldOutByUser checks that a user's lists are all held out or all
// fitted, and that the held-out share counts users.
func TestHoldOutByUser(t *testing.T) {
	var groups [][]list
	for u := range 50 {
		var g []list
		for range 1 + u%4 {
			g = append(g, list{targets: u})
		}
		groups = append(groups, g)
	}
	held, fit := holdOut(groups, 0.2, rand.New(rand.NewPCG(1, 2)))
	heldUsers := map[int]int{}
	for _, l := range held {
		heldUsers[l.targets]++
	}
	assert.Len(t, heldUsers, 10, "a fifth of the 50 users")
	for _, l := range fit {
		assert.NotContains(t, heldUsers, l.targets, "user %d both held out and fitted", l.targets)
	}
	for u, n := range heldUsers {
		assert.Equal(t, 1+u%4, n, "user %d: every list held out", u)
	}
	total := 0
	for _, g := range groups {
		total += len(g)
	}
	assert.Equal(t, total, len(held)+len(fit), "every list is held out or fitted")
}

// TestRequestTimes checks when a validation user is asked (Cuts).
func TestRequestTimes(t *testing.T) {
	at := func(times ...int64) []dataset.Interaction {
		var out []dataset.Interaction
		for _, x := range times {
			out = append(out, dataset.Interaction{Time: x})
		}
		return out
	}
	for _, c := range []struct {
		name  string
		later []dataset.Interaction
		cuts  int
		want  []int64
	}{
		{"one cut", at(10, 20, 30), 1, []int64{5}},
		{"zero is one", at(10, 20, 30), 0, []int64{5}},
		{"the first event's time asks nothing new", at(10, 10, 20), 4, []int64{5, 20}},
		{"every distinct later time", at(10, 20, 20, 30), 4, []int64{5, 20, 30}},
		{"evenly spaced, the latest last", at(10, 20, 30, 40, 50, 60, 70), 3, []int64{5, 40, 70}},
		{"one event", at(5), 4, []int64{5}},
	} {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, requestTimes(c.later, 5, c.cuts))
		})
	}
}

// TestFoldsHoldOutEveryUser checks that with Folds the guard's figures
// cover every list (each user held out once) and that a ranker that
// learns what the blend cannot see is shipped.
func TestFoldsHoldOutEveryUser(t *testing.T) {
	lists := randomLists(60, rand.New(rand.NewPCG(9, 10)))
	d := &RankerData{features: rank.Features, depth: DefaultRankerConfig().Depth, cuts: DefaultRankerConfig().Cuts}
	for i := 0; i < len(lists); i += 3 {
		d.groups = append(d.groups, lists[i:i+3])
	}
	cfg := DefaultRankerConfig()
	cfg.MinLists, cfg.Epochs, cfg.SWA, cfg.Folds = 10, 6, 4, 5
	m, rep, err := d.Fit(cfg)
	require.NoError(t, err)
	assert.Equal(t, len(lists), rep.HeldOut)
	assert.Equal(t, 20, rep.Users)
	require.True(t, rep.Used, "held-out recall@20 %.3f, blend %.3f", rep.RankerRecall20, rep.BlendRecall20)
	require.NotNil(t, m)
	assert.Equal(t, cfg.Epochs, rep.BestEpoch)
	// Fit leaves d as it was: a second fit trains the same ranker.
	m2, _, err := d.Fit(cfg)
	require.NoError(t, err)
	assert.Equal(t, m.MLP.Layers[0].W, m2.MLP.Layers[0].W)
	// From FewUsers users on, one held-out share decides.
	cfg.FewUsers = 20
	_, rep, err = d.Fit(cfg)
	require.NoError(t, err)
	assert.Equal(t, 12, rep.HeldOut, "a fifth of the 20 users, 3 lists each")
	cfg.SWA = 0
	assert.Error(t, cfg.Validate(), "folds without a fixed schedule")
}

// TestRankerConfigDocumented keeps CONFIG.md's ranker table complete:
// every key of the default ranker configuration has a row in it.
func TestRankerConfigDocumented(t *testing.T) {
	doc, err := os.ReadFile("CONFIG.md")
	require.NoError(t, err)
	_, table, ok := strings.Cut(string(doc), "## The ranker")
	require.True(t, ok, "CONFIG.md has no section on the ranker")
	b, err := json.Marshal(DefaultRankerConfig())
	require.NoError(t, err)
	var keys map[string]any
	require.NoError(t, json.Unmarshal(b, &keys))
	for k := range keys {
		assert.Contains(t, table, "| `"+k+"` |", "CONFIG.md's ranker table has no row for %q", k)
	}
}

// TestSoupIsTheMeanOfItsMembers checks that a soup of k rankers has the
// mean of the weights of k rankers trained from one initialization, each
// on its own order of the lists, and that those members differ (their
// orders do).
func TestSoupIsTheMeanOfItsMembers(t *testing.T) {
	lists := randomLists(40, rand.New(rand.NewPCG(9, 10)))
	fit, held := lists[8:], lists[:8]
	cfg := DefaultRankerConfig()
	cfg.Epochs, cfg.SWA, cfg.Soup = 3, 2, 3
	require.NoError(t, cfg.Validate())
	d := &RankerData{features: rank.Features}
	soup, _, _ := d.fitSoup(fit, held, cfg, rand.New(rand.NewPCG(5, 6)))

	rng := rand.New(rand.NewPCG(5, 6))
	init := newRanker(fit, rank.Features, cfg, rng)
	var members [][][]float32
	for k := range cfg.Soup {
		r := rng
		if k > 0 {
			r = rand.New(rand.NewPCG(uint64(cfg.Seed), 0x736f7570+uint64(k)))
		}
		m, _, _ := trainRankerFrom(cloneRanker(init), fit, held, cfg, r, 1)
		members = append(members, rankerParams(m))
	}
	assert.NotEqual(t, members[0][0], members[1][0], "members trained on other orders differ")
	for i, p := range rankerParams(soup) {
		for j, v := range p {
			want := (members[0][i][j] + members[1][i][j] + members[2][i][j]) / 3
			require.InDelta(t, want, v, 1e-6, "tensor %d, weight %d", i, j)
		}
	}
	assert.Equal(t, init.Mean, soup.Mean, "one standardization")
}
