package server

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/wire"
	"github.com/edgerec/edgerec/host/events"
)

// Defaults of the event log (Config.EventQueue, Config.EventQueueBytes).
const (
	// DefaultEventQueue bounds the entries waiting for the writer: a
	// served list or a posted batch each.
	DefaultEventQueue = 4096
	// DefaultEventQueueBytes bounds the bytes they hold.
	DefaultEventQueueBytes = 32 << 20
	// eventDecoders bounds the POST /v1/events bodies decoded at once, so
	// that the memory decoding takes is bounded whatever the number of
	// clients (a batch decodes to a few times its MaxBatchBytes).
	eventDecoders = 4
	// writeBatch is the most events the writer hands the sink at once.
	writeBatch = 1024
	// tickEvery is how often the writer lets the sink close old files.
	tickEvery = time.Second
)

// eventEntry is what waits in the queue: a list served, to become an
// impression in the writer, or a decoded batch.
type eventEntry struct {
	served *served
	batch  []events.Event
	size   int64 // bytes held, for the queue's byte bound
}

// served is what the writer needs of one answered request: the work of
// decoding it is the writer's, not the request's.
type served struct {
	at time.Time
	id string
	// req is the msgpack request as the module received it (nil when the
	// host decoded it: the JSON path fills user, region and device).
	req                  []byte
	user, region, device string
	// out is the msgpack answer; resp the decoded one (JSON path).
	out  []byte
	resp *api.Response
}

// eventLog is the node's bounded event queue and its one writer
// goroutine: recommend and POST /v1/events only ever offer to it, never
// wait for it (host/README.md, "Events").
type eventLog struct {
	sink          events.Sink
	log           *slog.Logger
	impressions   bool
	ch            chan eventEntry
	maxBytes      int64
	bytes         atomic.Int64
	stopped       atomic.Bool
	stop          chan struct{}
	done          chan struct{}
	decoders      chan struct{}
	received      [2]atomic.Uint64 // by origin: serve, client
	dropped       [2]atomic.Uint64
	written       atomic.Uint64
	writeErrors   atomic.Uint64
	malformed     atomic.Uint64 // served lists the writer could not decode
	batches       sync.Map      // HTTP status → *atomic.Uint64
	closeOnce     sync.Once
	closeErr      error
	lastErrLogged atomic.Int64 // Unix seconds of the last write error logged
}

const (
	originServe = iota
	originClient
)

func newEventLog(cfg Config, log *slog.Logger) *eventLog {
	n := cfg.EventQueue
	if n <= 0 {
		n = DefaultEventQueue
	}
	b := cfg.EventQueueBytes
	if b <= 0 {
		b = DefaultEventQueueBytes
	}
	l := &eventLog{sink: cfg.Events, log: log, impressions: !cfg.NoImpressions, ch: make(chan eventEntry, n),
		maxBytes: b, stop: make(chan struct{}), done: make(chan struct{}), decoders: make(chan struct{}, eventDecoders)}
	go l.run()
	return l
}

// offer queues e unless the queue is full (in entries or bytes) or the log
// stopped, and says whether it did. It never blocks.
func (l *eventLog) offer(e eventEntry, origin, n int) bool {
	if l.stopped.Load() || l.bytes.Add(e.size) > l.maxBytes {
		l.bytes.Add(-e.size)
		l.dropped[origin].Add(uint64(n))
		return false
	}
	select {
	case l.ch <- e:
		l.received[origin].Add(uint64(n))
		return true
	default:
		l.bytes.Add(-e.size)
		l.dropped[origin].Add(uint64(n))
		return false
	}
}

// served queues the impression of an answered request.
func (l *eventLog) served(sv *served) {
	size := int64(len(sv.req)+len(sv.out)) + 256
	if sv.resp != nil {
		size += int64(len(sv.resp.Items)) * 64
	}
	l.offer(eventEntry{served: sv, size: size}, originServe, 1)
}

// run is the writer: it turns entries into events and hands them to the
// sink in batches, and ticks the sink's rotation.
func (l *eventLog) run() {
	defer close(l.done)
	tick := time.NewTicker(tickEvery)
	defer tick.Stop()
	var buf []events.Event
	take := func(e eventEntry) {
		l.bytes.Add(-e.size)
		if e.served != nil {
			if ev, ok := l.impression(e.served); ok {
				buf = append(buf, ev)
			}
		} else {
			buf = append(buf, e.batch...)
		}
	}
	flush := func() {
		if len(buf) == 0 {
			return
		}
		if err := l.sink.Write(buf); err != nil {
			l.writeErrors.Add(uint64(len(buf)))
			l.logError("writing events failed; they are lost", err)
		} else {
			l.written.Add(uint64(len(buf)))
		}
		clear(buf)
		buf = buf[:0]
	}
	for {
		select {
		case e := <-l.ch:
			take(e)
			// Take what is queued already, then write: one sink call per
			// burst rather than per request.
			for len(buf) < writeBatch {
				select {
				case e := <-l.ch:
					take(e)
					continue
				default:
				}
				break
			}
			flush()
		case now := <-tick.C:
			if err := l.sink.Tick(now); err != nil {
				l.logError("closing an events file failed", err)
			}
		case <-l.stop:
			for {
				select {
				case e := <-l.ch:
					take(e)
					if len(buf) >= writeBatch {
						flush()
					}
					continue
				default:
				}
				break
			}
			flush()
			l.closeErr = l.sink.Close()
			return
		}
	}
}

// logError logs a sink error at most once a second.
func (l *eventLog) logError(msg string, err error) {
	now := time.Now().Unix()
	if last := l.lastErrLogged.Load(); last != now && l.lastErrLogged.CompareAndSwap(last, now) {
		l.log.Error(msg, "err", err)
	}
}

// impressionRequest is what an impression takes from a msgpack request;
// the decoder skips every other field without allocating for it.
type impressionRequest struct {
	UserID  string `msgpack:"user_id"`
	Context struct {
		Region string `msgpack:"region"`
		Device string `msgpack:"device"`
	} `msgpack:"context"`
}

// impression builds the impression event of an answered request.
func (l *eventLog) impression(sv *served) (events.Event, bool) {
	resp := sv.resp
	if resp == nil {
		var err error
		if resp, err = api.DecodeResponse(sv.out); err != nil {
			l.malformed.Add(1)
			return events.Event{}, false
		}
	}
	if sv.req != nil {
		var r impressionRequest
		if err := wire.UnmarshalLimit(sv.req, &r, api.MaxListLen); err != nil {
			l.malformed.Add(1)
			return events.Event{}, false
		}
		sv.user, sv.region, sv.device = r.UserID, r.Context.Region, r.Context.Device
	}
	if len(resp.Items) == 0 {
		return events.Event{}, false // nothing was shown
	}
	id := resp.RequestID
	if id == "" {
		id = sv.id
	}
	e := events.Event{Type: events.TypeImpression, RequestID: id, TimeMs: sv.at.UnixMilli(),
		User: fit(sv.user), BundleVersion: fit(resp.BundleVersion), Arm: fit(resp.Arm),
		Region: fit(sv.region), Device: fit(sv.device), Origin: events.OriginServe,
		Items: make([]events.Shown, min(len(resp.Items), events.MaxItems))}
	for i := range e.Items {
		it := &resp.Items[i]
		e.Items[i] = events.Shown{Item: fit(it.ID), Position: int32(i + 1), Source: it.Source, Score: it.Score}
	}
	return e, true
}

// fit makes a string from a request fit the schema (EVENTS.md §4): cut to
// MaxString bytes on a character boundary, invalid UTF-8 and control
// characters replaced. The module accepted the request; the events file
// must still hold only what its readers expect.
func fit(s string) string {
	if len(s) > events.MaxString {
		cut := events.MaxString
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.ContainsFunc(s, isControl) {
		s = strings.Map(func(r rune) rune {
			if isControl(r) {
				return '\uFFFD'
			}
			return r
		}, s)
	}
	// Replacement characters may have grown it past the limit again.
	for len(s) > events.MaxString {
		_, n := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-n]
	}
	return s
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// close stops taking entries, writes what is queued and closes the sink.
func (l *eventLog) close() error {
	l.closeOnce.Do(func() {
		l.stopped.Store(true)
		close(l.stop)
		<-l.done
	})
	return l.closeErr
}

// batchStatus counts an answer of POST /v1/events.
func (l *eventLog) batchStatus(code int) {
	c, _ := l.batches.LoadOrStore(code, new(atomic.Uint64))
	c.(*atomic.Uint64).Add(1)
}

// postEvents serves POST /v1/events.
func (s *Server) postEvents(w http.ResponseWriter, r *http.Request) {
	l := s.events
	if l == nil {
		writeError(w, http.StatusNotFound, "events are off: start edgerec serve with --events DIR")
		return
	}
	status := s.acceptEvents(w, r, l)
	l.batchStatus(status)
}

func (s *Server) acceptEvents(w http.ResponseWriter, r *http.Request, l *eventLog) int {
	fail := func(status int, msg string) int {
		writeError(w, status, logField(msg))
		return status
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "" || ct == "application/x-www-form-urlencoded" || ct == "text/plain" {
		// No type, curl -d's default, or a browser's sendBeacon of a
		// string: read as JSON.
		ct = contentJSON
	}
	if ct != contentJSON && ct != contentMsgpack && ct != "application/x-msgpack" {
		return fail(http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q: send %s or %s", ct, contentJSON, contentMsgpack))
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, events.MaxBatchBytes))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("batch over the limit of %d bytes; send several batches", events.MaxBatchBytes))
		}
		return fail(http.StatusBadRequest, "reading the batch: "+err.Error())
	}
	// Decoding holds a few times the body's size: a bounded number at
	// once, and the others are told to come back.
	select {
	case l.decoders <- struct{}{}:
	default:
		w.Header().Set("Retry-After", "1")
		return fail(http.StatusServiceUnavailable, "too many event batches at once; retry in a second")
	}
	now := time.Now()
	var evs []events.Event
	if ct == contentJSON {
		evs, err = events.DecodeJSON(body, now)
	} else {
		evs, err = events.DecodeMsgpack(body, now)
	}
	<-l.decoders
	if err != nil {
		return fail(http.StatusBadRequest, err.Error())
	}
	size := int64(len(body)) * 2
	if !l.offer(eventEntry{batch: evs, size: size}, originClient, len(evs)) {
		w.Header().Set("Retry-After", "1")
		return fail(http.StatusServiceUnavailable, "the event queue is full; retry in a second")
	}
	writeJSON(w, http.StatusAccepted, map[string]int{"accepted": len(evs)})
	return http.StatusAccepted
}

// writeMetrics prints the event log's series.
func (l *eventLog) writeMetrics(w io.Writer) {
	byOrigin := func(name, help string, v *[2]atomic.Uint64) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n", name, help, name)
		for i, o := range []string{events.OriginServe, events.OriginClient} {
			fmt.Fprintf(w, "%s{origin=%q} %d\n", name, o, v[i].Load())
		}
	}
	byOrigin("edgerec_events_received_total", "Events queued for writing, by origin: serve (lists the node served), client (POST /v1/events).", &l.received)
	byOrigin("edgerec_events_dropped_total", "Events dropped because the queue was full, by origin (a refused batch is answered 503).", &l.dropped)
	counter := func(name, help string, v uint64) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", name, help, name, name, v)
	}
	counter("edgerec_events_written_total", "Events handed to the storage.", l.written.Load())
	counter("edgerec_events_write_errors_total", "Events lost because the storage failed to write them.", l.writeErrors.Load())
	counter("edgerec_events_unlogged_total", "Served lists whose answer the writer could not decode (no impression logged).", l.malformed.Load())
	fmt.Fprintln(w, "# HELP edgerec_event_batches_total Answers of POST /v1/events, by HTTP status code.")
	fmt.Fprintln(w, "# TYPE edgerec_event_batches_total counter")
	var codes []int
	l.batches.Range(func(k, _ any) bool { codes = append(codes, k.(int)); return true })
	slices.Sort(codes)
	for _, c := range codes {
		v, _ := l.batches.Load(c)
		fmt.Fprintf(w, "edgerec_event_batches_total{code=\"%d\"} %d\n", c, v.(*atomic.Uint64).Load())
	}
	gauge := func(name, help string, v float64) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n%s %g\n", name, help, name, name, v)
	}
	gauge("edgerec_events_queue_entries", "Entries (served lists, posted batches) waiting for the events writer.", float64(len(l.ch)))
	gauge("edgerec_events_queue_capacity", "The most entries the events queue holds.", float64(cap(l.ch)))
	gauge("edgerec_events_queue_bytes", "Bytes held by the entries waiting for the events writer.", float64(l.bytes.Load()))
	gauge("edgerec_events_queue_max_bytes", "The most bytes the events queue holds.", float64(l.maxBytes))
}

// EventFlags are the event log's flags of `edgerec serve` (Register), and
// what they open (Sink, Apply).
type EventFlags struct {
	Dir           string
	Format        string
	RotateBytes   int64
	RotateAge     time.Duration
	NoImpressions bool
	Queue         int
}

// Register adds the flags to fs.
func (f *EventFlags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.Dir, "events", "", "store events under this directory: an impression per list served, and the events clients POST to /v1/events (day-partitioned files, host/events/EVENTS.md); \"-\": NDJSON on standard output; unset: events off, and /v1/events answers 404")
	fs.StringVar(&f.Format, "events-format", events.FormatParquet, "format of the event files: parquet (zstd; DuckDB, Spark, pandas read them as they are) or ndjson")
	fs.Int64Var(&f.RotateBytes, "events-rotate-bytes", events.DefaultRotateBytes, "close an event file and start the next once it holds about this many bytes")
	fs.DurationVar(&f.RotateAge, "events-rotate-age", events.DefaultRotateAge, "close an event file and start the next this long after it was opened")
	fs.BoolVar(&f.NoImpressions, "no-impressions", false, "do not log the lists served as impressions (with --events, /v1/events still takes clients' events)")
	fs.IntVar(&f.Queue, "events-queue", DefaultEventQueue, "events waiting for the writer (served lists and posted batches); beyond it they are dropped and counted, never waited for")
}

// Check reports a flag out of range.
func (f *EventFlags) Check() error {
	switch {
	case f.Format != events.FormatParquet && f.Format != events.FormatNDJSON:
		return fmt.Errorf("--events-format %q: want parquet or ndjson", f.Format)
	case f.RotateBytes < 1<<10:
		return fmt.Errorf("--events-rotate-bytes %d: want at least 1024", f.RotateBytes)
	case f.RotateAge < time.Second:
		return fmt.Errorf("--events-rotate-age %v: want at least 1s", f.RotateAge)
	case f.Queue < 1 || f.Queue > 1<<20:
		return fmt.Errorf("--events-queue %d out of range [1, %d]", f.Queue, 1<<20)
	}
	return nil
}

// Apply opens the sink the flags name (none without --events) and sets
// cfg's event fields; the caller closes nothing: Server.Close closes the
// sink.
func (f *EventFlags) Apply(cfg *Config, stdout io.Writer) error {
	if err := f.Check(); err != nil {
		return err
	}
	cfg.NoImpressions, cfg.EventQueue = f.NoImpressions, f.Queue
	switch f.Dir {
	case "":
		return nil
	case "-":
		if stdout == nil {
			stdout = os.Stdout
		}
		cfg.Events = events.NewNDJSON(stdout)
		return nil
	}
	d, err := events.OpenDir(f.Dir, events.DirOptions{Format: f.Format, RotateBytes: f.RotateBytes, RotateAge: f.RotateAge})
	if err != nil {
		return err
	}
	cfg.Events = d
	return nil
}
