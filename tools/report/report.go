// Package report turns stored events (host/events) into a per-arm report of
// an experiment: each arm's impressions, takes and take rate with a 95 %
// interval, the difference of each arm from the baseline with its interval
// and a verdict in plain words, take rates by position and by source,
// coverage and novelty; and an SVG plot of them. `edgerec report` prints
// it.
//
// An impression here is one item shown at one position of one served
// list; it is taken when a take event names the same request id and item.
// Take rates are proportions of impressions, so their intervals treat
// impressions as independent trials (Wilson; Newcombe's hybrid score for
// differences): impressions of one user are correlated, so the intervals
// are somewhat narrow when a few users see many lists.
package report

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/edgerec/edgerec/host/events"
)

// DefaultArm names the arm of impressions that carry none.
const DefaultArm = "(default)"

// Options configure Build.
type Options struct {
	// Baseline is the arm the others are compared with; "" means the
	// first arm by name.
	Baseline string
	// Effect is the smallest difference of take rates worth detecting,
	// as a proportion (0.01: one point); 0 means 0.01. The verdict says
	// how many more impressions it needs when no difference shows yet.
	Effect float64
	// Items is the catalog's size for coverage; 0 means the items seen in
	// any event.
	Items int
	// Bootstrap, when positive, is the number of resamples of users for a
	// cluster-bootstrap interval of each arm's rate and each difference
	// (bootstrapDiff); the verdicts then use it. 0: Wilson and Newcombe
	// only.
	Bootstrap int
	// Seed seeds the bootstrap.
	Seed uint64
}

// Report is the result of Build; its JSON form is `edgerec report --json`.
type Report struct {
	From  time.Time `json:"from"` // the first and last event's time
	To    time.Time `json:"to"`
	Lists int       `json:"lists"` // impression events
	// Duplicates counts impression events of a request id already seen
	// (the node and a client both logged it): the first is kept.
	Duplicates int `json:"duplicate_impressions"`
	// Unattributed counts takes that match no impression (no request id,
	// or an item the list did not show).
	Unattributed int    `json:"unattributed_takes"`
	Skips        int    `json:"skips"`
	Items        int    `json:"catalog_items"` // the coverage denominator
	Arms         []*Arm `json:"arms"`
	Baseline     string `json:"baseline"`
	// Bootstrap is the resamples of users behind the boot_* intervals (0:
	// none).
	Bootstrap   int          `json:"bootstrap"`
	Effect      float64      `json:"effect"`
	Comparisons []Comparison `json:"comparisons"`
}

// Arm is one experiment arm's figures.
type Arm struct {
	Name        string `json:"name"`
	Lists       int    `json:"lists"`
	Users       int    `json:"users"`
	Impressions int    `json:"impressions"`
	Takes       int    `json:"takes"`
	Rate
	// BootLow and BootHigh are the cluster-bootstrap interval of the take
	// rate (Options.Bootstrap).
	BootLow    float64 `json:"boot_low,omitempty"`
	BootHigh   float64 `json:"boot_high,omitempty"`
	ByPosition []Cell  `json:"by_position"`
	BySource   []Cell  `json:"by_source"`
	// Coverage is the share of the catalog the arm showed at least once.
	Coverage float64 `json:"coverage"`
	// Novelty is the mean self-information of the items shown, in bits:
	// mean over impressions of −log₂ p(i), p(i) = (users who took i + 1) /
	// (users + 1), popularity measured on the takes of every arm (T. Zhou
	// et al., "Solving the apparent diversity–accuracy dilemma of
	// recommender systems", PNAS 107, 2010). Higher: less popular items.
	Novelty float64 `json:"novelty_bits"`
}

// Rate is a take rate with its 95 % Wilson interval.
type Rate struct {
	Rate float64 `json:"take_rate"`
	Low  float64 `json:"low"`
	High float64 `json:"high"`
}

// Cell is the take rate of one position or one source.
type Cell struct {
	Key         string `json:"key"`
	Impressions int    `json:"impressions"`
	Takes       int    `json:"takes"`
	Rate
}

// Comparison is an arm against the baseline.
type Comparison struct {
	Arm      string `json:"arm"`
	Baseline string `json:"baseline"`
	// Diff is Arm's take rate minus the baseline's, with its 95 %
	// interval (Newcombe's hybrid score).
	Diff float64 `json:"diff"`
	Low  float64 `json:"low"`
	High float64 `json:"high"`
	// Significant: the interval excludes zero.
	Significant bool `json:"significant"`
	// BootLow and BootHigh are the cluster-bootstrap interval of Diff
	// (Options.Bootstrap), which Significant and the verdict then use.
	BootLow  float64 `json:"boot_low,omitempty"`
	BootHigh float64 `json:"boot_high,omitempty"`
	// Needed is the impressions each arm needs to detect Effect at 80 %
	// power; More how many more the smaller arm needs (0 once enough).
	// Both take impressions as independent: when users differ (a
	// bootstrap interval much wider than Newcombe's) they are lower
	// bounds.
	Needed  int    `json:"needed_per_arm"`
	More    int    `json:"more_per_arm"`
	Verdict string `json:"verdict"`
}

// Build computes the report of evs.
func Build(evs []events.Event, o Options) (*Report, error) {
	if o.Effect == 0 {
		o.Effect = 0.01
	}
	if o.Effect < 0 || o.Effect >= 1 {
		return nil, fmt.Errorf("effect %g: want a proportion in (0, 1)", o.Effect)
	}
	if o.Bootstrap < 0 {
		return nil, fmt.Errorf("bootstrap %d: want 0 (none) or more resamples", o.Bootstrap)
	}
	r := &Report{Effect: o.Effect, Bootstrap: o.Bootstrap}
	// Who took what, for novelty: takes first, since a take may be
	// written before the impression it joins.
	takers := map[string]map[string]bool{} // item → users
	users := map[string]bool{}
	seen := map[string]bool{} // every item in any event
	for i := range evs {
		e := &evs[i]
		r.span(e)
		switch e.Type {
		case events.TypeTake:
			u := userOf(e)
			if takers[e.Item] == nil {
				takers[e.Item] = map[string]bool{}
			}
			takers[e.Item][u] = true
			users[u] = true
			seen[e.Item] = true
		case events.TypeSkip:
			r.Skips++
			seen[e.Item] = true
		case events.TypeImpression:
			users[userOf(e)] = true
			for _, s := range e.Items {
				seen[s.Item] = true
			}
		}
	}
	r.Items = o.Items
	if r.Items == 0 {
		r.Items = len(seen)
	}

	type acc struct {
		arm      *Arm
		users    map[string]*cluster
		items    map[string]bool
		pos, src map[string]*Cell
		selfInfo float64
	}
	arms := map[string]*acc{}
	joined := events.Join(evs)
	r.Duplicates, r.Unattributed = joined.Duplicates, joined.Unattributed
	for _, l := range joined.Lists {
		e := l.Impression
		r.Lists++
		name := e.Arm
		if name == "" {
			name = DefaultArm
		}
		a := arms[name]
		if a == nil {
			a = &acc{arm: &Arm{Name: name}, users: map[string]*cluster{}, items: map[string]bool{}, pos: map[string]*Cell{}, src: map[string]*Cell{}}
			arms[name] = a
		}
		a.arm.Lists++
		u := a.users[userOf(e)]
		if u == nil {
			u = new(cluster)
			a.users[userOf(e)] = u
		}
		for j, s := range e.Items {
			took := l.Taken[j]
			a.arm.Impressions++
			a.items[s.Item] = true
			p := (float64(len(takers[s.Item])) + 1) / (float64(len(users)) + 1)
			a.selfInfo -= math.Log2(p)
			for _, c := range []*Cell{cell(a.pos, fmt.Sprint(s.Position)), cell(a.src, s.Source)} {
				c.Impressions++
				if took {
					c.Takes++
				}
			}
			u.impressions++
			if took {
				a.arm.Takes++
				u.takes++
			}
		}
	}
	clusters := map[string][]cluster{}
	for _, a := range arms {
		arm := a.arm
		for _, k := range slices.Sorted(maps.Keys(a.users)) {
			clusters[arm.Name] = append(clusters[arm.Name], *a.users[k])
		}
		if o.Bootstrap > 0 {
			arm.BootLow, arm.BootHigh = bootstrapRate(clusters[arm.Name], o.Bootstrap, o.Seed)
		}
		arm.Users = len(a.users)
		arm.Rate = rateOf(arm.Takes, arm.Impressions)
		if r.Items > 0 {
			arm.Coverage = float64(len(a.items)) / float64(r.Items)
		}
		if arm.Impressions > 0 {
			arm.Novelty = a.selfInfo / float64(arm.Impressions)
		}
		arm.ByPosition = cells(a.pos, func(a, b string) int {
			var x, y int
			fmt.Sscan(a, &x)
			fmt.Sscan(b, &y)
			return cmp.Compare(x, y)
		})
		arm.BySource = cells(a.src, cmp.Compare[string])
		r.Arms = append(r.Arms, arm)
	}
	slices.SortFunc(r.Arms, func(a, b *Arm) int { return cmp.Compare(a.Name, b.Name) })
	if len(r.Arms) == 0 {
		return r, nil
	}
	base := r.Arms[0]
	if o.Baseline != "" {
		i := slices.IndexFunc(r.Arms, func(a *Arm) bool { return a.Name == o.Baseline })
		if i < 0 {
			return nil, fmt.Errorf("baseline arm %q has no impressions", o.Baseline)
		}
		base = r.Arms[i]
	}
	r.Baseline = base.Name
	for _, a := range r.Arms {
		if a != base {
			c := compare(a, base, o.Effect, 0, 0)
			if o.Bootstrap > 0 && a.Impressions > 0 && base.Impressions > 0 {
				lo, hi := bootstrapDiff(clusters[a.Name], clusters[base.Name], o.Bootstrap, o.Seed)
				c = compare(a, base, o.Effect, lo, hi)
			}
			r.Comparisons = append(r.Comparisons, c)
		}
	}
	return r, nil
}

func (r *Report) span(e *events.Event) {
	t := e.Time()
	if r.From.IsZero() || t.Before(r.From) {
		r.From = t
	}
	if t.After(r.To) {
		r.To = t
	}
}

// userOf is the unit users are counted by: the user, else the list.
func userOf(e *events.Event) string {
	if e.User != "" {
		return "u:" + e.User
	}
	return "r:" + e.RequestID
}

func cell(m map[string]*Cell, k string) *Cell {
	c := m[k]
	if c == nil {
		c = &Cell{Key: k}
		m[k] = c
	}
	return c
}

func cells(m map[string]*Cell, by func(a, b string) int) []Cell {
	out := make([]Cell, 0, len(m))
	for _, c := range m {
		c.Rate = rateOf(c.Takes, c.Impressions)
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b Cell) int { return by(a.Key, b.Key) })
	return out
}

func rateOf(x, n int) Rate {
	lo, hi := Wilson(x, n, z95)
	return Rate{Rate: rate(x, n), Low: lo, High: hi}
}

// compare is a's difference from base, and its verdict: on the
// bootstrap interval [bootLo, bootHi] when it is given (not both 0), else
// on Newcombe's.
func compare(a, base *Arm, effect, bootLo, bootHi float64) Comparison {
	d, lo, hi := NewcombeDiff(base.Takes, base.Impressions, a.Takes, a.Impressions, z95)
	c := Comparison{Arm: a.Name, Baseline: base.Name, Diff: d, Low: lo, High: hi, BootLow: bootLo, BootHigh: bootHi}
	if bootLo != 0 || bootHi != 0 {
		lo, hi = bootLo, bootHi
	}
	c.Significant = lo > 0 || hi < 0
	pooled := rate(a.Takes+base.Takes, a.Impressions+base.Impressions)
	c.Needed = SampleSize(pooled, effect)
	c.More = max(0, c.Needed-min(a.Impressions, base.Impressions))
	ci := fmt.Sprintf("95%% CI [%s, %s]", points(lo), points(hi))
	if bootLo != 0 || bootHi != 0 {
		ci += ", bootstrap over users"
	}
	switch {
	case a.Impressions == 0 || base.Impressions == 0:
		c.Verdict = fmt.Sprintf("%s or %s has no impressions yet", a.Name, base.Name)
	case lo > 0:
		c.Verdict = fmt.Sprintf("%s beats %s by %s points, %s", a.Name, base.Name, points(d), ci)
	case hi < 0:
		c.Verdict = fmt.Sprintf("%s trails %s by %s points, %s", a.Name, base.Name, points(-d), ci)
	case lo > -effect && hi < effect:
		c.Verdict = fmt.Sprintf("no difference of %s points or more between %s and %s (%s points, %s)",
			points(effect), a.Name, base.Name, signedPoints(d), ci)
	case c.More == 0:
		c.Verdict = fmt.Sprintf("no difference detectable between %s and %s (%s points, %s), with the impressions to find a %s-point effect 8 times in 10: any difference is probably smaller",
			a.Name, base.Name, signedPoints(d), ci, points(effect))
	default:
		c.Verdict = fmt.Sprintf("no difference detectable yet between %s and %s (%s points, %s); about %d more impressions per arm needed for a %s-point effect",
			a.Name, base.Name, signedPoints(d), ci, c.More, points(effect))
	}
	return c
}

// points writes a proportion as percentage points with one decimal.
func points(p float64) string { return fmt.Sprintf("%.1f", 100*p) }

func signedPoints(p float64) string { return fmt.Sprintf("%+.1f", 100*p) }
