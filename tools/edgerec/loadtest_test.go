package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLoadSummary: the clients' results add up to the report: every
// request counted once by status, errors and the first of them kept,
// latency percentiles over the answered requests only.
func TestLoadSummary(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var d []time.Duration
		for _, x := range v {
			d = append(d, time.Duration(x)*time.Millisecond)
		}
		return d
	}
	o := loadOptions{endpoint: "http://127.0.0.1:1/v1/recommend", concurrency: 2}
	rep := summarizeLoad(o, []loadResult{
		{lat: ms(1, 2, 3, 4), status: map[string]int{"200": 4}},
		{lat: ms(10, 5), status: map[string]int{"200": 1, "503": 1, "transport": 2}, errors: 3, firstErr: "status 503: busy"},
	}, 2*time.Second)
	assert.Equal(t, 8, rep.Requests)
	assert.Equal(t, 3, rep.Errors)
	assert.Equal(t, map[string]int{"200": 5, "503": 1, "transport": 2}, rep.Status)
	assert.Equal(t, 4.0, rep.RPS)
	assert.Equal(t, 3.0, rep.P50)
	assert.Equal(t, 10.0, rep.P99)
	assert.Equal(t, 10.0, rep.Max)
	assert.Equal(t, "status 503: busy", rep.FirstError)

	var b strings.Builder
	rep.print(&b)
	for _, want := range []string{"requests     8 (3 errors)", "rps          4.0", "p50 3.000", "status 503       1", "status transport 2", "first error  status 503: busy"} {
		assert.Contains(t, b.String(), want)
	}
	assert.Less(t, strings.Index(b.String(), "status 200"), strings.Index(b.String(), "status 503"), "statuses in order")
}

// TestParseLoadtest: the flags, the URL included, are checked before a
// request is sent or a file read.
func TestParseLoadtest(t *testing.T) {
	o, err := parseLoadtest([]string{"--url", "http://127.0.0.1:9", "--concurrency", "3", "--msgpack"})
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:9/v1/recommend", o.endpoint)
	assert.Equal(t, 3, o.concurrency)
	assert.True(t, o.msgpack)
	for _, args := range [][]string{
		{"--url", "http://127.0.0.1:9", "--k", "0"},
		{"--url", "http://127.0.0.1:9", "--body", "/nonexistent.json", "--bundle", "/nonexistent.bundle"},
		{"--url", "http://127.0.0.1:9", "--duration", "0s"},
	} {
		_, err := parseLoadtest(args)
		var ue *usageError
		assert.ErrorAs(t, err, &ue, "%v", args)
	}
}

// TestSendEvents: --events-rate posts valid take batches to /v1/events
// beside the requests, at the rate asked, and counts their statuses.
func TestSendEvents(t *testing.T) {
	var mu sync.Mutex
	var batches, events int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/events" {
			http.NotFound(w, r)
			return
		}
		var body struct {
			Events []map[string]any `json:"events"`
		}
		require.NoError(t, json.NewDecoder(r.Body).Decode(&body))
		for _, e := range body.Events {
			assert.Equal(t, "take", e["type"])
			assert.NotEmpty(t, e["item"])
		}
		mu.Lock()
		batches++
		events += len(body.Events)
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	o, err := parseLoadtest([]string{"--url", srv.URL, "--events-rate", "1000", "--duration", "1s"})
	require.NoError(t, err)
	assert.Equal(t, srv.URL+"/v1/events", o.eventsURL)
	ev := sendEvents(o, []string{"a", "b"}, time.Now())
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, events, ev.events)
	assert.Equal(t, map[string]int{"202": batches}, ev.status)
	assert.InDelta(t, 1000, ev.events, 300, "events posted in one second at 1000/s")
	_, err = parseLoadtest([]string{"--url", srv.URL, "--events-rate", "-1"})
	assert.Error(t, err)
}
