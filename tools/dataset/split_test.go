package dataset

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSplitAt checks the cut's rules on a log that exercises each: a pair
// repeated before and after T counts only in the history, a pair repeated
// after T only once, a user whose first event is after T comes last, and
// Before keeps the whole catalog and user table.
func TestSplitAt(t *testing.T) {
	ds := &Dataset{Name: "cut", Items: []Item{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d"}}, Users: []User{{ID: "u1"}, {ID: "u2"}, {ID: "u3"}}}
	ds.Interactions = []Interaction{
		{User: "u2", Item: "a", Time: 1},
		{User: "u1", Item: "b", Time: 2},
		{User: "u1", Item: "a", Time: 3},
		{User: "u1", Item: "b", Time: 4}, // repeat before T: dropped
		{User: "u1", Item: "b", Time: 5}, // repeat after T of a history pair: dropped
		{User: "u1", Item: "c", Time: 5},
		{User: "u3", Item: "d", Time: 6}, // newcomer after T
		{User: "u1", Item: "c", Time: 7}, // repeat after T: dropped
		{User: "u2", Item: "d", Time: 8},
	}
	ds.Normalize()
	c := SplitAt(ds, 5)
	assert.Equal(t, int64(5), c.T)
	assert.Equal(t, []string{"u2", "u1", "u3"}, c.Users)
	assert.Equal(t, map[string][]string{"u1": {"b", "a"}, "u2": {"a"}}, c.History)
	assert.Equal(t, map[string][]Interaction{
		"u1": {{User: "u1", Item: "c", Time: 5}},
		"u2": {{User: "u2", Item: "d", Time: 8}},
		"u3": {{User: "u3", Item: "d", Time: 6}},
	}, c.Later)
	assert.Equal(t, ds.Items, c.Before.Items)
	assert.Equal(t, ds.Users, c.Before.Users)
	assert.Equal(t, []Interaction{
		{User: "u2", Item: "a", Time: 1}, {User: "u1", Item: "b", Time: 2}, {User: "u1", Item: "a", Time: 3},
	}, c.Before.Interactions)

	// A cut before every event leaves no history.
	c = SplitAt(ds, 0)
	assert.Empty(t, c.History)
	assert.Empty(t, c.Before.Interactions)
	assert.Len(t, c.Later["u1"], 3)
}

func TestTimeQuantile(t *testing.T) {
	ds := &Dataset{Name: "q"}
	for _, ts := range []int64{40, 10, 30, 20, 30} {
		ds.Interactions = append(ds.Interactions, Interaction{User: "u", Item: "i", Time: ts})
	}
	for q, want := range map[float64]int64{0: 10, 0.2: 20, 0.5: 30, 0.6: 30, 0.99: 40} {
		got, err := TimeQuantile(ds, q)
		require.NoError(t, err)
		assert.Equal(t, want, got, "q = %v", q)
	}
	for _, q := range []float64{-0.1, 1, 1.5} {
		_, err := TimeQuantile(ds, q)
		assert.Error(t, err, "q = %v", q)
	}
	_, err := TimeQuantile(&Dataset{Name: "empty"}, 0.5)
	assert.ErrorContains(t, err, "no interactions")
}
