package events

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestJoin: takes join the list they came from by request id and item,
// whether they come before or after it, each once; a repeated impression
// is counted and left out; takes without a list are unattributed.
func TestJoin(t *testing.T) {
	shown := func(items ...string) []Shown {
		var s []Shown
		for i, it := range items {
			s = append(s, Shown{Item: it, Position: int32(i + 1)})
		}
		return s
	}
	evs := []Event{
		{Type: TypeTake, RequestID: "r1", Item: "b"}, // before its list
		{Type: TypeImpression, RequestID: "r1", Items: shown("a", "b", "c")},
		{Type: TypeImpression, RequestID: "r2", Items: shown("b", "d")},
		{Type: TypeTake, RequestID: "r2", Item: "d"},
		{Type: TypeTake, RequestID: "r2", Item: "d"},               // the same take twice: once
		{Type: TypeTake, RequestID: "r2", Item: "z"},               // not shown in r2
		{Type: TypeTake, Item: "a"},                                // no request id
		{Type: TypeImpression, RequestID: "r1", Items: shown("a")}, // again
		{Type: TypeSkip, RequestID: "r1", Item: "c"},
	}
	j := Join(evs)
	assert.Len(t, j.Lists, 2)
	assert.Equal(t, []bool{false, true, false}, j.Lists[0].Taken)
	assert.Equal(t, []bool{false, true}, j.Lists[1].Taken)
	assert.Same(t, &evs[1], j.Lists[0].Impression)
	assert.Equal(t, 1, j.Duplicates)
	assert.Equal(t, 2, j.Unattributed, "the take without a request id and the one of an item not shown")
}
