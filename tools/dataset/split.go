package dataset

import (
	"fmt"
	"math"
	"slices"
)

// Cut is a data set cut at a time T, the one temporal split every
// evaluation and the ranker's training start from: what each user did
// before T is their history (the model's input), what they did from T on
// their later items (the targets). Implicit feedback: every interaction
// counts whatever its value, and a repeated (user, item) pair counts only
// at its first interaction, so an item in a user's history is never one of
// their later items.
type Cut struct {
	T int64
	// Before is the data set before T: ds's catalog and user table (all of
	// them), and the first interaction of each pair when it is before T.
	Before *Dataset
	// Users are the users with an interaction, in order of first
	// interaction (a user with history comes before T's newcomers).
	Users []string
	// History holds each user's distinct items before T, oldest first.
	History map[string][]string
	// Later holds each user's first interactions with items from T on
	// (none of them in History), in time order.
	Later map[string][]Interaction
}

// SplitAt cuts ds at time t. ds must be normalized (interactions in time
// order).
func SplitAt(ds *Dataset, t int64) *Cut {
	c := &Cut{T: t, Before: &Dataset{Name: ds.Name, Items: ds.Items, Users: ds.Users},
		History: map[string][]string{}, Later: map[string][]Interaction{}}
	seen := map[[2]string]bool{}
	users := map[string]bool{}
	for _, in := range ds.Interactions {
		k := [2]string{in.User, in.Item}
		if seen[k] {
			continue
		}
		seen[k] = true
		if !users[in.User] {
			users[in.User] = true
			c.Users = append(c.Users, in.User)
		}
		if in.Time < t {
			c.Before.Interactions = append(c.Before.Interactions, in)
			c.History[in.User] = append(c.History[in.User], in.Item)
		} else {
			c.Later[in.User] = append(c.Later[in.User], in)
		}
	}
	return c
}

// TimeQuantile returns the timestamp at index ⌊q·n⌋ of ds's n sorted
// interaction times (0 ≤ q < 1): the cut time that leaves a share q of the
// events before it (fewer when the times tie).
func TimeQuantile(ds *Dataset, q float64) (int64, error) {
	if !(q >= 0 && q < 1) {
		return 0, fmt.Errorf("time quantile %v out of [0, 1)", q)
	}
	if len(ds.Interactions) == 0 {
		return 0, fmt.Errorf("dataset %q has no interactions", ds.Name)
	}
	times := make([]int64, len(ds.Interactions))
	for i, in := range ds.Interactions {
		times[i] = in.Time
	}
	slices.Sort(times)
	return times[min(len(times)-1, int(math.Floor(q*float64(len(times)))))], nil
}
