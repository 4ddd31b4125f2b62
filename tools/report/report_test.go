package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/host/events"
)

var t0 = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

// arm returns the events of lists impressions of perList items in arm,
// with a take of each item take(list, position) says.
func arm(name string, lists, perList int, take func(list, pos int) bool) []events.Event {
	var out []events.Event
	for l := range lists {
		id := fmt.Sprintf("%s-%d", name, l)
		imp := events.Event{Type: events.TypeImpression, RequestID: id, TimeMs: t0.UnixMilli() + int64(l), Arm: name,
			User: fmt.Sprintf("u%d", l%50)}
		for p := 1; p <= perList; p++ {
			src := "twotower"
			if p%2 == 0 {
				src = "popular"
			}
			imp.Items = append(imp.Items, events.Shown{Item: fmt.Sprintf("i%d", (l*7+p)%200), Position: int32(p), Source: src})
		}
		out = append(out, imp)
		for p := 1; p <= perList; p++ {
			if take(l, p) {
				out = append(out, events.Event{Type: events.TypeTake, RequestID: id, Item: imp.Items[p-1].Item, Kind: events.KindWatch,
					Position: int32(p), User: imp.User, TimeMs: imp.TimeMs + 1000})
			}
		}
	}
	return out
}

// every returns a take rule that takes exactly num of every den
// impressions of lists of 10 items.
func every(num, den int) func(int, int) bool {
	return func(l, p int) bool { return (l*10+p-1)%den < num }
}

func TestBuildCounts(t *testing.T) {
	a := arm("A", 100, 10, func(l, p int) bool { return p == 1 && l%2 == 0 }) // 50 takes, all at position 1
	b := arm("B", 100, 10, func(l, p int) bool { return p <= 2 && l%5 != 0 }) // 160 takes
	evs := append(a, b...)
	// A take written before its impression, a repeated take, a take of
	// an item the list did not show, and a take without a request id.
	require.Equal(t, events.TypeTake, b[2].Type)
	evs = append([]events.Event{b[2]}, evs...)
	evs = append(evs, a[1],
		events.Event{Type: events.TypeTake, RequestID: "A-0", Item: "not-shown", Kind: events.KindBuy},
		events.Event{Type: events.TypeTake, Item: "i1", Kind: events.KindClick},
		events.Event{Type: events.TypeSkip, RequestID: "A-1", Item: a[2].Item},
	)
	// The same list logged twice (node and client).
	dup := a[0]
	dup.Origin = events.OriginClient
	evs = append(evs, dup)

	r, err := Build(evs, Options{})
	require.NoError(t, err)
	require.Len(t, r.Arms, 2)
	A, B := r.Arms[0], r.Arms[1]
	assert.Equal(t, 1000, A.Impressions)
	assert.Equal(t, 50, A.Takes)
	assert.Equal(t, 160, B.Takes)
	assert.Equal(t, 100, A.Lists)
	assert.Equal(t, 50, A.Users)
	assert.Equal(t, 1, r.Duplicates)
	assert.Equal(t, 2, r.Unattributed)
	assert.Equal(t, 1, r.Skips)
	lo, hi := Wilson(50, 1000, z95)
	assert.Equal(t, Rate{Rate: 0.05, Low: lo, High: hi}, A.Rate)

	// By position: A's takes are all at position 1.
	require.Len(t, A.ByPosition, 10)
	assert.Equal(t, "1", A.ByPosition[0].Key)
	assert.Equal(t, 50, A.ByPosition[0].Takes)
	assert.Equal(t, 100, A.ByPosition[0].Impressions)
	assert.Equal(t, "10", A.ByPosition[9].Key, "positions sort as numbers")
	assert.Zero(t, A.ByPosition[1].Takes)
	// By source: odd positions are twotower.
	require.Len(t, B.BySource, 2)
	assert.Equal(t, "popular", B.BySource[0].Key)
	assert.Equal(t, 80, B.BySource[0].Takes)
	assert.Equal(t, 80, B.BySource[1].Takes)

	require.Len(t, r.Comparisons, 1)
	c := r.Comparisons[0]
	d, clo, chi := NewcombeDiff(50, 1000, 160, 1000, z95)
	assert.Equal(t, [3]float64{d, clo, chi}, [3]float64{c.Diff, c.Low, c.High})
	assert.True(t, c.Significant)
	assert.Equal(t, fmt.Sprintf("B beats A by 11.0 points, 95%% CI [%.1f, %.1f]", 100*clo, 100*chi), c.Verdict)

	r, err = Build(evs, Options{Baseline: "B"})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(r.Comparisons[0].Verdict, "A trails B by 11.0 points"), r.Comparisons[0].Verdict)
	_, err = Build(evs, Options{Baseline: "C"})
	assert.ErrorContains(t, err, `"C"`)
}

func TestVerdicts(t *testing.T) {
	t.Run("not yet", func(t *testing.T) {
		// 10 % against 10.5 % on 2 000 impressions each.
		evs := append(arm("A", 200, 10, every(20, 200)), arm("B", 200, 10, every(21, 200))...)
		r, err := Build(evs, Options{})
		require.NoError(t, err)
		c := r.Comparisons[0]
		require.False(t, c.Significant, "%+v", c)
		pooled := float64(r.Arms[0].Takes+r.Arms[1].Takes) / 4000
		assert.Equal(t, SampleSize(pooled, 0.01), c.Needed)
		assert.Equal(t, c.Needed-2000, c.More)
		assert.Contains(t, c.Verdict, "no difference detectable yet between B and A")
		assert.Contains(t, c.Verdict, fmt.Sprintf("about %d more impressions per arm needed for a 1.0-point effect", c.More))
	})
	t.Run("none of the effect size", func(t *testing.T) {
		// Identical take patterns over 60 000 impressions each: the
		// interval lies within ±1 point.
		rule := func(l, p int) bool { return (l*31+p*17)%10 == 0 }
		evs := append(arm("A", 6000, 10, rule), arm("B", 6000, 10, rule)...)
		r, err := Build(evs, Options{})
		require.NoError(t, err)
		c := r.Comparisons[0]
		assert.InDelta(t, 0, c.Diff, 1e-12)
		assert.Contains(t, c.Verdict, "no difference of 1.0 points or more between B and A")
	})
	t.Run("effect option", func(t *testing.T) {
		evs := append(arm("A", 200, 10, every(20, 200)), arm("B", 200, 10, every(21, 200))...)
		r, err := Build(evs, Options{Effect: 0.05})
		require.NoError(t, err)
		assert.Equal(t, SampleSize(float64(r.Arms[0].Takes+r.Arms[1].Takes)/4000, 0.05), r.Comparisons[0].Needed)
		_, err = Build(evs, Options{Effect: 2})
		assert.Error(t, err)
	})
	t.Run("empty", func(t *testing.T) {
		r, err := Build(nil, Options{})
		require.NoError(t, err)
		assert.Empty(t, r.Arms)
		var b bytes.Buffer
		require.NoError(t, WriteText(&b, r))
		assert.Contains(t, b.String(), "no impressions")
	})
}

// TestCoverageNovelty checks both on a set small enough to work by hand.
func TestCoverageNovelty(t *testing.T) {
	evs := []events.Event{
		{Type: events.TypeImpression, RequestID: "r1", User: "u1", Items: []events.Shown{{Item: "a", Position: 1}, {Item: "b", Position: 2}}},
		{Type: events.TypeImpression, RequestID: "r2", User: "u2", Items: []events.Shown{{Item: "a", Position: 1}, {Item: "c", Position: 2}}},
		{Type: events.TypeTake, RequestID: "r1", User: "u1", Item: "a", Kind: events.KindWatch},
		{Type: events.TypeTake, RequestID: "r2", User: "u2", Item: "a", Kind: events.KindWatch},
		{Type: events.TypeTake, User: "u3", Item: "d", Kind: events.KindWatch},
	}
	r, err := Build(evs, Options{})
	require.NoError(t, err)
	a := r.Arms[0]
	assert.Equal(t, DefaultArm, a.Name)
	// Items seen: a, b, c, d; shown: a, b, c.
	assert.InDelta(t, 0.75, a.Coverage, 1e-12)
	// 3 users; a taken by 2: p = 3/4; b and c by none: p = 1/4.
	want := (2*-math.Log2(0.75) + 2*-math.Log2(0.25)) / 4
	assert.InDelta(t, want, a.Novelty, 1e-12)
	r, err = Build(evs, Options{Items: 30})
	require.NoError(t, err)
	assert.InDelta(t, 0.1, r.Arms[0].Coverage, 1e-12)
}

func TestOutputs(t *testing.T) {
	evs := append(arm("A", 100, 10, every(1, 20)), arm("B<&>", 100, 10, every(3, 20))...)
	r, err := Build(evs, Options{})
	require.NoError(t, err)
	var text bytes.Buffer
	require.NoError(t, WriteText(&text, r))
	assert.Contains(t, text.String(), r.Comparisons[0].Verdict)
	assert.Contains(t, text.String(), "take rate by position")
	assert.Contains(t, text.String(), "popular")

	var svg bytes.Buffer
	require.NoError(t, WriteSVG(&svg, r))
	out := svg.String()
	assert.NotContains(t, out, "B<&>", "names escaped")
	assert.Contains(t, out, "B&lt;&amp;&gt;")
	dec := xml.NewDecoder(&svg)
	elements := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		require.NoError(t, err, "the SVG is well-formed XML")
		if _, ok := tok.(xml.StartElement); ok {
			elements++
		}
	}
	assert.Greater(t, elements, 20)
}

// users returns the impression and takes of an arm whose users each see
// one list of per items and take the first taking items of it.
func users(name string, n, per int, taking func(u int) int) []events.Event {
	var out []events.Event
	for u := range n {
		id := fmt.Sprintf("%s-%d", name, u)
		imp := events.Event{Type: events.TypeImpression, RequestID: id, Arm: name, User: fmt.Sprintf("%s-u%d", name, u)}
		for p := 1; p <= per; p++ {
			imp.Items = append(imp.Items, events.Shown{Item: fmt.Sprintf("i%d", p), Position: int32(p)})
		}
		out = append(out, imp)
		for p := range taking(u) {
			out = append(out, events.Event{Type: events.TypeTake, RequestID: id, Item: imp.Items[p].Item, Kind: events.KindClick})
		}
	}
	return out
}

// TestBootstrap: with one impression per user the cluster bootstrap agrees
// with Newcombe's interval; when users take all or nothing it is much
// wider, and the verdict follows it.
func TestBootstrap(t *testing.T) {
	t.Run("independent", func(t *testing.T) {
		evs := append(users("A", 4000, 1, func(u int) int { return boolInt(u%10 == 0) }),
			users("B", 4000, 1, func(u int) int { return boolInt(u%20 < 3) })...)
		r, err := Build(evs, Options{Bootstrap: 2000, Seed: 1})
		require.NoError(t, err)
		c := r.Comparisons[0]
		assert.InDelta(t, c.Low, c.BootLow, 0.004)
		assert.InDelta(t, c.High, c.BootHigh, 0.004)
		a := r.Arms[0]
		assert.InDelta(t, a.Low, a.BootLow, 0.003)
		assert.InDelta(t, a.High, a.BootHigh, 0.003)
		again, err := Build(evs, Options{Bootstrap: 2000, Seed: 1})
		require.NoError(t, err)
		assert.Equal(t, c, again.Comparisons[0], "the same seed gives the same interval")
	})
	t.Run("clustered", func(t *testing.T) {
		// 40 users an arm, 50 items each; 4 (A) or 6 (B) take them all.
		evs := append(users("A", 40, 50, func(u int) int { return 50 * boolInt(u < 4) }),
			users("B", 40, 50, func(u int) int { return 50 * boolInt(u < 6) })...)
		r, err := Build(evs, Options{})
		require.NoError(t, err)
		require.True(t, r.Comparisons[0].Significant, "impressions taken as independent: %+v", r.Comparisons[0])
		r, err = Build(evs, Options{Bootstrap: 2000, Seed: 1})
		require.NoError(t, err)
		c := r.Comparisons[0]
		assert.False(t, c.Significant, "%+v", c)
		assert.Greater(t, c.BootHigh-c.BootLow, 2*(c.High-c.Low))
		assert.Contains(t, c.Verdict, "no difference detectable yet")
	})
	_, err := Build(nil, Options{Bootstrap: -1})
	assert.Error(t, err)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestPercentile(t *testing.T) {
	s := []float64{1, 2, 3, 4, 5}
	assert.Equal(t, 1.0, percentile(s, 0))
	assert.Equal(t, 5.0, percentile(s, 1))
	assert.Equal(t, 3.0, percentile(s, 0.5))
	assert.InDelta(t, 1.1, percentile(s, 0.025), 1e-12) // h = 0.1
}
