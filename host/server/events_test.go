package server

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/host/events"
)

// postBody posts body with ct to path and returns the status and answer.
func postBody(t *testing.T, url, ct string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	resp, err := http.Post(url, ct, bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, out
}

// TestEventsLogged: the lists served (JSON and msgpack) are logged as
// impressions that carry the answer's request id, list and arm, and the
// takes a client posts land beside them; every file is complete once the
// server is closed.
func TestEventsLogged(t *testing.T) {
	dir := t.TempDir()
	sink, err := events.OpenDir(dir, events.DirOptions{})
	require.NoError(t, err)
	ts := start(t, Config{Events: sink}, testBundle(t, "v1", 1))

	req := userRequest(1)
	req.UserID = "u-json"
	req.Context.Device = "mobile"
	status, body := post(t, ts.http.URL, req)
	require.Equal(t, http.StatusOK, status, "%s", body)
	jsonResp := decode[api.Response](t, body)

	req = userRequest(2)
	req.UserID = "u-msgpack"
	mp, err := api.EncodeRequest(req)
	require.NoError(t, err)
	status, _, body = postBody(t, ts.http.URL+"/v1/recommend", contentMsgpack, mp)
	require.Equal(t, http.StatusOK, status, "%s", body)
	mpResp, err := api.DecodeResponse(body)
	require.NoError(t, err)

	batch := fmt.Sprintf(`{"version":"1.0","events":[
		{"type":"take","request_id":%q,"item":%q,"kind":"watch","position":1,"user":"u-json"},
		{"type":"skip","request_id":%q,"item":%q,"position":2,"dwell_ms":800}]}`,
		jsonResp.RequestID, jsonResp.Items[0].ID, mpResp.RequestID, mpResp.Items[1].ID)
	status, _, body = postBody(t, ts.http.URL+"/v1/events", contentJSON, []byte(batch))
	require.Equal(t, http.StatusAccepted, status, "%s", body)
	assert.JSONEq(t, `{"accepted":2}`, string(body))

	ts.http.Close()
	ts.Server.Close()
	got, err := events.ReadDir(dir, time.Time{})
	require.NoError(t, err)
	byType := map[string][]events.Event{}
	for _, e := range got {
		byType[e.Type] = append(byType[e.Type], e)
	}
	require.Len(t, byType[events.TypeImpression], 2)
	require.Len(t, byType[events.TypeTake], 1)
	require.Len(t, byType[events.TypeSkip], 1)
	imps := map[string]events.Event{}
	for _, e := range byType[events.TypeImpression] {
		imps[e.User] = e
		assert.Equal(t, events.OriginServe, e.Origin)
		assert.Equal(t, "v1", e.BundleVersion)
		assert.Equal(t, "eu", e.Region)
		assert.InDelta(t, time.Now().UnixMilli(), e.TimeMs, float64(time.Minute.Milliseconds()))
	}
	for user, resp := range map[string]*api.Response{"u-json": &jsonResp, "u-msgpack": mpResp} {
		e := imps[user]
		require.NotEmpty(t, resp.RequestID)
		assert.Equal(t, resp.RequestID, e.RequestID, user)
		assert.Equal(t, resp.Arm, e.Arm)
		require.Len(t, e.Items, len(resp.Items), user)
		for i, it := range resp.Items {
			assert.Equal(t, events.Shown{Item: it.ID, Position: int32(i + 1), Source: it.Source, Score: it.Score}, e.Items[i])
		}
	}
	assert.Equal(t, "mobile", imps["u-json"].Device)
	assert.Equal(t, jsonResp.RequestID, byType[events.TypeTake][0].RequestID)
	assert.Equal(t, events.OriginClient, byType[events.TypeTake][0].Origin)
	assert.Equal(t, mpResp.RequestID, byType[events.TypeSkip][0].RequestID)
}

// TestEventsEndpoint: /v1/events answers each kind of bad batch with a
// clear error, and is off without a sink.
func TestEventsEndpoint(t *testing.T) {
	off := start(t, Config{}, testBundle(t, "v1", 1))
	status, _, body := postBody(t, off.http.URL+"/v1/events", contentJSON, []byte(`{"events":[]}`))
	assert.Equal(t, http.StatusNotFound, status)
	assert.Contains(t, string(body), "--events")

	sink := &memorySink{}
	ts := start(t, Config{Events: sink, NoImpressions: true}, testBundle(t, "v1", 1))
	url := ts.http.URL + "/v1/events"
	for _, tc := range []struct {
		name, ct string
		body     []byte
		status   int
		want     string
	}{
		{"type", "text/csv", []byte("a,b"), http.StatusUnsupportedMediaType, "Content-Type"},
		{"oversized", contentJSON, bytes.Repeat([]byte(" "), events.MaxBatchBytes+1), http.StatusRequestEntityTooLarge, "limit"},
		{"malformed", contentJSON, []byte(`{"events":`), http.StatusBadRequest, "malformed JSON batch"},
		{"invalid", contentJSON, []byte(`{"events":[{"type":"take","item":"x","kind":"like"}]}`), http.StatusBadRequest, `events[0].kind`},
		{"msgpack", contentMsgpack, []byte{0x81, 0xa6, 'e', 'v', 'e', 'n', 't', 's', 0xdd, 0x7f, 0xff, 0xff, 0xff}, http.StatusBadRequest, "malformed msgpack"},
		{"ok", "", []byte(`{"events":[{"type":"take","item":"x","kind":"buy"}]}`), http.StatusAccepted, `"accepted":1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := postBody(t, url, tc.ct, tc.body)
			assert.Equal(t, tc.status, status, "%s", body)
			assert.Contains(t, string(body), tc.want)
		})
	}
	// No impressions with NoImpressions.
	status, body = post(t, ts.http.URL, userRequest(1))
	require.Equal(t, http.StatusOK, status, "%s", body)
	ts.http.Close()
	ts.Server.Close()
	assert.Equal(t, 1, sink.count(), "the accepted take only")
	_, _, metrics := get(t, off.http.URL+"/metrics")
	assert.NotContains(t, string(metrics), "edgerec_events_")
}

// memorySink keeps events in memory; gate, when set, holds every Write
// until it is closed.
type memorySink struct {
	mu   sync.Mutex
	evs  []events.Event
	gate chan struct{}
}

func (m *memorySink) Write(evs []events.Event) error {
	if m.gate != nil {
		<-m.gate
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.evs = append(m.evs, evs...)
	return nil
}
func (m *memorySink) Tick(time.Time) error { return nil }
func (m *memorySink) Close() error         { return nil }
func (m *memorySink) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.evs)
}

// TestEventsNeverBlock: with the writer stuck, recommend requests are
// answered all the same; the impressions past the queue are dropped and
// counted, and a batch that does not fit is answered 503.
func TestEventsNeverBlock(t *testing.T) {
	sink := &memorySink{gate: make(chan struct{})}
	ts := start(t, Config{Events: sink, EventQueue: 4}, testBundle(t, "v1", 1))
	const n = 20
	for i := range n {
		status, body := post(t, ts.http.URL, userRequest(i))
		require.Equal(t, http.StatusOK, status, "%s", body)
	}
	status, h, body := postBody(t, ts.http.URL+"/v1/events", contentJSON, []byte(`{"events":[{"type":"take","item":"x","kind":"buy"}]}`))
	assert.Equal(t, http.StatusServiceUnavailable, status, "%s", body)
	assert.Equal(t, "1", h.Get("Retry-After"))

	_, _, metrics := get(t, ts.http.URL+"/metrics")
	m := string(metrics)
	// The writer holds what it took before it got stuck (one entry, or
	// a few if requests came faster than it was scheduled), the queue
	// four: the rest are dropped.
	received, dropped := metricValue(t, m, `edgerec_events_received_total{origin="serve"}`), metricValue(t, m, `edgerec_events_dropped_total{origin="serve"}`)
	assert.Equal(t, n, received+dropped)
	assert.GreaterOrEqual(t, received, 5)
	assert.Less(t, received, n)
	assert.Contains(t, m, `edgerec_events_dropped_total{origin="client"} 1`)
	assert.Contains(t, m, `edgerec_events_queue_entries 4`)
	assert.Contains(t, m, `edgerec_event_batches_total{code="503"} 1`)
	assert.True(t, strings.Contains(m, "edgerec_events_queue_bytes "), m)
	checkExposition(t, m)

	close(sink.gate)
	ts.http.Close()
	ts.Server.Close()
	assert.Equal(t, received, sink.count(), "every queued impression written at close")
}

// TestEventsQueueBytes: the queue's byte bound drops what its entry bound
// would take.
func TestEventsQueueBytes(t *testing.T) {
	sink := &memorySink{gate: make(chan struct{})}
	ts := start(t, Config{Events: sink, EventQueueBytes: 1}, testBundle(t, "v1", 1))
	status, body := post(t, ts.http.URL, userRequest(1))
	require.Equal(t, http.StatusOK, status, "%s", body)
	_, _, metrics := get(t, ts.http.URL+"/metrics")
	assert.Contains(t, string(metrics), `edgerec_events_dropped_total{origin="serve"} 1`)
	close(sink.gate)
}

func TestEventFlags(t *testing.T) {
	var f EventFlags
	fs := newTestFlagSet()
	f.Register(fs)
	require.NoError(t, fs.Parse([]string{"--events", t.TempDir(), "--events-format", "ndjson", "--no-impressions"}))
	var cfg Config
	require.NoError(t, f.Apply(&cfg, nil))
	require.NotNil(t, cfg.Events)
	assert.True(t, cfg.NoImpressions)
	require.NoError(t, cfg.Events.Close())

	f.Format = "csv"
	assert.ErrorContains(t, f.Apply(&cfg, nil), "--events-format")
	f = EventFlags{Format: events.FormatParquet, RotateBytes: 1 << 20, RotateAge: time.Hour, Queue: 0}
	assert.ErrorContains(t, f.Check(), "--events-queue")

	var out bytes.Buffer
	f = EventFlags{Dir: "-", Format: events.FormatParquet, RotateBytes: 1 << 20, RotateAge: time.Hour, Queue: 8}
	cfg = Config{}
	require.NoError(t, f.Apply(&cfg, &out))
	require.NoError(t, cfg.Events.Write([]events.Event{{Type: events.TypeTake, Item: "x", Kind: "buy"}}))
	var e events.Event
	require.NoError(t, json.Unmarshal(out.Bytes(), &e))
	assert.Equal(t, "x", e.Item)
}

func newTestFlagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// metricValue returns the value of the series named (with its labels) in
// the Prometheus text m.
func metricValue(t *testing.T, m, series string) int {
	t.Helper()
	for _, line := range strings.Split(m, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			var n int
			_, err := fmt.Sscan(v, &n)
			require.NoError(t, err, line)
			return n
		}
	}
	t.Fatalf("no series %s in\n%s", series, m)
	return 0
}

// checkExposition checks the grouping rule of the Prometheus text format:
// every sample follows the TYPE line of its family, and no family is
// declared twice.
func checkExposition(t *testing.T, m string) {
	t.Helper()
	family, declared := "", map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(m), "\n") {
		if name, ok := strings.CutPrefix(line, "# TYPE "); ok {
			family, _, _ = strings.Cut(name, " ")
			require.False(t, declared[family], "%s declared twice", family)
			declared[family] = true
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, _, _ := strings.Cut(line, " ")
		name, _, _ = strings.Cut(name, "{")
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if trimmed, ok := strings.CutSuffix(name, suffix); ok && trimmed == family {
				name = trimmed
			}
		}
		require.Equal(t, family, name, "sample %q outside its family", line)
	}
}

// TestFit: strings from requests become valid schema strings.
func TestFit(t *testing.T) {
	long := strings.Repeat("é", events.MaxString) // 2 bytes a character
	for _, s := range []string{"plain", long, "a\x00b\nc", "bad\xff\xfe", strings.Repeat("\x01", 300), strings.Repeat("x", 127) + "é"} {
		got := fit(s)
		e := events.Event{Type: events.TypeTake, Item: got, User: got, Kind: events.KindClick}
		assert.NoError(t, e.Validate(time.Now()), "%q → %q", s, got)
	}
	assert.Equal(t, "plain", fit("plain"))
	assert.Equal(t, strings.Repeat("é", events.MaxString/2), fit(long))
}

// TestEventsHeader: with events on, the bundle file the page downloads
// names the events endpoint (Edgerec-Events); without, it does not.
func TestEventsHeader(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "index.html"), []byte("<h1>edgerec</h1>"), 0o644))
	for _, on := range []bool{false, true} {
		cfg := Config{WebDir: dir, Wasm: testWasm}
		if on {
			cfg.Events = &memorySink{}
		}
		ts := start(t, cfg, testBundle(t, "v1", 1))
		status, h, _ := get(t, ts.http.URL+"/v1/bundle/file")
		require.Equal(t, http.StatusOK, status)
		if on {
			assert.Equal(t, "/v1/events", h.Get("Edgerec-Events"))
		} else {
			assert.Empty(t, h.Get("Edgerec-Events"))
		}
	}
}
