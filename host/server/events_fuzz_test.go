package server

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/edgerec/edgerec/host/events"
)

// discardSink keeps no event.
type discardSink struct{}

func (d *discardSink) Write([]events.Event) error { return nil }
func (d *discardSink) Tick(time.Time) error       { return nil }
func (d *discardSink) Close() error               { return nil }

// FuzzEventsBody: no body, JSON or msgpack, makes POST /v1/events panic
// or answer anything but 202 (with the count accepted), 400 or 413.
func FuzzEventsBody(f *testing.F) {
	f.Add([]byte(`{"version":"1.0","events":[{"type":"take","request_id":"r1","item":"i1","kind":"watch","position":1}]}`), false)
	f.Add([]byte(`{"events":[{"type":"impression","request_id":"r1","items":[{"item":"i1","position":1,"score":0.5}]}]}`), false)
	f.Add([]byte(`{"events":[{"type":"skip","item":"i1","dwell_ms":-1}]}`), false)
	f.Add([]byte{0x81, 0xa6, 'e', 'v', 'e', 'n', 't', 's', 0x91, 0x83, 0xa4, 't', 'y', 'p', 'e', 0xa4, 's', 'k', 'i', 'p', 0xa4, 'i', 't', 'e', 'm', 0xa1, 'x', 0xa4, 'k', 'i', 'n', 'd', 0xa0}, true)
	f.Add([]byte{0xc1}, true)
	ts := start(f, Config{Events: &discardSink{}, EventQueue: 1 << 16}, testBundle(f, "fuzz", 1))
	h := ts.Handler()
	f.Fuzz(func(t *testing.T, body []byte, msgpack bool) {
		ctype := contentJSON
		if msgpack {
			ctype = contentMsgpack
		}
		req := httptest.NewRequest(http.MethodPost, "/v1/events", bytes.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch w.Code {
		case http.StatusAccepted:
			if !bytes.Contains(w.Body.Bytes(), []byte(`"accepted":`)) {
				t.Fatalf("202 without a count: %s", w.Body)
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d for %q: %s", w.Code, body, w.Body)
		}
	})
}
