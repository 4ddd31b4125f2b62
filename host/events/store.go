package events

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// Sink receives events in order from one writer goroutine. Write may be
// called with events of any days; Close writes out what is buffered.
type Sink interface {
	// Write stores evs; the sink does not keep the slice.
	Write(evs []Event) error
	// Tick lets the sink close files that are older than their age
	// limit; it is called now and then between writes.
	Tick(now time.Time) error
	Close() error
}

// Formats of a Dir sink.
const (
	FormatParquet = "parquet"
	FormatNDJSON  = "ndjson"
)

// Defaults of DirOptions.
const (
	DefaultRotateBytes = 64 << 20
	DefaultRotateAge   = time.Hour
	// rowGroupRows bounds the rows a Parquet writer buffers before it
	// writes them out as a row group, and so its memory.
	rowGroupRows = 8192
	// maxOpen bounds the files open at once (one per day that events
	// arrive for; MaxAge and MaxSkew bound the days).
	maxOpen = 8
)

// MetadataVersion is the key of the schema version in a Parquet file's
// key-value metadata (EVENTS.md §3).
const MetadataVersion = "edgerec.events.version"

// DirOptions configure a Dir sink.
type DirOptions struct {
	// Format is FormatParquet (the default) or FormatNDJSON.
	Format string
	// RotateBytes closes a file once it holds about this many bytes; 0
	// means DefaultRotateBytes.
	RotateBytes int64
	// RotateAge closes a file this long after it was opened; 0 means
	// DefaultRotateAge.
	RotateAge time.Duration
}

// Dir writes events to day partitions under a directory (EVENTS.md §3):
// DIR/day=YYYY-MM-DD/events-*.parquet (or .ndjson), each written under a
// temporary name and renamed when it is closed, so that no reader sees a
// torn file. Create it with OpenDir. Its methods are safe for concurrent
// use, but it is meant for one writer.
type Dir struct {
	mu     sync.Mutex
	dir    string
	opts   DirOptions
	prefix string // unique per process: files of two writers never collide
	seq    int
	open   map[string]*part // by day
	closed bool
}

// part is one file being written.
type part struct {
	tmp, final string
	f          *os.File
	opened     time.Time
	pq         *parquet.GenericWriter[Event]
	nd         *bufio.Writer
	count      *countingWriter
}

// OpenDir returns a sink writing under dir, which it creates if needed.
func OpenDir(dir string, opts DirOptions) (*Dir, error) {
	switch opts.Format {
	case "":
		opts.Format = FormatParquet
	case FormatParquet, FormatNDJSON:
	default:
		return nil, fmt.Errorf("events format %q: want %q or %q", opts.Format, FormatParquet, FormatNDJSON)
	}
	if opts.RotateBytes <= 0 {
		opts.RotateBytes = DefaultRotateBytes
	}
	if opts.RotateAge <= 0 {
		opts.RotateAge = DefaultRotateAge
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("events directory: %w", err)
	}
	var r [2]byte
	rand.Read(r[:])
	return &Dir{dir: dir, opts: opts, open: map[string]*part{},
		prefix: time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(r[:])}, nil
}

// Write appends evs to the files of their days, opening and rotating
// files as needed.
func (d *Dir) Write(evs []Event) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errors.New("events: write to a closed sink")
	}
	var errs []error
	for start := 0; start < len(evs); {
		// Runs of one day go to one file in one call.
		day := evs[start].Time().Format(time.DateOnly)
		end := start + 1
		for end < len(evs) && evs[end].Time().Format(time.DateOnly) == day {
			end++
		}
		if err := d.write(day, evs[start:end]); err != nil {
			errs = append(errs, err)
		}
		start = end
	}
	return errors.Join(errs...)
}

func (d *Dir) write(day string, evs []Event) error {
	p := d.open[day]
	if p == nil {
		if len(d.open) >= maxOpen {
			// Close the file opened first: its day is most likely over.
			var oldest string
			for k, q := range d.open {
				if oldest == "" || q.opened.Before(d.open[oldest].opened) {
					oldest = k
				}
			}
			if err := d.closePart(oldest); err != nil {
				return err
			}
		}
		var err error
		if p, err = d.newPart(day); err != nil {
			return err
		}
		d.open[day] = p
	}
	if p.pq != nil {
		if _, err := p.pq.Write(evs); err != nil {
			return fmt.Errorf("events: writing %s: %w", p.tmp, err)
		}
	} else {
		enc := json.NewEncoder(p.nd)
		for i := range evs {
			if err := enc.Encode(&evs[i]); err != nil {
				return fmt.Errorf("events: writing %s: %w", p.tmp, err)
			}
		}
	}
	if p.size() >= d.opts.RotateBytes {
		return d.closePart(day)
	}
	return nil
}

func (p *part) size() int64 {
	if p.pq != nil {
		return p.pq.Size()
	}
	return p.count.n + int64(p.nd.Buffered())
}

func (d *Dir) newPart(day string) (*part, error) {
	dir := filepath.Join(d.dir, "day="+day)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	d.seq++
	name := fmt.Sprintf("events-%s-%06d.%s", d.prefix, d.seq, d.opts.Format)
	p := &part{final: filepath.Join(dir, name), tmp: filepath.Join(dir, "."+name+".tmp"), opened: time.Now()}
	f, err := os.OpenFile(p.tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	p.f = f
	p.count = &countingWriter{w: f}
	if d.opts.Format == FormatParquet {
		p.pq = parquet.NewGenericWriter[Event](p.count, parquet.Compression(&zstd.Codec{}),
			parquet.KeyValueMetadata(MetadataVersion, Version), parquet.MaxRowsPerRowGroup(rowGroupRows),
			parquet.CreatedBy("edgerec", Version, ""))
	} else {
		p.nd = bufio.NewWriterSize(p.count, 64<<10)
	}
	return p, nil
}

// closePart finishes the day's file and renames it into place.
func (d *Dir) closePart(day string) error {
	p := d.open[day]
	delete(d.open, day)
	var err error
	if p.pq != nil {
		err = p.pq.Close()
	} else {
		err = p.nd.Flush()
	}
	if err == nil {
		err = p.f.Sync()
	}
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(p.tmp, p.final)
	}
	if err != nil {
		return fmt.Errorf("events: closing %s: %w", p.final, err)
	}
	return nil
}

// Tick closes the files opened more than RotateAge before now.
func (d *Dir) Tick(now time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	for _, day := range slices.Sorted(maps.Keys(d.open)) {
		if now.Sub(d.open[day].opened) >= d.opts.RotateAge {
			errs = append(errs, d.closePart(day))
		}
	}
	return errors.Join(errs...)
}

// Close closes every open file; later writes fail.
func (d *Dir) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	var errs []error
	for _, day := range slices.Sorted(maps.Keys(d.open)) {
		errs = append(errs, d.closePart(day))
	}
	return errors.Join(errs...)
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// NDJSON writes events as JSON lines to w (EVENTS.md §3): for piping.
type NDJSON struct {
	mu  sync.Mutex
	w   *bufio.Writer
	enc *json.Encoder
}

// NewNDJSON returns a sink writing JSON lines to w, flushed after each
// Write.
func NewNDJSON(w io.Writer) *NDJSON {
	b := bufio.NewWriter(w)
	return &NDJSON{w: b, enc: json.NewEncoder(b)}
}

// Write writes one line per event.
func (n *NDJSON) Write(evs []Event) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i := range evs {
		if err := n.enc.Encode(&evs[i]); err != nil {
			return err
		}
	}
	return n.w.Flush()
}

// Tick does nothing: lines are flushed as they are written.
func (n *NDJSON) Tick(time.Time) error { return nil }

// Close flushes.
func (n *NDJSON) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.w.Flush()
}
