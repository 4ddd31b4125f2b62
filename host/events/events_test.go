package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"
)

var received = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func impression() Event {
	return Event{Type: TypeImpression, RequestID: "r1", TimeMs: received.UnixMilli() - 1000, User: "u1",
		BundleVersion: "v1", Arm: "b", Region: "eu", Device: "mobile",
		Items: []Shown{{Item: "i1", Position: 1, Source: "twotower", Score: 0.5}, {Item: "i2", Position: 2, Source: "popular", Score: 0.25}}}
}

func take() Event {
	return Event{Type: TypeTake, RequestID: "r1", User: "u1", Item: "i2", Kind: KindWatch, Position: 2, DwellMs: 5000}
}

func TestDecodeRoundTrip(t *testing.T) {
	batch := Batch{Version: Version, Events: []Event{impression(), take(), {Type: TypeSkip, Item: "i1", Position: 1, DwellMs: 300}}}
	js, err := json.Marshal(batch)
	require.NoError(t, err)
	mp, err := msgpack.Marshal(batch) // the reference encoder
	require.NoError(t, err)
	for name, decode := range map[string]func() ([]Event, error){
		"json":    func() ([]Event, error) { return DecodeJSON(js, received) },
		"msgpack": func() ([]Event, error) { return DecodeMsgpack(mp, received) },
	} {
		t.Run(name, func(t *testing.T) {
			got, err := decode()
			require.NoError(t, err)
			require.Len(t, got, 3)
			want := batch.Events
			for i := range want {
				w := want[i]
				w.Origin = OriginClient
				if w.TimeMs == 0 {
					w.TimeMs = received.UnixMilli()
				}
				assert.Equal(t, w, got[i], "event %d", i)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	with := func(f func(e *Event)) string {
		e := impression()
		f(&e)
		b, _ := json.Marshal(Batch{Events: []Event{take(), e}})
		return string(b)
	}
	withTake := func(f func(e *Event)) string {
		e := take()
		f(&e)
		b, _ := json.Marshal(Batch{Events: []Event{e}})
		return string(b)
	}
	many := `{"events":[` + strings.Repeat(`{"type":"skip","item":"i"},`, MaxBatchEvents) + `{"type":"skip","item":"i"}]}`
	cases := []struct{ name, body, want string }{
		{"empty body", ``, "malformed"},
		{"no events", `{"events":[]}`, "no events"},
		{"unknown field", `{"events":[{"type":"take","item":"i","kind":"buy","postion":3}]}`, `unknown field "postion"`},
		{"unknown top field", `{"evnts":[]}`, `unknown field "evnts"`},
		{"other major", `{"version":"2.0","events":[{"type":"skip","item":"i"}]}`, "this node reads 1.x"},
		{"bad version", `{"version":"one","events":[{"type":"skip","item":"i"}]}`, "major.minor"},
		{"too many", many, "more than 1000 events"},
		{"trailing", `{"events":[{"type":"skip","item":"i"}]} {}`, "data after"},
		{"type", with(func(e *Event) { e.Type = "view" }), `events[1].type: "view"`},
		{"no request id", with(func(e *Event) { e.RequestID = "" }), "events[1].request_id"},
		{"bad request id", with(func(e *Event) { e.RequestID = "a b" }), "events[1].request_id"},
		{"no items", with(func(e *Event) { e.Items = nil }), "events[1].items"},
		{"long list", with(func(e *Event) {
			e.Items = make([]Shown, MaxItems+1)
			for i := range e.Items {
				e.Items[i] = Shown{Item: "x", Position: int32(i%MaxItems) + 1}
			}
		}), "more than the limit of 500"},
		{"position 0", with(func(e *Event) { e.Items[1].Position = 0 }), "events[1].items[1].position"},
		{"empty item", with(func(e *Event) { e.Items[0].Item = "" }), "items[0].item: empty"},
		{"long string", with(func(e *Event) { e.User = strings.Repeat("u", MaxString+1) }), "events[1].user: 129 bytes"},
		{"control", with(func(e *Event) { e.Arm = "a\x01" }), "events[1].arm: holds a control"},
		{"take fields", with(func(e *Event) { e.Kind = KindBuy }), "belong to takes"},
		{"too old", with(func(e *Event) { e.TimeMs = received.Add(-MaxAge - time.Hour).UnixMilli() }), "events[1].time_ms"},
		{"future", with(func(e *Event) { e.TimeMs = received.Add(MaxSkew + time.Hour).UnixMilli() }), "events[1].time_ms"},
		{"kind", withTake(func(e *Event) { e.Kind = "like" }), `kind: "like"`},
		{"no item", withTake(func(e *Event) { e.Item = "" }), "events[0].item"},
		{"dwell", withTake(func(e *Event) { e.DwellMs = -1 }), "dwell_ms"},
		{"take position", withTake(func(e *Event) { e.Position = MaxItems + 1 }), "position"},
		{"take items", withTake(func(e *Event) { e.Items = []Shown{{Item: "x", Position: 1}} }), "only an impression"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeJSON([]byte(tc.body), received)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	t.Run("version error", func(t *testing.T) {
		_, err := DecodeJSON([]byte(`{"version":"2.1","events":[{"type":"skip","item":"i"}]}`), received)
		assert.True(t, errors.Is(err, ErrVersion), "%v", err)
	})
	t.Run("validation error", func(t *testing.T) {
		// JSON cannot carry a NaN; msgpack can.
		e := impression()
		e.Items[0].Score = float32(math.NaN())
		mp, err := msgpack.Marshal(Batch{Events: []Event{e}})
		require.NoError(t, err)
		_, err = DecodeMsgpack(mp, received)
		var ve *ValidationError
		require.ErrorAs(t, err, &ve)
		assert.Equal(t, "items[0].score", ve.Field)
	})
	t.Run("oversized", func(t *testing.T) {
		_, err := DecodeJSON(make([]byte, MaxBatchBytes+1), received)
		assert.ErrorContains(t, err, "more than the limit")
		_, err = DecodeMsgpack(make([]byte, MaxBatchBytes+1), received)
		assert.ErrorContains(t, err, "more than the limit")
	})
	t.Run("hostile msgpack length", func(t *testing.T) {
		// {"events": array32 declaring 2³¹ entries} in 16 bytes.
		b := append([]byte{0x81, 0xa6}, "events"...)
		b = append(b, 0xdd, 0x80, 0, 0, 0)
		_, err := DecodeMsgpack(b, received)
		assert.ErrorContains(t, err, "malformed msgpack")
	})
}

// TestNewerMinorVersion: a batch of a newer minor version may carry fields
// this reader does not know; they are skipped, in JSON as in msgpack.
func TestNewerMinorVersion(t *testing.T) {
	body := fmt.Sprintf(`{"version":"%d.%d","future":1,"events":[{"type":"take","item":"i","kind":"click","mood":"happy"}]}`, Major, Minor+1)
	got, err := DecodeJSON([]byte(body), received)
	require.NoError(t, err)
	assert.Equal(t, "i", got[0].Item)
	_, err = DecodeJSON([]byte(strings.Replace(body, fmt.Sprintf("%d.%d", Major, Minor+1), Version, 1)), received)
	assert.ErrorContains(t, err, "unknown field")
}

func seeds() [][]byte {
	js, _ := json.Marshal(Batch{Version: Version, Events: []Event{impression(), take()}})
	mp, _ := msgpack.Marshal(Batch{Version: Version, Events: []Event{impression(), take()}})
	return [][]byte{js, mp, []byte(`{"events":[{"type":"skip","item":"x"}]}`), {0x81, 0xa6, 'e', 'v', 'e', 'n', 't', 's', 0xdd, 0xff, 0xff, 0xff, 0xff}}
}

// FuzzDecodeJSON: any bytes give events or an error, never a panic; what
// is accepted is valid, within the limits, and survives a round trip.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range seeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, err := DecodeJSON(b, received)
		if err != nil {
			return
		}
		checkAccepted(t, evs)
		again, err := json.Marshal(Batch{Events: evs})
		require.NoError(t, err)
		back, err := DecodeJSON(again, received)
		require.NoError(t, err)
		require.Equal(t, evs, back)
	})
}

// FuzzDecodeMsgpack is FuzzDecodeJSON for msgpack, re-encoded by the
// reference encoder.
func FuzzDecodeMsgpack(f *testing.F) {
	for _, s := range seeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, err := DecodeMsgpack(b, received)
		if err != nil {
			return
		}
		checkAccepted(t, evs)
		again, err := msgpack.Marshal(Batch{Events: evs})
		require.NoError(t, err)
		back, err := DecodeMsgpack(again, received)
		require.NoError(t, err)
		require.Equal(t, evs, back)
	})
}

func checkAccepted(t *testing.T, evs []Event) {
	t.Helper()
	require.LessOrEqual(t, len(evs), MaxBatchEvents)
	for i := range evs {
		require.NoError(t, evs[i].Validate(received))
		require.Equal(t, OriginClient, evs[i].Origin)
		require.NotZero(t, evs[i].TimeMs)
	}
}
