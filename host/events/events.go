// Package events defines edgerec's event schema — what users were shown
// (impressions) and what they took or skipped — with its validation, its
// decoders for the batches clients post, and its storage: day-partitioned,
// rotated Parquet files that DuckDB, Spark or pandas read as they are, or
// NDJSON for piping.
//
// The schema is versioned like the bundle (major.minor, Version): a
// reader refuses a batch of another major version and ignores the fields
// a newer minor version adds. EVENTS.md, beside this file, is the
// specification; the section numbers in comments refer to it.
//
// Every event is one Event, whatever its type, and one row of the
// storage: a wide table whose columns a type does not use are empty
// (EVENTS.md §3). Impressions join to takes and skips by request_id, the
// id the recommend response carried (api.Response.RequestID).
package events

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/edgerec/edgerec/core/api"
)

// The schema's version (EVENTS.md §1).
const (
	Major = 1
	Minor = 0
)

// Version is the schema version this package writes, "major.minor".
var Version = strconv.Itoa(Major) + "." + strconv.Itoa(Minor)

// Event types (EVENTS.md §2).
const (
	// TypeImpression: a list was shown (Items, with positions, sources and
	// scores).
	TypeImpression = "impression"
	// TypeTake: the user took an item (Kind: watch, buy or click).
	TypeTake = "take"
	// TypeSkip: the user saw an item and moved on (DwellMs: how long it
	// was in view, when the client knows).
	TypeSkip = "skip"
)

// Kinds of take (Event.Kind, EVENTS.md §2.2).
const (
	KindWatch = "watch"
	KindBuy   = "buy"
	KindClick = "click"
)

// Origins of an event (Event.Origin): who wrote it. Set by the node, never
// by a client, so that a report can tell the node's own log from posted
// events (EVENTS.md §2.4).
const (
	// OriginServe: the node logged the impression of a list it served.
	OriginServe = "serve"
	// OriginClient: a client posted the event to /v1/events.
	OriginClient = "client"
)

// Limits on events and batches (EVENTS.md §4). Larger input is refused,
// never truncated.
const (
	// MaxBatchBytes is the largest batch body accepted.
	MaxBatchBytes = 256 << 10
	// MaxBatchEvents is the largest number of events in a batch.
	MaxBatchEvents = 1000
	// MaxItems is the longest list an impression may show (api.MaxK).
	MaxItems = api.MaxK
	// MaxString is the longest string field in bytes, other than the
	// request id (api.MaxRequestIDLen).
	MaxString = 128
	// MaxDwell is the longest dwell time, in milliseconds (a day).
	MaxDwell = 24 * 3600 * 1000
	// MaxAge is how far before it is received an event's time may lie: a
	// client that kept events offline may send them this late.
	MaxAge = 30 * 24 * time.Hour
	// MaxSkew is how far after it is received an event's time may lie
	// (client clocks run fast).
	MaxSkew = 24 * time.Hour
)

// Event is one event, and one row of the storage (EVENTS.md §3). The
// struct tags name the JSON and msgpack fields and the Parquet columns.
type Event struct {
	// Type is TypeImpression, TypeTake or TypeSkip.
	Type string `json:"type" msgpack:"type" parquet:"type,dict"`
	// RequestID is the id of the recommend response the event is about
	// (api.Response.RequestID): required for an impression; a take or a
	// skip without one is about an item the user found elsewhere.
	RequestID string `json:"request_id,omitempty" msgpack:"request_id,omitempty" parquet:"request_id"`
	// TimeMs is when the event happened, Unix milliseconds (UTC); 0 in a
	// posted event means when it was received.
	TimeMs int64 `json:"time_ms,omitempty" msgpack:"time_ms,omitempty" parquet:"time,timestamp(millisecond)"`
	// User is the user id, or an anonymous session key the client keeps;
	// empty when neither is known.
	User string `json:"user,omitempty" msgpack:"user,omitempty" parquet:"user"`
	// BundleVersion and Arm are the response's (impressions).
	BundleVersion string `json:"bundle_version,omitempty" msgpack:"bundle_version,omitempty" parquet:"bundle_version,dict"`
	Arm           string `json:"arm,omitempty" msgpack:"arm,omitempty" parquet:"arm,dict"`
	// Region and Device are the request's context (impressions); the
	// user's age, gender and attributes are not logged (EVENTS.md §5).
	Region string `json:"region,omitempty" msgpack:"region,omitempty" parquet:"region,dict"`
	Device string `json:"device,omitempty" msgpack:"device,omitempty" parquet:"device,dict"`
	// Items is the list shown, best first (impressions only).
	Items []Shown `json:"items,omitempty" msgpack:"items,omitempty" parquet:"items,list"`
	// Item is the item taken or skipped (takes and skips only).
	Item string `json:"item,omitempty" msgpack:"item,omitempty" parquet:"item"`
	// Kind is the kind of take: KindWatch, KindBuy or KindClick (takes
	// only).
	Kind string `json:"kind,omitempty" msgpack:"kind,omitempty" parquet:"kind,dict"`
	// Position is where Item was shown, 1 for the first; 0 when unknown
	// (takes and skips).
	Position int32 `json:"position,omitempty" msgpack:"position,omitempty" parquet:"position"`
	// DwellMs is how long the item was in view or played, in
	// milliseconds; 0 when unknown (takes and skips).
	DwellMs int64 `json:"dwell_ms,omitempty" msgpack:"dwell_ms,omitempty" parquet:"dwell_ms"`
	// Origin is OriginServe or OriginClient, set by the node.
	Origin string `json:"origin,omitempty" msgpack:"origin,omitempty" parquet:"origin,dict"`
}

// Shown is one item of an impression's list.
type Shown struct {
	Item string `json:"item" msgpack:"item" parquet:"item"`
	// Position is 1 for the first item shown.
	Position int32 `json:"position" msgpack:"position" parquet:"position"`
	// Source is the candidate source that proposed the item (api.Source
	// names).
	Source string  `json:"source,omitempty" msgpack:"source,omitempty" parquet:"source,dict"`
	Score  float32 `json:"score" msgpack:"score" parquet:"score"`
}

// Time returns the event's time.
func (e *Event) Time() time.Time { return time.UnixMilli(e.TimeMs).UTC() }

// ValidationError reports an event that breaks the schema: which event of
// its batch, which field, and why. Typically this indicates a client bug.
type ValidationError struct {
	Index  int    // the event's index in its batch
	Field  string // the field at fault, as the JSON names it
	Reason string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("events[%d].%s: %s", e.Index, e.Field, e.Reason)
}

// ErrVersion is matched (errors.Is) by the error for a batch of another
// major version.
var ErrVersion = errors.New("unsupported events schema version")

// Validate checks e against the schema (EVENTS.md §4), given when it was
// received, and reports the first field at fault as a *ValidationError
// with Index 0.
func (e *Event) Validate(received time.Time) error {
	bad := func(field, format string, args ...any) error {
		return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	if e.RequestID != "" && !api.ValidRequestID(e.RequestID) {
		return bad("request_id", "want 1 to %d printable ASCII characters without spaces", api.MaxRequestIDLen)
	}
	for _, f := range []struct{ name, v string }{
		{"user", e.User}, {"bundle_version", e.BundleVersion}, {"arm", e.Arm}, {"region", e.Region},
		{"device", e.Device}, {"item", e.Item},
	} {
		if err := checkString(f.v); err != "" {
			return bad(f.name, "%s", err)
		}
	}
	if e.TimeMs != 0 {
		t := e.Time()
		if t.Before(received.Add(-MaxAge)) || t.After(received.Add(MaxSkew)) {
			return bad("time_ms", "%d (%s) is not within %v before and %v after now (%s)", e.TimeMs,
				t.Format(time.RFC3339), MaxAge, MaxSkew, received.UTC().Format(time.RFC3339))
		}
	}
	switch e.Type {
	case TypeImpression:
		switch {
		case e.RequestID == "":
			return bad("request_id", "an impression needs the request id of the response it shows")
		case len(e.Items) == 0:
			return bad("items", "an impression shows at least one item")
		case len(e.Items) > MaxItems:
			return bad("items", "%d items, more than the limit of %d", len(e.Items), MaxItems)
		case e.Item != "" || e.Kind != "" || e.Position != 0 || e.DwellMs != 0:
			return bad("item", "item, kind, position and dwell_ms belong to takes and skips; an impression lists items")
		}
		for i := range e.Items {
			s := &e.Items[i]
			field := "items[" + strconv.Itoa(i) + "]"
			switch {
			case s.Item == "":
				return bad(field+".item", "empty")
			case checkString(s.Item) != "":
				return bad(field+".item", "%s", checkString(s.Item))
			case checkString(s.Source) != "":
				return bad(field+".source", "%s", checkString(s.Source))
			case s.Position < 1 || s.Position > MaxItems:
				return bad(field+".position", "%d is out of range [1, %d]", s.Position, MaxItems)
			case math.IsNaN(float64(s.Score)) || math.IsInf(float64(s.Score), 0):
				return bad(field+".score", "not a finite number")
			}
		}
	case TypeTake, TypeSkip:
		switch {
		case e.Item == "":
			return bad("item", "a %s names the item", e.Type)
		case len(e.Items) > 0:
			return bad("items", "only an impression lists items")
		case e.Position < 0 || e.Position > MaxItems:
			return bad("position", "%d is out of range [0, %d] (0: unknown)", e.Position, MaxItems)
		case e.DwellMs < 0 || e.DwellMs > MaxDwell:
			return bad("dwell_ms", "%d is out of range [0, %d]", e.DwellMs, MaxDwell)
		case e.Type == TypeTake && e.Kind != KindWatch && e.Kind != KindBuy && e.Kind != KindClick:
			return bad("kind", "%q: want %q, %q or %q", clip(e.Kind), KindWatch, KindBuy, KindClick)
		case e.Type == TypeSkip && e.Kind != "":
			return bad("kind", "a skip has no kind")
		}
	default:
		return bad("type", "%q: want %q, %q or %q", clip(e.Type), TypeImpression, TypeTake, TypeSkip)
	}
	return nil
}

// checkString returns why s cannot be a string field, or "".
func checkString(s string) string {
	switch {
	case len(s) > MaxString:
		return fmt.Sprintf("%d bytes, more than the limit of %d", len(s), MaxString)
	case !utf8.ValidString(s):
		return "not valid UTF-8"
	case strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return "holds a control character"
	}
	return ""
}

// clip cuts s for an error message.
func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}
