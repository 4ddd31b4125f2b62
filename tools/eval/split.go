// Package eval measures recommendation quality offline on a temporal split,
// so that every model and baseline is scored on the same users, the same
// inputs and the same targets.
package eval

import (
	"fmt"
	"math"
	"sort"

	"github.com/edgerec/edgerec/tools/dataset"
)

// Split is a global temporal split of a data set at time T.
type Split struct {
	T int64 // first test timestamp: train is every interaction with Time < T
	// Train holds the training part: the catalog restricted to items with a
	// training interaction, the users, and the interactions before T.
	Train *dataset.Dataset
	// Users holds the test users, in order of first appearance in the log.
	Users []TestUser
}

// TestUser is one user's evaluation case.
type TestUser struct {
	ID string
	// History is the user's distinct training items, oldest first: the
	// model's input.
	History []string
	// Targets are the user's distinct items at or after T that appear in
	// training and not in History, in time order.
	Targets []string
}

// TemporalSplit splits ds at the q-quantile T of all interaction timestamps
// (0 < q < 1). A repeated (user, item) pair keeps its first interaction.
// Test users are those with a training interaction and at least one target.
func TemporalSplit(ds *dataset.Dataset, q float64) (*Split, error) {
	if !(q > 0 && q < 1) {
		return nil, fmt.Errorf("split quantile %v out of (0, 1)", q)
	}
	if len(ds.Interactions) == 0 {
		return nil, fmt.Errorf("dataset %q has no interactions", ds.Name)
	}
	times := make([]int64, len(ds.Interactions))
	for i, in := range ds.Interactions {
		times[i] = in.Time
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	T := times[min(len(times)-1, int(math.Floor(q*float64(len(times)))))]

	seen := map[[2]string]bool{}
	train := &dataset.Dataset{Name: ds.Name, Users: ds.Users}
	trainItems := map[string]bool{}
	type user struct {
		hist    []string
		inHist  map[string]bool
		targets []string
		inTgt   map[string]bool
	}
	users := map[string]*user{}
	var order []string
	for _, in := range ds.Interactions {
		k := [2]string{in.User, in.Item}
		if seen[k] {
			continue
		}
		seen[k] = true
		u := users[in.User]
		if u == nil {
			u = &user{inHist: map[string]bool{}, inTgt: map[string]bool{}}
			users[in.User] = u
			order = append(order, in.User)
		}
		if in.Time < T {
			train.Interactions = append(train.Interactions, in)
			trainItems[in.Item] = true
			u.hist = append(u.hist, in.Item)
			u.inHist[in.Item] = true
		}
	}
	for _, in := range ds.Interactions {
		if in.Time < T {
			continue
		}
		u := users[in.User]
		if len(u.hist) == 0 || !trainItems[in.Item] || u.inHist[in.Item] || u.inTgt[in.Item] {
			continue
		}
		u.inTgt[in.Item] = true
		u.targets = append(u.targets, in.Item)
	}
	for _, it := range ds.Items {
		if trainItems[it.ID] {
			train.Items = append(train.Items, it)
		}
	}
	s := &Split{T: T, Train: train}
	for _, id := range order {
		if u := users[id]; len(u.hist) > 0 && len(u.targets) > 0 {
			s.Users = append(s.Users, TestUser{ID: id, History: u.hist, Targets: u.targets})
		}
	}
	if len(s.Users) == 0 {
		return nil, fmt.Errorf("split of %q at %d leaves no test user", ds.Name, T)
	}
	return s, nil
}
