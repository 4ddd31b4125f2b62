//go:build unix

package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/edgerec/edgerec/core/api"
)

// BenchmarkRecommendHost measures what the edge node itself spends on one
// POST /v1/recommend, apart from the module's work: the handler's time and
// allocations per request minus those of the guest call alone (the same
// request run through Instance.RecommendBytes on an instance of the same
// pool, timed in the same iteration, outside the benchmark's timer).
//
// It reports host-µs/op (handler minus guest, wall time per request),
// host-cpu-µs/op (the same in CPU time of the process, which other
// processes on a busy machine disturb less than wall time) and
// host-allocs/op (testing.AllocsPerRun of the handler minus that of the
// guest call); ns/op and allocs/op are the handler's, guest included.
func BenchmarkRecommendHost(b *testing.B) {
	ts := start(b, Config{Pool: 2}, testBundle(b, "bench", 1))
	h := ts.Handler()
	req := userRequest(3)
	jsonBody, err := json.Marshal(req)
	if err != nil {
		b.Fatal(err)
	}
	mpBody, err := api.EncodeRequest(req)
	if err != nil {
		b.Fatal(err)
	}
	// The guest does the same work either way: it runs the pipeline with
	// its stage timer on (the host used to ask for debug; the module now
	// times every call).
	dbg := *req
	dbg.Debug = true
	guestIn, err := api.EncodeRequest(&dbg)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	g := ts.acquire()
	defer g.release()
	in, err := g.get(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer g.put(in)
	guest := func() {
		if _, err := in.RecommendBytes(ctx, guestIn); err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range []struct {
		name, ctype string
		body        []byte
	}{{"msgpack", contentMsgpack, mpBody}, {"json", contentJSON, jsonBody}} {
		handle := func() {
			r := httptest.NewRequest(http.MethodPost, "/v1/recommend", bytes.NewReader(c.body))
			r.Header.Set("Content-Type", c.ctype)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
		b.Run(c.name, func(b *testing.B) {
			hostAllocs := testing.AllocsPerRun(200, handle) - testing.AllocsPerRun(200, guest)
			b.ReportAllocs()
			var guestTime, handlerCPU, guestCPU time.Duration
			for b.Loop() {
				c0 := cpuTime(b)
				handle()
				c1 := cpuTime(b)
				b.StopTimer()
				t0 := time.Now()
				guest()
				guestTime += time.Since(t0)
				guestCPU += cpuTime(b) - c1
				handlerCPU += c1 - c0
				b.StartTimer()
			}
			n := float64(b.N)
			b.ReportMetric((b.Elapsed()-guestTime).Seconds()*1e6/n, "host-µs/op")
			b.ReportMetric((handlerCPU-guestCPU).Seconds()*1e6/n, "host-cpu-µs/op")
			b.ReportMetric(hostAllocs, "host-allocs/op")
		})
	}
}

// cpuTime returns the CPU time (user and system) the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
