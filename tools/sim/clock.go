package sim

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/edgerec/edgerec/host/events"
	"github.com/edgerec/edgerec/tools/dataset"
)

// The simulated clock. The users are goroutines that ask for lists as
// fast as the node answers, so wall-clock times would say nothing of the
// users and would change from run to run: a take and the next list in
// the same millisecond, one user's lists before or after another's. The
// model trained with the events (round 2) reads those times (the history
// at each list, the order of the lists), so each run would train a
// different one. Instead each user's session is laid out in simulated
// time: user k of a round asks for list j at start + k ms + j·listGapMs,
// takes from it takeDelayMs later, and when the round ends its event
// files are rewritten with each impression at its request's time (the
// node stamped them with the wall clock).
const (
	// listGapMs separates a user's lists. It exceeds MaxUsers ms, so
	// every user's list j comes before anyone's list j+1 and no two lists
	// share a time.
	listGapMs = 120_000
	// takeDelayMs is when a list's takes happen after it is asked for.
	takeDelayMs = 1_000
	// round2Ms separates the rounds: round 2 starts after every list of
	// round 1 (MaxLists·listGapMs + MaxUsers ms is under 3.5 hours), the
	// same day, so that its events stay within what the node accepts
	// (events.MaxSkew after its clock).
	round2Ms = 4 * 3_600_000
)

// The clock's limits, checked when the package compiles (a negative
// constant cannot convert to uint): users' lists never share a time, a
// take comes before the user's next list, and round 2 after round 1.
const (
	_ = uint(listGapMs - MaxUsers - 1)
	_ = uint(listGapMs - takeDelayMs - 1)
	_ = uint(round2Ms - (MaxLists-1)*listGapMs - MaxUsers - takeDelayMs - 1)
)

// roundStart is when round 1 starts: the second after the data set's last
// interaction, so that the events follow the data as a node's follow its
// bundle's training data.
func roundStart(ds *dataset.Dataset) int64 {
	var last int64
	for _, in := range ds.Interactions {
		last = max(last, in.Time)
	}
	return (last + 1) * 1000
}

// sessionStart is when the k-th user (in pickUsers order) of a round
// starting at start asks for its first list.
func sessionStart(start int64, k int) int64 { return start + int64(k) }

// listTime is when a user whose session starts at start asks for list j.
func listTime(start int64, j int) int64 { return start + int64(j)*listGapMs }

// servedList is a list a user was served: its request id and time.
type servedList struct {
	requestID string
	at        int64
}

// requestID is the id a user's client gives its list asked for at ms on
// the simulated clock in the round tagged round: unique in a run, the same
// in every run.
func requestID(round, user string, ms int64) string {
	return fmt.Sprintf("sim-%s-%s-%d", round, user, ms)
}

// retimeDir rewrites the round's events in dir on the simulated clock
// (retime), so that the files agree with themselves: the node stamped its
// impressions with the wall clock, the users their takes with the
// simulated one. It returns the events as it wrote them.
func (rr *roundResult) retimeDir(dir string) ([]events.Event, error) {
	evs, err := events.ReadDir(dir, time.Time{})
	if err != nil {
		return nil, err
	}
	rr.retime(evs)
	tmp := dir + ".retimed"
	if err := os.RemoveAll(tmp); err != nil {
		return nil, err
	}
	out, err := events.OpenDir(tmp, events.DirOptions{Format: events.FormatParquet})
	if err != nil {
		return nil, err
	}
	if err := errors.Join(out.Write(evs), out.Close()); err != nil {
		return nil, err
	}
	// Swapped by renames, so that one of the two copies is always whole
	// under a name a reader looks at.
	old := dir + ".wallclock"
	if err := os.RemoveAll(old); err != nil {
		return nil, err
	}
	if err := os.Rename(dir, old); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return nil, err
	}
	return evs, os.RemoveAll(old)
}

// retime stamps each impression in evs with its request's time on the
// simulated clock; the node stamped it with the wall clock. Impressions of
// requests the round did not send keep their time.
func (rr *roundResult) retime(evs []events.Event) {
	at := map[string]int64{}
	for _, s := range rr.sessions {
		if s == nil {
			continue
		}
		for _, l := range s.served {
			at[l.requestID] = l.at
		}
	}
	for i := range evs {
		if e := &evs[i]; e.Type == events.TypeImpression {
			if t, ok := at[e.RequestID]; ok {
				e.TimeMs = t
			}
		}
	}
}
