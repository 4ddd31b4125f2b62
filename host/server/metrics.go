package server

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// bucketBounds are the upper bounds, in seconds, of the latency histograms.
var bucketBounds = []float64{0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

// histogram is a Prometheus histogram with fixed buckets, safe for
// concurrent use.
type histogram struct {
	counts [15]atomic.Uint64 // one per bound, then +Inf
	sumNs  atomic.Uint64
}

func (h *histogram) observe(seconds float64) {
	i := sort.SearchFloat64s(bucketBounds, seconds)
	h.counts[i].Add(1)
	h.sumNs.Add(uint64(math.Max(0, seconds) * 1e9))
}

// write prints the histogram's series; labels is "" or `k="v",`.
func (h *histogram) write(w io.Writer, name, labels string) {
	var cum uint64
	for i, b := range bucketBounds {
		cum += h.counts[i].Load()
		fmt.Fprintf(w, "%s_bucket{%sle=\"%s\"} %d\n", name, labels, strconv.FormatFloat(b, 'g', -1, 64), cum)
	}
	cum += h.counts[len(bucketBounds)].Load()
	fmt.Fprintf(w, "%s_bucket{%sle=\"+Inf\"} %d\n", name, labels, cum)
	l := ""
	if labels != "" {
		l = "{" + labels[:len(labels)-1] + "}"
	}
	fmt.Fprintf(w, "%s_sum%s %g\n", name, l, float64(h.sumNs.Load())/1e9)
	fmt.Fprintf(w, "%s_count%s %d\n", name, l, cum)
}

// metrics holds the server's counters; /metrics prints them in the
// Prometheus text exposition format (version 0.0.4).
type metrics struct {
	mu       sync.Mutex
	requests map[int]*atomic.Uint64 // by HTTP status
	stages   map[string]*histogram  // by pipeline stage
	reloads  map[string]*atomic.Uint64

	latency         histogram
	abandoned       atomic.Int64 // calls answered at the deadline, still running
	traps           atomic.Uint64
	timeouts        atomic.Uint64
	retries         atomic.Uint64
	waits           atomic.Uint64
	replacements    atomic.Uint64
	replaceFailures atomic.Uint64
}

func newMetrics() *metrics {
	return &metrics{requests: map[int]*atomic.Uint64{}, stages: map[string]*histogram{}, reloads: map[string]*atomic.Uint64{}}
}

func (m *metrics) request(status int) { count(&m.mu, m.requests, status) }

func (m *metrics) reload(result string) { count(&m.mu, m.reloads, result) }

// count adds one to the counter of key in counters, creating it under mu.
func count[K comparable](mu *sync.Mutex, counters map[K]*atomic.Uint64, key K) {
	mu.Lock()
	c := counters[key]
	if c == nil {
		c = new(atomic.Uint64)
		counters[key] = c
	}
	mu.Unlock()
	c.Add(1)
}

func (m *metrics) stage(name string, seconds float64) {
	m.mu.Lock()
	h := m.stages[name]
	if h == nil {
		h = new(histogram)
		m.stages[name] = h
	}
	m.mu.Unlock()
	h.observe(seconds)
}

func (m *metrics) reloadCount(result string) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c := m.reloads[result]; c != nil {
		return c.Load()
	}
	return 0
}

// write prints every metric. g is the current generation or nil;
// refused says the last read of the bundle file was refused.
func (m *metrics) write(w io.Writer, g *generation, ready, refused bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fmt.Fprintln(w, "# HELP edgerec_requests_total Recommend requests answered, by HTTP status code.")
	fmt.Fprintln(w, "# TYPE edgerec_requests_total counter")
	for _, c := range slices.Sorted(maps.Keys(m.requests)) {
		fmt.Fprintf(w, "edgerec_requests_total{code=\"%d\"} %d\n", c, m.requests[c].Load())
	}
	fmt.Fprintln(w, "# HELP edgerec_request_duration_seconds Time to answer a recommend request, from its arrival to the response written.")
	fmt.Fprintln(w, "# TYPE edgerec_request_duration_seconds histogram")
	m.latency.write(w, "edgerec_request_duration_seconds", "")
	fmt.Fprintln(w, "# HELP edgerec_stage_duration_seconds Time of each pipeline stage inside the module, as the module reports it.")
	fmt.Fprintln(w, "# TYPE edgerec_stage_duration_seconds histogram")
	for _, n := range slices.Sorted(maps.Keys(m.stages)) {
		m.stages[n].write(w, "edgerec_stage_duration_seconds", fmt.Sprintf("stage=\"%s\",", labelValue(n)))
	}
	counter := func(name, help string, v uint64) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", name, help, name, name, v)
	}
	counter("edgerec_traps_total", "Module calls that trapped (crash, out of memory, or cut at the deadline); the instance was replaced.", m.traps.Load())
	counter("edgerec_timeouts_total", "Module calls cut at the request deadline (also counted as traps).", m.timeouts.Load())
	counter("edgerec_retries_total", "Requests retried on another instance after a trap.", m.retries.Load())
	counter("edgerec_pool_waits_total", "Requests that found no idle instance and waited for one.", m.waits.Load())
	counter("edgerec_instance_replacements_total", "Instances created to replace a trapped one.", m.replacements.Load())
	counter("edgerec_instance_replacement_failures_total", "Failed attempts to create a replacement instance.", m.replaceFailures.Load())
	fmt.Fprintln(w, "# HELP edgerec_bundle_reloads_total Bundle loads, by result: ok (swapped in), unchanged (same bytes), refused (failed verification or loading; the old bundle kept serving), last_known_good (the bundle file was refused at start and the last known-good copy loaded instead).")
	fmt.Fprintln(w, "# TYPE edgerec_bundle_reloads_total counter")
	for _, r := range []string{"ok", "unchanged", "refused", "last_known_good"} {
		var v uint64
		if c := m.reloads[r]; c != nil {
			v = c.Load()
		}
		fmt.Fprintf(w, "edgerec_bundle_reloads_total{result=%q} %d\n", r, v)
	}
	var live, idle int
	var mem uint64
	if g != nil {
		live, idle, mem = g.stats()
	}
	gauge := func(name, help string, v float64) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n%s %g\n", name, help, name, name, v)
	}
	gauge("edgerec_abandoned_calls", "Module calls answered with 504 at the deadline that are still running in their instance (modules that are not interruptible).", float64(m.abandoned.Load()))
	gauge("edgerec_instances", "Module instances of the current bundle: idle, busy or being created.", float64(live))
	gauge("edgerec_instances_idle", "Module instances of the current bundle waiting for a request.", float64(idle))
	gauge("edgerec_instance_memory_bytes", "Largest linear memory of an instance of the current bundle.", float64(mem))
	r := 0.0
	if ready {
		r = 1
	}
	gauge("edgerec_ready", "1 when a bundle is loaded and the server takes requests.", r)
	flag := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	gauge("edgerec_bundle_last_known_good", "1 when the bundle served is the last known-good copy from the state directory, because the bundle file was refused at start.",
		flag(g != nil && g.lastGood.Load()))
	gauge("edgerec_bundle_configured_refused", "1 when the last read of the bundle file was refused (another bundle is served, or none).", flag(refused))
	if g != nil {
		fmt.Fprintln(w, "# HELP edgerec_bundle_info The bundle being served (value 1).")
		fmt.Fprintln(w, "# TYPE edgerec_bundle_info gauge")
		fmt.Fprintf(w, "edgerec_bundle_info{version=\"%s\",sha256=\"%s\",signature=\"%s\",source=\"%s\"} 1\n", labelValue(logField(g.summary.Version)), g.digest, g.sig.Status, g.source())
		gauge("edgerec_bundle_loaded_timestamp_seconds", "When the current bundle was swapped in (Unix seconds).", float64(g.loaded.UnixMilli())/1000)
		gauge("edgerec_bundle_items", "Items in the current bundle.", float64(g.summary.Items))
	}
}

// labelValue escapes a Prometheus label value: backslash, double quote and
// line feed.
func labelValue(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}
