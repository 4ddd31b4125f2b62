//go:build unix

package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/host/events"
)

// BenchmarkRecommendEvents compares POST /v1/recommend on a node with the
// event log off and one with it on (Parquet), in one run: each iteration
// sends the same request to both, alternately, so that the load of the
// machine falls on both alike. It reports each one's wall time per
// request (off-µs/op, on-µs/op, the module's call included) and their
// ratio (on/off). The writer's own work runs beside, on the same cores;
// BenchmarkImpressionWriter measures it.
//
//	go test ./host/server -run '^$' -bench 'RecommendEvents|ImpressionWriter' -benchtime 3000x
func BenchmarkRecommendEvents(b *testing.B) {
	req := userRequest(3)
	req.UserID = "u-bench"
	jsonBody, err := json.Marshal(req)
	if err != nil {
		b.Fatal(err)
	}
	mpBody, err := api.EncodeRequest(req)
	if err != nil {
		b.Fatal(err)
	}
	sink, err := events.OpenDir(b.TempDir(), events.DirOptions{})
	if err != nil {
		b.Fatal(err)
	}
	off := start(b, Config{Pool: 2}, testBundle(b, "bench", 1)).Handler()
	onServer := start(b, Config{Pool: 2, Events: sink}, testBundle(b, "bench", 1))
	on := onServer.Handler()
	for _, c := range []struct {
		name, ctype string
		body        []byte
	}{{"msgpack", contentMsgpack, mpBody}, {"json", contentJSON, jsonBody}} {
		send := func(h http.Handler) time.Duration {
			t0 := time.Now()
			r := httptest.NewRequest(http.MethodPost, "/v1/recommend", bytes.NewReader(c.body))
			r.Header.Set("Content-Type", c.ctype)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
			return time.Since(t0)
		}
		b.Run(c.name, func(b *testing.B) {
			var tOff, tOn time.Duration
			i := 0
			for b.Loop() {
				// Alternate which goes first.
				if i%2 == 0 {
					tOff += send(off)
					tOn += send(on)
				} else {
					tOn += send(on)
					tOff += send(off)
				}
				i++
			}
			n := float64(b.N)
			b.ReportMetric(tOff.Seconds()*1e6/n, "off-µs/op")
			b.ReportMetric(tOn.Seconds()*1e6/n, "on-µs/op")
			b.ReportMetric(float64(tOn)/float64(tOff), "on/off")
		})
	}
	if d := onServer.events.dropped[originServe].Load(); d > 0 {
		b.Logf("%d impressions dropped (queue full)", d)
	}
}

// BenchmarkImpressionWriter measures the writer's work per served list —
// decoding what it needs of the request and the answer, building the
// impression, writing it to Parquet in batches of 64 — beside the module's
// call for the same request, timed alternately in the same loop: writer-µs
// and guest-µs per request, and their ratio.
func BenchmarkImpressionWriter(b *testing.B) {
	ts := start(b, Config{Pool: 1}, testBundle(b, "bench", 1))
	req := userRequest(3)
	req.UserID = "u-bench"
	req.RequestID = "bench-1"
	in, err := api.EncodeRequest(req)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	g := ts.acquire()
	defer g.release()
	inst, err := g.get(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer g.put(inst)
	sink, err := events.OpenDir(b.TempDir(), events.DirOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	l := &eventLog{}
	batch := make([]events.Event, 0, 64)
	var tGuest, tWriter time.Duration
	b.ReportAllocs()
	for b.Loop() {
		t0 := time.Now()
		out, err := inst.RecommendBytes(ctx, in)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		e, ok := l.impression(&served{at: t1, id: "x", req: in, out: out})
		if !ok {
			b.Fatal("no impression")
		}
		if batch = append(batch, e); len(batch) == cap(batch) {
			if err := sink.Write(batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
		tWriter += time.Since(t1)
		tGuest += t1.Sub(t0)
	}
	n := float64(b.N)
	b.ReportMetric(tGuest.Seconds()*1e6/n, "guest-µs/op")
	b.ReportMetric(tWriter.Seconds()*1e6/n, "writer-µs/op")
	b.ReportMetric(float64(tWriter)/float64(tGuest), "writer/guest")
}
