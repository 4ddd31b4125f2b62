package api

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTraceRoundTrip(t *testing.T) {
	stages := []Stage{{Name: "embed", In: 1, Out: 2, Micros: 3}, {Name: "sources+filter", In: 300, Out: 40, Micros: -1}}
	r := &Response{Items: make([]Item, 7), Debug: &Debug{Stages: stages, UnknownItems: 2, Truncated: 5, Examined: 1 << 20}}
	// Guard bytes after the record stay untouched.
	buf := make([]byte, TraceBytes+4)
	copy(buf[TraceBytes:], "ABCD")
	PutTrace(buf, r)
	assert.Equal(t, "ABCD", string(buf[TraceBytes:]))

	var got Trace
	require.True(t, ReadTrace(&got, buf, nil))
	assert.Equal(t, Trace{Items: 7, UnknownItems: 2, Truncated: 5, Examined: 1 << 20, Stages: stages}, got)

	// More stages than the record holds: the first MaxTraceStages.
	many := make([]Stage, MaxTraceStages+3)
	for i := range many {
		many[i] = Stage{Name: "s", In: i}
	}
	PutTrace(buf, &Response{Debug: &Debug{Stages: many}})
	require.True(t, ReadTrace(&got, buf, nil))
	assert.Equal(t, many[:MaxTraceStages], got.Stages)

	// No debug section, a cleared record, a short buffer: no record.
	for name, b := range map[string][]byte{"no debug": nil, "cleared": nil, "short": buf[:TraceBytes-1]} {
		switch name {
		case "no debug":
			PutTrace(buf, &Response{Items: make([]Item, 3)})
			b = buf
		case "cleared":
			PutTrace(buf, r)
			ClearTrace(buf)
			b = buf
		}
		got.Items = 9
		assert.False(t, ReadTrace(&got, b, nil), name)
		assert.Equal(t, Trace{Stages: got.Stages[:0]}, got, name)
	}
}
