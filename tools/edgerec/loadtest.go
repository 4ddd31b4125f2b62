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
	"sync"
	"time"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle"
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
}

func runLoadtest(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("loadtest", "loadtest --url URL [--concurrency C] [--duration D] [--json] [flags]", `
Send recommend requests to an edgerec serve on this machine from C
concurrent clients for a duration D, and report requests, errors (any
status but 200, or a transport error), requests per second and latency
percentiles. Only loopback addresses are accepted: this is a local
measuring tool, not a way to load someone else's server.

Requests: with --bundle, each carries a history of --history items drawn
from the bundle's catalog (seeded), like a real user's; with --body, the
JSON file as is; otherwise {"k": K}.`, stderr)
	target := fs.String("url", "", "server base URL, e.g. http://127.0.0.1:8080 (a path of /v1/recommend is added when missing)")
	conc := fs.Int("concurrency", 4, "concurrent clients")
	dur := fs.Duration("duration", 10*time.Second, "how long to send requests")
	asJSON := fs.Bool("json", false, "print JSON: requests, errors, rps, p50_ms, p90_ms, p99_ms, max_ms, status")
	bundlePath := fs.String("bundle", "", "draw request histories from this bundle's item ids")
	hist := fs.Int("history", 10, "history items per request (with --bundle)")
	k := fs.Int("k", 20, "items asked per request")
	bodyPath := fs.String("body", "", "send this JSON request body instead")
	msgpack := fs.Bool("msgpack", false, "send and receive msgpack instead of JSON")
	seed := fs.Uint64("seed", 1, "seed of the request histories")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "url"); err != nil {
		return err
	}
	switch {
	case *conc < 1 || *conc > 4096:
		return usagef("--concurrency %d out of range [1, 4096]", *conc)
	case *dur <= 0 || *dur > 24*time.Hour:
		return usagef("--duration %v out of range (0, 24h]", *dur)
	case *k < 1 || *k > api.MaxK:
		return usagef("--k %d out of range [1, %d]", *k, api.MaxK)
	case *hist < 0 || *hist > api.MaxHistory:
		return usagef("--history %d out of range [0, %d]", *hist, api.MaxHistory)
	case *bodyPath != "" && *bundlePath != "":
		return usagef("give --body or --bundle, not both")
	}
	endpoint, err := loopbackURL(*target)
	if err != nil {
		return err
	}

	// The request bodies: a fixed set, cycled through by the clients.
	var bodies [][]byte
	encode := func(r *api.Request) ([]byte, error) {
		if *msgpack {
			return api.EncodeRequest(r)
		}
		return json.Marshal(r)
	}
	switch {
	case *bodyPath != "":
		b, err := os.ReadFile(*bodyPath)
		if err != nil {
			return err
		}
		var r api.Request
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("%s: not a JSON request: %w", *bodyPath, err)
		}
		if b, err = encode(&r); err != nil {
			return err
		}
		bodies = [][]byte{b}
	case *bundlePath != "":
		data, err := readBundleFile(*bundlePath)
		if err != nil {
			return err
		}
		b, err := bundle.Decode(data)
		if err != nil {
			return fmt.Errorf("%s: %w", *bundlePath, err)
		}
		ids := b.Items.IDs
		if len(ids) == 0 {
			return fmt.Errorf("%s has no items", *bundlePath)
		}
		rng := rand.New(rand.NewPCG(*seed, 3))
		for range 1000 {
			r := &api.Request{K: *k}
			for range *hist {
				r.History = append(r.History, api.Event{Item: ids[rng.IntN(len(ids))]})
			}
			body, err := encode(r)
			if err != nil {
				return err
			}
			bodies = append(bodies, body)
		}
	default:
		b, err := encode(&api.Request{K: *k})
		if err != nil {
			return err
		}
		bodies = [][]byte{b}
	}
	ctype := "application/json"
	if *msgpack {
		ctype = "application/msgpack"
	}

	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: *conc, MaxIdleConnsPerHost: *conc, IdleConnTimeout: time.Minute, DisableCompression: true}}
	ctx, cancel := context.WithTimeout(context.Background(), *dur)
	defer cancel()
	type result struct {
		lat      []time.Duration
		status   map[string]int
		errors   int
		firstErr string
	}
	results := make([]result, *conc)
	var wg sync.WaitGroup
	start := time.Now()
	for c := range *conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := &results[c]
			res.status = map[string]int{}
			for i := c; ctx.Err() == nil; i += *conc {
				req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, endpoint, bytes.NewReader(bodies[i%len(bodies)]))
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
					continue
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				res.lat = append(res.lat, time.Since(t0))
				res.status[fmt.Sprint(resp.StatusCode)]++
				if resp.StatusCode != http.StatusOK || err != nil {
					res.errors++
					if res.firstErr == "" {
						res.firstErr = fmt.Sprintf("status %d: %s", resp.StatusCode, bytes.TrimSpace(body))
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	rep := loadReport{URL: endpoint, Concurrency: *conc, DurationS: elapsed.Seconds(), Status: map[string]int{}}
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
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "url          %s\nconcurrency  %d for %.1f s\nrequests     %d (%d errors)\nrps          %.1f\nlatency ms   p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n",
			rep.URL, rep.Concurrency, rep.DurationS, rep.Requests, rep.Errors, rep.RPS, rep.P50, rep.P90, rep.P99, rep.Max)
		codes := make([]string, 0, len(rep.Status))
		for s := range rep.Status {
			codes = append(codes, s)
		}
		slices.Sort(codes)
		for _, s := range codes {
			fmt.Fprintf(stdout, "status %-9s %d\n", s, rep.Status[s])
		}
		if rep.FirstError != "" {
			fmt.Fprintf(stdout, "first error  %s\n", rep.FirstError)
		}
	}
	if rep.Status["200"] == 0 {
		return fmt.Errorf("no request was answered with 200: %s", rep.FirstError)
	}
	return nil
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
