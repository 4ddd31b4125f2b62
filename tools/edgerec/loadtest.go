package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/host/events"
)

// loadReport is what `loadtest --json` prints.
type loadReport struct {
	URL         string         `json:"url"`
	Concurrency int            `json:"concurrency"`
	DurationS   float64        `json:"duration_s"`
	Requests    int            `json:"requests"`
	Errors      int            `json:"errors"`
	RPS         float64        `json:"rps"`
	P50         float64        `json:"p50_ms"`
	P90         float64        `json:"p90_ms"`
	P99         float64        `json:"p99_ms"`
	Max         float64        `json:"max_ms"`
	Status      map[string]int `json:"status"`
	FirstError  string         `json:"first_error,omitempty"`
	// Events posted to /v1/events beside the requests (--events-rate):
	// how many, and the statuses of their batches.
	Events      int            `json:"events,omitempty"`
	EventStatus map[string]int `json:"event_batches,omitempty"`
}

// loadOptions are the flags of `edgerec loadtest`, checked.
type loadOptions struct {
	endpoint    string // the recommend URL, on loopback
	concurrency int
	duration    time.Duration
	json        bool
	bundlePath  string // draw histories from this bundle's ids
	history, k  int
	bodyPath    string // send this JSON body instead
	msgpack     bool
	seed        uint64
	eventsRate  int    // take events a second posted to /v1/events (0: none)
	eventsURL   string // the events endpoint beside endpoint
}

// eventBatch is how many events loadtest posts at once.
const eventBatch = 100

const loadtestAbout = `
Send recommend requests to an edgerec serve on this machine from C
concurrent clients for a duration D, and report requests, errors (any
status but 200, or a transport error), requests per second and latency
percentiles. Only loopback addresses are accepted: this is a local
measuring tool, not a way to load someone else's server.

Requests: with --bundle, each carries a history of --history items drawn
from the bundle's catalog (seeded), like a real user's; with --body, the
JSON file as is; otherwise {"k": K}.

With --events-rate N, one more client posts N take events a second to
/v1/events (in batches of 100, items from --bundle's catalog when given),
so that the recommend latencies show what logging events costs: compare
with a run without it, or with a node started without --events.`

func runLoadtest(args []string, stdout, stderr io.Writer) error {
	o, err := parseLoadtest(args)
	if err != nil {
		return err
	}
	rep, err := loadtest(o)
	if err != nil {
		return err
	}
	if o.json {
		if err := writeJSON(stdout, rep); err != nil {
			return err
		}
	} else {
		rep.print(stdout)
	}
	if rep.Status["200"] == 0 {
		return fmt.Errorf("no request was answered with 200: %s", rep.FirstError)
	}
	return nil
}

// parseLoadtest parses and checks the flags of `edgerec loadtest`,
// the URL included.
func parseLoadtest(args []string) (loadOptions, error) {
	fs := newFlags("loadtest", "loadtest --url URL [--concurrency C] [--duration D] [--json] [flags]", loadtestAbout)
	var o loadOptions
	target := fs.String("url", "", "server base URL, e.g. http://127.0.0.1:8080 (a path of /v1/recommend is added when missing)")
	fs.IntVar(&o.concurrency, "concurrency", 4, "concurrent clients")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long to send requests")
	fs.BoolVar(&o.json, "json", false, "print JSON: requests, errors, rps, p50_ms, p90_ms, p99_ms, max_ms, status")
	fs.StringVar(&o.bundlePath, "bundle", "", "draw request histories from this bundle's item ids")
	fs.IntVar(&o.history, "history", 10, "history items per request (with --bundle)")
	fs.IntVar(&o.k, "k", 20, "items asked per request")
	fs.StringVar(&o.bodyPath, "body", "", "send this JSON request body instead")
	fs.BoolVar(&o.msgpack, "msgpack", false, "send and receive msgpack instead of JSON")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the request histories")
	fs.IntVar(&o.eventsRate, "events-rate", 0, "also post this many take events a second to /v1/events (0: none)")
	if err := parse(fs, args); err != nil {
		return o, err
	}
	if err := required(fs, "url"); err != nil {
		return o, err
	}
	switch {
	case o.concurrency < 1 || o.concurrency > 4096:
		return o, usagef("--concurrency %d out of range [1, 4096]", o.concurrency)
	case o.duration <= 0 || o.duration > 24*time.Hour:
		return o, usagef("--duration %v out of range (0, 24h]", o.duration)
	case o.k < 1 || o.k > api.MaxK:
		return o, usagef("--k %d out of range [1, %d]", o.k, api.MaxK)
	case o.history < 0 || o.history > api.MaxHistory:
		return o, usagef("--history %d out of range [0, %d]", o.history, api.MaxHistory)
	case o.bodyPath != "" && o.bundlePath != "":
		return o, usagef("give --body or --bundle, not both")
	case o.eventsRate < 0 || o.eventsRate > 1_000_000:
		return o, usagef("--events-rate %d out of range [0, 1000000]", o.eventsRate)
	}
	var err error
	if o.endpoint, err = loopbackURL(*target); err != nil {
		return o, err
	}
	u, _ := url.Parse(o.endpoint)
	u.Path = "/v1/events"
	o.eventsURL = u.String()
	return o, nil
}

// loadtest sends o's requests from o.concurrency clients for o.duration
// and returns what they saw: the work of `edgerec loadtest`.
func loadtest(o loadOptions) (*loadReport, error) {
	bodies, err := requestBodies(o)
	if err != nil {
		return nil, err
	}
	var ids []string
	if o.eventsRate > 0 && o.bundlePath != "" {
		if ids, err = bundleIDs(o.bundlePath); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	var ev eventLoad
	done := make(chan struct{})
	go func() {
		defer close(done)
		ev = sendEvents(o, ids, start)
	}()
	results := sendLoad(o, bodies)
	<-done
	rep := summarizeLoad(o, results, time.Since(start))
	rep.Events, rep.EventStatus = ev.events, ev.status
	return rep, nil
}

// eventLoad is what the events client saw.
type eventLoad struct {
	events int
	status map[string]int
}

// sendEvents posts o.eventsRate take events a second to o.eventsURL, in
// batches of eventBatch, until o.duration has passed since start; items
// are drawn from ids (or named i0, i1, … without a catalog).
func sendEvents(o loadOptions, ids []string, start time.Time) eventLoad {
	out := eventLoad{status: map[string]int{}}
	if o.eventsRate <= 0 {
		return out
	}
	client := &http.Client{Timeout: 10 * time.Second}
	rng := rand.New(rand.NewPCG(o.seed, 5))
	every := time.Duration(float64(time.Second) * eventBatch / float64(o.eventsRate))
	for next := start; time.Since(start) < o.duration; next = next.Add(every) {
		time.Sleep(time.Until(next))
		batch := make([]events.Event, eventBatch)
		for i := range batch {
			item := fmt.Sprintf("i%d", rng.IntN(1000))
			if len(ids) > 0 {
				item = ids[rng.IntN(len(ids))]
			}
			batch[i] = events.Event{Type: events.TypeTake, RequestID: fmt.Sprintf("load-%d", out.events+i), Item: item,
				Kind: events.KindClick, Position: int32(1 + rng.IntN(o.k)), User: fmt.Sprintf("load-u%d", rng.IntN(1000))}
		}
		body, _ := json.Marshal(events.Batch{Version: events.Version, Events: batch})
		resp, err := client.Post(o.eventsURL, "application/json", bytes.NewReader(body))
		if err != nil {
			out.status["transport"]++
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		out.status[fmt.Sprint(resp.StatusCode)]++
		out.events += eventBatch
	}
	return out
}

// requestBodies returns the request bodies, a fixed set the clients cycle
// through: o.bodyPath's request, 1000 users drawn from o.bundlePath's
// catalog, or {"k": K}.
func requestBodies(o loadOptions) ([][]byte, error) {
	encode := func(r *api.Request) ([]byte, error) {
		if o.msgpack {
			return api.EncodeRequest(r)
		}
		return json.Marshal(r)
	}
	switch {
	case o.bodyPath != "":
		b, err := os.ReadFile(o.bodyPath)
		if err != nil {
			return nil, err
		}
		var r api.Request
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("%s: not a JSON request: %w", o.bodyPath, err)
		}
		b, err = encode(&r)
		return [][]byte{b}, err
	case o.bundlePath != "":
		ids, err := bundleIDs(o.bundlePath)
		if err != nil {
			return nil, err
		}
		rng := rand.New(rand.NewPCG(o.seed, 3))
		var bodies [][]byte
		for range 1000 {
			r := &api.Request{K: o.k}
			for range o.history {
				r.History = append(r.History, api.Event{Item: ids[rng.IntN(len(ids))]})
			}
			body, err := encode(r)
			if err != nil {
				return nil, err
			}
			bodies = append(bodies, body)
		}
		return bodies, nil
	}
	b, err := encode(&api.Request{K: o.k})
	return [][]byte{b}, err
}

// bundleIDs returns the item ids of the bundle at path.
func bundleIDs(path string) ([]string, error) {
	data, err := readBundleFile(path)
	if err != nil {
		return nil, err
	}
	b, err := bundle.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if b.Items.Len() == 0 {
		return nil, fmt.Errorf("%s has no items", path)
	}
	return b.Items.IDs.Slice(), nil
}

// loadResult is what one client saw.
type loadResult struct {
	lat      []time.Duration
	status   map[string]int
	errors   int
	firstErr string
}

// sendLoad runs o.concurrency clients, each posting bodies in turn until
// o.duration has passed, and returns what each saw.
func sendLoad(o loadOptions, bodies [][]byte) []loadResult {
	ctype := "application/json"
	if o.msgpack {
		ctype = "application/msgpack"
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: o.concurrency, MaxIdleConnsPerHost: o.concurrency, IdleConnTimeout: time.Minute, DisableCompression: true}}
	ctx, cancel := context.WithTimeout(context.Background(), o.duration)
	defer cancel()
	results := make([]loadResult, o.concurrency)
	var wg sync.WaitGroup
	for c := range o.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := &results[c]
			res.status = map[string]int{}
			for i := c; ctx.Err() == nil; i += o.concurrency {
				res.post(client, o.endpoint, ctype, bodies[i%len(bodies)])
			}
		}()
	}
	wg.Wait()
	return results
}

// post sends one request and records its latency and status.
func (res *loadResult) post(client *http.Client, endpoint, ctype string, body []byte) {
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, endpoint, bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		res.errors++
		res.status["transport"]++
		if res.firstErr == "" {
			res.firstErr = err.Error()
		}
		time.Sleep(10 * time.Millisecond) // a server that is down: do not spin
		return
	}
	out, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	res.lat = append(res.lat, time.Since(t0))
	res.status[fmt.Sprint(resp.StatusCode)]++
	if resp.StatusCode != http.StatusOK || err != nil {
		res.errors++
		if res.firstErr == "" {
			res.firstErr = fmt.Sprintf("status %d: %s", resp.StatusCode, bytes.TrimSpace(out))
		}
	}
}

// summarizeLoad adds up the clients' results over elapsed.
func summarizeLoad(o loadOptions, results []loadResult, elapsed time.Duration) *loadReport {
	rep := &loadReport{URL: o.endpoint, Concurrency: o.concurrency, DurationS: elapsed.Seconds(), Status: map[string]int{}}
	var all []float64
	for _, r := range results {
		for _, l := range r.lat {
			all = append(all, float64(l.Microseconds())/1000)
		}
		rep.Errors += r.errors
		for s, n := range r.status {
			rep.Status[s] += n
			rep.Requests += n
		}
		if rep.FirstError == "" {
			rep.FirstError = r.firstErr
		}
	}
	sort.Float64s(all)
	rep.RPS = float64(rep.Requests) / elapsed.Seconds()
	if len(all) > 0 {
		rep.P50, rep.P90, rep.P99 = percentile(all, 50), percentile(all, 90), percentile(all, 99)
		rep.Max = all[len(all)-1]
	}
	return rep
}

// print writes the report as `edgerec loadtest` prints it.
func (r *loadReport) print(w io.Writer) {
	fmt.Fprintf(w, "url          %s\nconcurrency  %d for %.1f s\nrequests     %d (%d errors)\nrps          %.1f\nlatency ms   p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n",
		r.URL, r.Concurrency, r.DurationS, r.Requests, r.Errors, r.RPS, r.P50, r.P90, r.P99, r.Max)
	codes := make([]string, 0, len(r.Status))
	for s := range r.Status {
		codes = append(codes, s)
	}
	slices.Sort(codes)
	for _, s := range codes {
		fmt.Fprintf(w, "status %-9s %d\n", s, r.Status[s])
	}
	if r.FirstError != "" {
		fmt.Fprintf(w, "first error  %s\n", r.FirstError)
	}
	if r.Events > 0 {
		codes := make([]string, 0, len(r.EventStatus))
		for s, n := range r.EventStatus {
			codes = append(codes, fmt.Sprintf("%s ×%d", s, n))
		}
		slices.Sort(codes)
		fmt.Fprintf(w, "events       %d posted to /v1/events in batches of %d: %s\n", r.Events, eventBatch, strings.Join(codes, ", "))
	}
}

// loopbackURL checks that raw is an http URL whose host resolves only to
// loopback addresses and returns the recommend endpoint.
func loopbackURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", usagef("--url %q: want http://HOST:PORT", raw)
	}
	host := u.Hostname()
	ips, err := net.LookupIP(host)
	if err != nil {
		return "", fmt.Errorf("--url: %w", err)
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return "", usagef("--url %s: %s is not a loopback address; loadtest only loads servers on this machine", raw, ip)
		}
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/recommend"
	}
	return u.String(), nil
}
