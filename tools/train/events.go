package train

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/pipeline"
	"github.com/edgerec/edgerec/host/events"
	"github.com/edgerec/edgerec/tools/dataset"
)

// Logged events in training (train --events, host/events/EVENTS.md):
//
//   - every take of an item the catalog holds, by a user of the data set,
//     becomes an interaction at its time (AddTakes), so that the towers,
//     the item-to-item sources and popularity learn from it;
//   - every list shown to such a user (an impression joined with its
//     takes, events.Join) becomes a ranker training list when the events
//     hold at least EventConfig.MinImpressions items shown: the user's
//     request is rebuilt as it stood when the list was served (history
//     from the data and the takes before it, the impressions of the
//     user's earlier lists not taken from them, the impression's region
//     and device, its time), stages 1 and 2 of the pipeline give every
//     shown item its features as serving computes them (core/pipeline
//     Features, shown_log included), the items taken are positives and
//     those shown and not taken negatives, and each positive weighs the
//     inverse of its position's propensity (Joachims, Swaminathan and
//     Schnabel, "Unbiased Learning-to-Rank with Biased Feedback", WSDM
//     2017), so that a take low in the list, where few look, counts for
//     the many who did not look. The ranker then carries shown_log
//     (rank.ShownFeature): it has learned the demotion.

// Propensity estimates (EventConfig.Propensity).
const (
	// PropensityRatio: θ_k = (take rate at position k)/(take rate at
	// position 1) over the logged lists. It confounds position with
	// relevance (the lists put what they rank best first), so it
	// overstates the propensity of lower positions; RATIONALE says how
	// far, measured where the truth is known.
	PropensityRatio = "ratio"
	// PropensityNone: every position 1, no correction.
	PropensityNone = "none"
)

// EventConfig sets what training takes from logged events.
type EventConfig struct {
	// MinImpressions is the fewest items shown (over every list of a known
	// user) for the ranker to learn from the lists, and with them the
	// demotion; with fewer only the takes are used.
	MinImpressions int `json:"min_impressions"`
	// Propensity is PropensityRatio, PropensityNone, or a comma-separated
	// list of propensities for positions 1, 2, … (from a randomised
	// experiment; the last one holds for every position after it).
	Propensity string `json:"propensity"`
	// MinPropensity bounds every propensity from below, so that no take
	// weighs more than 1/MinPropensity (clipped inverse propensity,
	// Strehl et al., NeurIPS 2010): the price of a little bias for
	// bounded variance.
	MinPropensity float64 `json:"min_propensity"`
}

// DefaultEventConfig returns the event defaults. No position-bias
// correction by default: the logs alone give only the ratio estimate, and
// in the simulation (tools/sim, where the truth is known) the ranker it
// corrected served a lower take rate than the uncorrected one, while the
// true propensities did not do measurably better than none (RATIONALE,
// "Training from events"). Propensities from a randomised experiment are
// given as a list. MinImpressions is the smallest log measured there (25
// users' 4 lists of 10), at which the lists already raised the take rate
// over the takes alone.
func DefaultEventConfig() EventConfig {
	return EventConfig{MinImpressions: 1000, Propensity: PropensityNone, MinPropensity: 0.05}
}

// Validate reports a setting out of range.
func (c *EventConfig) Validate() error {
	if c.MinImpressions < 0 {
		return fmt.Errorf("events: min impressions %d < 0", c.MinImpressions)
	}
	if !(c.MinPropensity > 0 && c.MinPropensity <= 1) {
		return fmt.Errorf("events: min propensity %v out of (0, 1]", c.MinPropensity)
	}
	_, err := c.given()
	return err
}

// given returns the propensities Propensity lists, or nil for an
// estimate.
func (c *EventConfig) given() ([]float64, error) {
	switch c.Propensity {
	case PropensityRatio, PropensityNone:
		return nil, nil
	}
	var out []float64
	for _, f := range strings.Split(c.Propensity, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || !(v > 0 && v <= 1) {
			return nil, fmt.Errorf("events: propensity %q: want %q, %q or a list of numbers in (0, 1]", f, PropensityRatio, PropensityNone)
		}
		out = append(out, v)
	}
	return out, nil
}

// Events is a log of events prepared for training: the lists shown to
// users of the data set, joined with their takes.
type Events struct {
	// Lists are the impressions of known users with the takes from them.
	Lists []events.List
	// Takes are the takes of known items by known users, in time order.
	Takes []events.Event
	// Shown counts the items Lists showed; Taken those taken from them.
	Shown, Taken int
	// Skipped counts the events of users or items the data set does not
	// hold (anonymous sessions, items since removed), left out.
	Skipped int
}

// PrepareEvents keeps the events of ds's users and items: their takes,
// and their impressions joined with the takes from them (events.Join),
// each in time order, ties broken by user and request, so that the same
// events give the same training in whatever order the log holds them
// (nodes and clients write concurrently) — with one impression a request
// id: of duplicates, events.Join keeps the first in the log.
func PrepareEvents(ds *dataset.Dataset, evs []events.Event) *Events {
	users := make(map[string]bool, len(ds.Users))
	for _, u := range ds.Users {
		users[u.ID] = true
	}
	items := ds.ItemIndex()
	out := &Events{}
	for _, e := range evs {
		if e.Type != events.TypeTake {
			continue
		}
		if _, ok := items[e.Item]; !ok || !users[e.User] {
			out.Skipped++
			continue
		}
		out.Takes = append(out.Takes, e)
	}
	slices.SortFunc(out.Takes, func(a, b events.Event) int {
		return cmp.Or(cmp.Compare(a.TimeMs, b.TimeMs), cmp.Compare(a.User, b.User), cmp.Compare(a.Item, b.Item),
			cmp.Compare(a.RequestID, b.RequestID), cmp.Compare(a.Position, b.Position), cmp.Compare(a.Kind, b.Kind))
	})
	for _, l := range events.Join(evs).Lists {
		// Files are read as they are, not validated again: a list with a
		// position out of the schema's range is left out.
		if !users[l.Impression.User] || slices.ContainsFunc(l.Impression.Items, func(s events.Shown) bool {
			return s.Position < 1 || s.Position > events.MaxItems
		}) {
			out.Skipped++
			continue
		}
		out.Lists = append(out.Lists, l)
		out.Shown += len(l.Taken)
		for _, t := range l.Taken {
			if t {
				out.Taken++
			}
		}
	}
	slices.SortFunc(out.Lists, func(a, b events.List) int {
		return cmp.Or(cmp.Compare(a.Impression.TimeMs, b.Impression.TimeMs), cmp.Compare(a.Impression.User, b.Impression.User),
			cmp.Compare(a.Impression.RequestID, b.Impression.RequestID))
	})
	return out
}

// AddTakes returns ds with ev's takes added as interactions (value 1, at
// their time, in seconds), normalized; ds itself is not changed.
func AddTakes(ds *dataset.Dataset, ev *Events) *dataset.Dataset {
	out := *ds
	out.Interactions = slices.Clone(ds.Interactions)
	for _, e := range ev.Takes {
		out.Interactions = append(out.Interactions, dataset.Interaction{User: e.User, Item: e.Item, Time: e.TimeMs / 1000, Value: 1})
	}
	out.Normalize()
	return &out
}

// Propensities returns the examination propensity θ_k of positions 1…n
// (θ_1 = 1) by cfg.Propensity, each at least cfg.MinPropensity. The
// ratio estimate pools the positions after the last with at least 100
// items shown into it.
func (ev *Events) Propensities(cfg EventConfig) ([]float64, error) {
	n := 0
	for _, l := range ev.Lists {
		for _, s := range l.Impression.Items {
			n = max(n, int(s.Position))
		}
	}
	theta := make([]float64, n)
	for i := range theta {
		theta[i] = 1
	}
	given, err := cfg.given()
	switch {
	case err != nil:
		return nil, err
	case given != nil:
		for i := range theta {
			theta[i] = given[min(i, len(given)-1)]
		}
	case cfg.Propensity == PropensityRatio && n > 0:
		shown, taken := make([]float64, n), make([]float64, n)
		for _, l := range ev.Lists {
			for j, s := range l.Impression.Items {
				shown[s.Position-1]++
				if l.Taken[j] {
					taken[s.Position-1]++
				}
			}
		}
		last := 0
		for k := range shown {
			if shown[k] >= 100 {
				last = k
			}
		}
		for k := last + 1; k < n; k++ {
			shown[last] += shown[k]
			taken[last] += taken[k]
		}
		if shown[0] == 0 || taken[0] == 0 {
			return nil, fmt.Errorf("events: no take at position 1 in %v lists: cannot estimate propensities by ratio", len(ev.Lists))
		}
		top := taken[0] / shown[0]
		for k := range theta {
			j := min(k, last)
			theta[k] = min(1, taken[j]/shown[j]/top)
		}
	}
	for i := range theta {
		theta[i] = max(theta[i], cfg.MinPropensity)
	}
	return theta, nil
}

// EventReport tells what training took from the events.
type EventReport struct {
	Lists, Shown, Taken, Skipped int
	// Propensities are θ_1…θ_n, the correction applied.
	Propensities []float64
	// RankerLists are the lists the ranker learned from (a take among the
	// items it found again, and an item not taken); Found the share of
	// shown items that stages 1 and 2 found again when the request was
	// rebuilt, the ones that have features.
	RankerLists int
	Found       float64
	// Learned reports whether the events were enough (MinImpressions) for
	// the ranker to learn from them, and the demotion with them.
	Learned bool
}

// eventLists rebuilds the request of every list in ev as it stood when the
// list was served, computes the shown items' features with rec's stages 1
// and 2, and returns one ranker list per list with a take and an item not
// taken: positives weighted 1/θ_position, normalized to a mean of 1 over
// the takes. ds holds the takes (AddTakes).
func eventLists(rec *pipeline.Recommender, ds *dataset.Dataset, ev *Events, theta []float64, depth int, rep *EventReport) ([]list, error) {
	users := make(map[string]*dataset.User, len(ds.Users))
	for i := range ds.Users {
		users[ds.Users[i].ID] = &ds.Users[i]
	}
	// The takes join the history at their time in milliseconds, which
	// tells a take from the list before it within one second; ds holds
	// them too (AddTakes), in seconds, and they are left out of past.
	type userItem struct {
		user, item string
		time       int64
	}
	takes := map[string][]events.Event{}
	isTake := map[userItem]bool{}
	for _, e := range ev.Takes {
		takes[e.User] = append(takes[e.User], e)
		isTake[userItem{e.User, e.Item, e.TimeMs / 1000}] = true
	}
	past := map[string][]dataset.Interaction{}
	for _, in := range ds.Interactions {
		if !isTake[userItem{in.User, in.Item, in.Time}] {
			past[in.User] = append(past[in.User], in)
		}
	}
	// shown[user][item] is what the user's client would send as
	// impressions: the items of its earlier lists not taken since.
	type seen struct {
		count int
		last  int64
	}
	shown := map[string]map[string]*seen{}
	var out []list
	var found, all int
	var wsum float64
	var wn int
	for _, l := range ev.Lists {
		im := l.Impression
		u := users[im.User]
		req := &api.Request{K: min(depth, api.MaxK), UserID: u.ID, Context: u.Context}
		req.Context.Time = im.TimeMs / 1000
		if im.Region != "" {
			req.Context.Region = im.Region
		}
		if im.Device != "" {
			req.Context.Device = im.Device
		}
		var hist []api.Event
		for _, in := range past[u.ID] {
			if in.Time < req.Context.Time {
				hist = append(hist, api.Event{Item: in.Item, Time: in.Time})
			}
		}
		for _, t := range takes[u.ID] {
			if t.TimeMs < im.TimeMs {
				hist = append(hist, api.Event{Item: t.Item, Time: t.TimeMs / 1000})
			}
		}
		slices.SortStableFunc(hist, func(a, b api.Event) int { return cmp.Compare(a.Time, b.Time) })
		req.History = hist
		prev := shown[u.ID]
		if prev == nil {
			prev = map[string]*seen{}
			shown[u.ID] = prev
		}
		taken := make(map[string]bool, len(hist))
		for _, h := range hist {
			taken[h.Item] = true
		}
		for it, s := range prev {
			if taken[it] {
				continue // taken since it was shown
			}
			req.Impressions = append(req.Impressions, api.Impression{Item: it, Count: s.count, Last: s.last})
		}
		slices.SortFunc(req.Impressions, func(a, b api.Impression) int { return strings.Compare(a.Item, b.Item) })
		cands, err := rec.Candidates(req)
		if err != nil {
			return nil, fmt.Errorf("events: list %s: %w", im.RequestID, err)
		}
		at := make(map[int32]int, len(cands))
		for i, c := range cands {
			at[c.Row] = i
		}
		var x [][]float32
		var y []bool
		var w []float32
		pos := 0
		for j, s := range im.Items {
			all++
			row, ok := rec.Lookup(s.Item)
			if !ok {
				continue
			}
			i, ok := at[row]
			if !ok {
				continue
			}
			found++
			x = append(x, cands[i].Features)
			y = append(y, l.Taken[j])
			var wt float32
			if l.Taken[j] {
				pos++
				wt = float32(1 / theta[min(int(s.Position), len(theta))-1])
				wsum += float64(wt)
				wn++
			}
			w = append(w, wt)
		}
		if pos > 0 && pos < len(y) {
			out = append(out, list{x: x, y: y, w: w, targets: pos})
		}
		// What the user's client sends with its next request.
		for j, s := range im.Items {
			if l.Taken[j] {
				delete(prev, s.Item)
				continue
			}
			p := prev[s.Item]
			if p == nil {
				p = &seen{}
				prev[s.Item] = p
			}
			p.count++
			p.last = im.TimeMs / 1000
		}
	}
	if wn > 0 {
		mean := float32(wsum / float64(wn))
		for _, l := range out {
			for i := range l.w {
				l.w[i] /= mean
			}
		}
	}
	rep.RankerLists = len(out)
	if all > 0 {
		rep.Found = float64(found) / float64(all)
	}
	return out, nil
}
