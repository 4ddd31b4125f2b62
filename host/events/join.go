package events

// List is an impression joined with what was taken from it: the list a
// user was shown and, item by item, whether they took it. Reports count
// take rates from lists; training learns from them (shown and taken,
// shown and not taken, at which position).
type List struct {
	// Impression is the impression event: its request id, user, arm,
	// context and items.
	Impression *Event
	// Taken[i] reports whether Impression.Items[i] was taken from this
	// list: a take with the list's request id and the item, counted once.
	Taken []bool
}

// Joined is what Join makes of a log.
type Joined struct {
	// Lists are the impressions, each request id once, in log order.
	Lists []List
	// Duplicates counts impressions of a request id already seen (a
	// client that posts what the node logged too); they are left out.
	Duplicates int
	// Unattributed counts takes that join no list: without a request id
	// (an item found elsewhere), or for an item the list did not show.
	Unattributed int
}

// Join joins evs' takes to the impressions they came from, by request id
// and item. A take may come before its impression in the log (clients
// post later, files rotate); skips are ignored. evs must not change
// while the result is used: lists point into it.
func Join(evs []Event) Joined {
	type key struct{ req, item string }
	taken := map[key]bool{}
	var out Joined
	for i := range evs {
		if e := &evs[i]; e.Type == TypeTake {
			if e.RequestID == "" {
				out.Unattributed++
				continue
			}
			taken[key{e.RequestID, e.Item}] = true
		}
	}
	seen := map[string]bool{}
	matched := map[key]bool{}
	for i := range evs {
		e := &evs[i]
		if e.Type != TypeImpression {
			continue
		}
		if seen[e.RequestID] {
			out.Duplicates++
			continue
		}
		seen[e.RequestID] = true
		l := List{Impression: e, Taken: make([]bool, len(e.Items))}
		for j, s := range e.Items {
			k := key{e.RequestID, s.Item}
			if taken[k] && !matched[k] {
				l.Taken[j], matched[k] = true, true
			}
		}
		out.Lists = append(out.Lists, l)
	}
	for k := range taken {
		if !matched[k] {
			out.Unattributed++
		}
	}
	return out
}
