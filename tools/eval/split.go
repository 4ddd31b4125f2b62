// Package eval measures recommendation quality offline on a temporal split,
// so that every model and baseline is scored on the same users, the same
// inputs and the same targets.
//
// A [Split] cuts the log at a time T ([TemporalSplit]; [WindowSplit] also
// bounds the test window, for the rolling evaluation of [RollingSplits]).
// A [Model] fits on the training part and yields a [Ranker]; [Evaluate]
// scores the ranker on the split's test users with the metrics of
// metrics.go (Recall, NDCG and HR at [Ks], next-item HR, catalog coverage)
// and a 95% bootstrap interval for the headline metrics. The baselines are
// popularity ([Pop]), item-based kNN ([ItemKNN]) and EASE ([EASE]); the
// two-tower model is [TwoTower]. [NewModel] builds any of them by name.
package eval

import (
	"fmt"
	"time"

	"github.com/edgerec/edgerec/tools/dataset"
)

// Split is a global temporal split of a data set at time T.
type Split struct {
	T int64 // first test timestamp: train is every interaction with Time < T
	// End bounds the test window: targets have T ≤ Time < End. 0 means no
	// bound (every interaction from T on).
	End int64
	// Quantile and EndQuantile are the quantiles of the interaction
	// timestamps that gave T and End (EndQuantile 1 when End is 0).
	Quantile, EndQuantile float64
	// Train holds the training part: the catalog restricted to items with a
	// training interaction, the users, and the interactions before T (a
	// repeated (user, item) pair only at its first interaction).
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
	// Targets are the user's distinct items in the test window that appear
	// in training and not in History, in time order.
	Targets []string
}

// TemporalSplit splits ds at the q-quantile T of all interaction timestamps
// (0 < q < 1), as the evaluation section of issue 3 specifies:
//
//   - implicit feedback: every interaction counts, whatever its value; a
//     repeated (user, item) pair keeps only its first interaction;
//   - T is the timestamp at index ⌊q·n⌋ of the n sorted timestamps, and
//     training is every interaction with Time < T;
//   - test users have at least one training interaction and at least one
//     interaction at Time ≥ T on an item that appears in training;
//   - their input is their training history, their targets their items at
//     Time ≥ T that appear in training and not in their history.
//
// Models rank every training item, leaving out the user's history.
func TemporalSplit(ds *dataset.Dataset, q float64) (*Split, error) {
	return WindowSplit(ds, q, 1)
}

// WindowSplit is [TemporalSplit] with a test window bounded above: targets
// are only interactions with T ≤ Time < End, End the timestamp at index
// ⌊qEnd·n⌋ of the sorted timestamps (q < qEnd ≤ 1; qEnd = 1 means no
// bound). Training is the same as TemporalSplit's at q.
func WindowSplit(ds *dataset.Dataset, q, qEnd float64) (*Split, error) {
	if !(q > 0 && q < 1) {
		return nil, fmt.Errorf("split quantile %v out of (0, 1)", q)
	}
	if !(qEnd > q && qEnd <= 1) {
		return nil, fmt.Errorf("split end quantile %v out of (%v, 1]", qEnd, q)
	}
	T, err := dataset.TimeQuantile(ds, q)
	if err != nil {
		return nil, err
	}
	var end int64
	if qEnd < 1 {
		if end, err = dataset.TimeQuantile(ds, qEnd); err != nil {
			return nil, err
		}
	}
	cut := dataset.SplitAt(ds, T)
	train := &dataset.Dataset{Name: ds.Name, Users: ds.Users, Interactions: cut.Before.Interactions}
	trainItems := map[string]bool{}
	for _, in := range train.Interactions {
		trainItems[in.Item] = true
	}
	for _, it := range ds.Items {
		if trainItems[it.ID] {
			train.Items = append(train.Items, it)
		}
	}
	targets := map[string][]string{}
	for id, later := range cut.Later {
		for _, in := range later {
			if (end == 0 || in.Time < end) && trainItems[in.Item] {
				targets[id] = append(targets[id], in.Item)
			}
		}
	}
	s := &Split{T: T, End: end, Quantile: q, EndQuantile: qEnd, Train: train}
	for _, id := range cut.Users {
		if h, tg := cut.History[id], targets[id]; len(h) > 0 && len(tg) > 0 {
			s.Users = append(s.Users, TestUser{ID: id, History: h, Targets: tg})
		}
	}
	if len(s.Users) == 0 {
		return nil, fmt.Errorf("split of %q at %d (quantile %v) leaves no test user", ds.Name, T, q)
	}
	return s, nil
}

// RollingCuts are the cut quantiles of the rolling evaluation: cut i is
// tested on the window up to cut i+1, the last up to RollingEnd.
var RollingCuts = []float64{0.80, 0.825, 0.85, 0.875, 0.90}

// RollingEnd bounds the test window of the last rolling cut.
const RollingEnd = 0.925

// RollingSplits returns the splits of the rolling evaluation: one
// [WindowSplit] per quantile in [RollingCuts], each tested up to the next
// cut (the last up to [RollingEnd]). Each model is fitted on each split's
// training part, and the reported figure is the mean over the cuts.
func RollingSplits(ds *dataset.Dataset) ([]*Split, error) {
	out := make([]*Split, len(RollingCuts))
	for i, q := range RollingCuts {
		qEnd := RollingEnd
		if i+1 < len(RollingCuts) {
			qEnd = RollingCuts[i+1]
		}
		s, err := WindowSplit(ds, q, qEnd)
		if err != nil {
			return nil, fmt.Errorf("rolling cut %d: %w", i+1, err)
		}
		out[i] = s
	}
	return out, nil
}

// SplitStats are the counts a split report gives.
type SplitStats struct {
	Quantile    float64 `json:"quantile"`
	EndQuantile float64 `json:"end_quantile"`
	T           int64   `json:"t"`             // Unix seconds
	TDate       string  `json:"t_date"`        // T in RFC 3339, UTC
	End         int64   `json:"end,omitempty"` // Unix seconds; 0 = unbounded
	EndDate     string  `json:"end_date,omitempty"`
	TrainUsers  int     `json:"train_users"`  // users with a training interaction
	TrainItems  int     `json:"train_items"`  // items with a training interaction
	TrainEvents int     `json:"train_events"` // training interactions (first of each pair)
	TestUsers   int     `json:"test_users"`
	Targets     int     `json:"targets"`      // over all test users
	MeanTargets float64 `json:"mean_targets"` // per test user
	MeanHistory float64 `json:"mean_history"` // training items per test user
}

// Stats counts s for its report.
func (s *Split) Stats() SplitStats {
	st := SplitStats{
		Quantile: s.Quantile, EndQuantile: s.EndQuantile,
		T: s.T, TDate: time.Unix(s.T, 0).UTC().Format(time.RFC3339),
		End:         s.End,
		TrainItems:  len(s.Train.Items),
		TrainEvents: len(s.Train.Interactions),
		TestUsers:   len(s.Users),
	}
	if s.End != 0 {
		st.EndDate = time.Unix(s.End, 0).UTC().Format(time.RFC3339)
	}
	users := map[string]bool{}
	for _, in := range s.Train.Interactions {
		users[in.User] = true
	}
	st.TrainUsers = len(users)
	var hist int
	for _, u := range s.Users {
		st.Targets += len(u.Targets)
		hist += len(u.History)
	}
	if len(s.Users) > 0 {
		st.MeanTargets = float64(st.Targets) / float64(len(s.Users))
		st.MeanHistory = float64(hist) / float64(len(s.Users))
	}
	return st
}
