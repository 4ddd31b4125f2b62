// Package api defines the request and response of a recommendation: the one
// contract that the module, the host, the edge server and the browser share.
//
// Both travel as msgpack (field names are the msgpack and JSON tags below);
// the edge server also accepts JSON with the same names. The types are
// designed for the whole retrieve → filter → rank → order pipeline: fields
// that a stage does not use yet are accepted and ignored.
package api

import (
	"fmt"

	"github.com/edgerec/edgerec/core/wire"
)

// Limits on a request. Larger inputs are refused (MaxRequestBytes) or
// truncated and counted in the response's debug section (the others).
const (
	// MaxRequestBytes is the largest encoded request accepted.
	MaxRequestBytes = 1 << 20
	// MaxHistory is the number of most recent history events used; older
	// events are dropped.
	MaxHistory = 512
	// MaxImpressions is the number of impressions used; later entries are
	// dropped.
	MaxImpressions = 1024
	// MaxK is the largest number of items a request may ask for.
	MaxK = 500
	// DefaultK is used when a request leaves K at zero.
	DefaultK = 10
	// MaxConsumedBytes is the largest consumed-items Bloom filter accepted.
	MaxConsumedBytes = 512 << 10
	// MaxExclude is the largest explicit exclusion list accepted.
	MaxExclude = 4096
	// MaxListLen is the longest list or map a request may hold at all;
	// longer ones are refused before they are decoded.
	MaxListLen = 4096
	// MaxRequestIDLen is the longest request id (Request.RequestID) in
	// bytes.
	MaxRequestIDLen = 64
	// MaxConsumedFPRate is the largest estimated false-positive rate
	// (bloom.Filter.EstimatedFPRate) of a consumed filter the module
	// applies. A fuller filter claims most items the user never saw (an
	// all-ones filter claims every item), so it tells nothing about what
	// was consumed: the module ignores it and says so in the response
	// (WarnConsumedSaturated). The client should start a larger filter.
	MaxConsumedFPRate = 0.5
)

// Warnings a response may carry (Response.Warnings): stable codes for the
// ways the module served a request other than as asked.
const (
	// WarnConsumedSaturated: the consumed filter's estimated
	// false-positive rate is above MaxConsumedFPRate, so it was ignored;
	// the items may include consumed ones.
	WarnConsumedSaturated = "consumed_saturated"
	// WarnBudgetExhausted: the filters rejected so many of the rows the
	// sources proposed that the request's work budget (pipeline.MaxExamined
	// rows) ran out; the items are what survived within it, possibly fewer
	// than k.
	WarnBudgetExhausted = "budget_exhausted"
)

// Request asks for K recommendations for one user in one context.
type Request struct {
	// UserID optionally names the user, for logs and experiment assignment.
	// The model never sees it: all personalization comes from History.
	UserID string `msgpack:"user_id,omitempty" json:"user_id,omitempty"`
	// RequestID optionally names this request; the response carries it
	// back (Response.RequestID) so that the events a client logs about
	// what it was shown join to what was served. At most MaxRequestIDLen
	// printable ASCII characters without spaces (ValidRequestID).
	RequestID string `msgpack:"request_id,omitempty" json:"request_id,omitempty"`
	// Context describes the user and the moment of the request.
	Context Context `msgpack:"context" json:"context"`
	// History lists the items the user interacted with, oldest first. Unknown
	// item ids are ignored and counted.
	History []Event `msgpack:"history,omitempty" json:"history,omitempty"`
	// Seed is the item the user is looking at now, if any.
	Seed string `msgpack:"seed,omitempty" json:"seed,omitempty"`
	// Consumed is the serialized Bloom filter of items the user has consumed
	// (core/bloom); items it may contain are filtered out.
	Consumed []byte `msgpack:"consumed,omitempty" json:"consumed,omitempty"`
	// Impressions lists items already shown to this user.
	Impressions []Impression `msgpack:"impressions,omitempty" json:"impressions,omitempty"`
	// K is the number of items wanted; 0 means DefaultK.
	K int `msgpack:"k,omitempty" json:"k,omitempty"`
	// Filters override the bundle's business rules for this request.
	Filters *Filters `msgpack:"filters,omitempty" json:"filters,omitempty"`
	// Sources weights candidate sources by name; a weight of 0 disables one.
	Sources Weights `msgpack:"sources,omitempty" json:"sources,omitempty"`
	// Debug asks for per-stage counts and timings in the response.
	Debug bool `msgpack:"debug,omitempty" json:"debug,omitempty"`
	// ExperimentKey selects the experiment arm (hashed with the bundle's
	// experiment definition); empty means the default arm.
	ExperimentKey string `msgpack:"experiment_key,omitempty" json:"experiment_key,omitempty"`
	// NProbe overrides how many inverted lists the two-tower retrieval
	// probes when the bundle has an index (bundles/FORMAT.md §5.7): more
	// lists find more of the exact top items and cost more. 0 (or less)
	// means the bundle's default; larger values are clamped to 4× the
	// default and to the number of lists (bundle.Index.NProbeFor).
	NProbe int `msgpack:"nprobe,omitempty" json:"nprobe,omitempty"`
	// Order overrides the bundle's ordering parameters (diversity,
	// exploration slots, category cap) for this request; nil keeps them.
	Order *Order `msgpack:"order,omitempty" json:"order,omitempty"`
}

// Weights maps candidate source names to weights. Any msgpack number
// decodes as a weight (JavaScript's and Python's writers send fractional
// numbers as float64), and the keys encode sorted, so that equal requests
// encode to equal bytes (core/wire).
type Weights map[string]float32

// Context is what is known about the user and the moment of the request.
// Empty strings and zero numbers mean unknown.
type Context struct {
	Time   int64  `msgpack:"time,omitempty" json:"time,omitempty"` // Unix seconds
	Region string `msgpack:"region,omitempty" json:"region,omitempty"`
	Device string `msgpack:"device,omitempty" json:"device,omitempty"`
	Gender string `msgpack:"gender,omitempty" json:"gender,omitempty"`
	Age    int    `msgpack:"age,omitempty" json:"age,omitempty"`
	// Attrs holds further categorical attributes by name (for example
	// "occupation"), as the bundle's query tower names them.
	Attrs map[string]string `msgpack:"attrs,omitempty" json:"attrs,omitempty"`
}

// Event is one interaction of the user with an item.
type Event struct {
	Item string `msgpack:"item" json:"item"`
	Time int64  `msgpack:"time,omitempty" json:"time,omitempty"` // Unix seconds
}

// Impression records that an item was shown to the user.
type Impression struct {
	Item  string `msgpack:"item" json:"item"`
	Count int    `msgpack:"count,omitempty" json:"count,omitempty"`
	Last  int64  `msgpack:"last,omitempty" json:"last,omitempty"` // Unix seconds of the latest showing
}

// Filters override business rules for one request.
type Filters struct {
	Exclude []string `msgpack:"exclude,omitempty" json:"exclude,omitempty"`
	// Allow, when non-empty, restricts results to these items.
	Allow []string `msgpack:"allow,omitempty" json:"allow,omitempty"`
	// IgnoreAvailability keeps unavailable items.
	IgnoreAvailability bool `msgpack:"ignore_availability,omitempty" json:"ignore_availability,omitempty"`
}

// Response carries the recommended items, best first.
type Response struct {
	// RequestID is the request's RequestID, echoed; empty when the request
	// carried none. It is the first field written (AppendResponse), so
	// that a host can read it, or stamp one into an answer without it,
	// without decoding the answer (StampRequestID).
	RequestID     string `msgpack:"request_id,omitempty" json:"request_id,omitempty"`
	Items         []Item `msgpack:"items" json:"items"`
	BundleVersion string `msgpack:"bundle_version" json:"bundle_version"`
	Arm           string `msgpack:"arm,omitempty" json:"arm,omitempty"`
	// Warnings lists, as the codes Warn*, where the module served the
	// request other than as asked; empty when it served it as asked.
	Warnings []string `msgpack:"warnings,omitempty" json:"warnings,omitempty"`
	// UnknownItems counts the history and seed ids the bundle does not
	// hold, which the pipeline ignored (as Debug.UnknownItems, without
	// asking for debug); left out when 0.
	UnknownItems int    `msgpack:"unknown_items,omitempty" json:"unknown_items,omitempty"`
	Debug        *Debug `msgpack:"debug,omitempty" json:"debug,omitempty"`
}

// Item is one recommendation.
type Item struct {
	ID     string  `msgpack:"id" json:"id"`
	Score  float32 `msgpack:"score" json:"score"`
	Source string  `msgpack:"source" json:"source"`
	// Because names the history item an item-to-item recommendation (source
	// covisit or slim) comes from ("because you watched X").
	Because string `msgpack:"because,omitempty" json:"because,omitempty"`
	// Backfill marks an item the popularity back-fill added after the
	// enabled sources ran out (Source is then "popular").
	Backfill bool `msgpack:"backfill,omitempty" json:"backfill,omitempty"`
}

// Debug reports what each stage did.
type Debug struct {
	Stages []Stage `msgpack:"stages" json:"stages"`
	// UnknownItems counts history and seed ids not in the bundle.
	UnknownItems int `msgpack:"unknown_items" json:"unknown_items"`
	// Truncated counts history events and impressions dropped by the limits.
	Truncated int `msgpack:"truncated" json:"truncated"`
	// Examined counts the rows the sources, the filters and the back-fill
	// looked at: the work budget the request spent, at most
	// pipeline.MaxExamined.
	Examined int `msgpack:"examined" json:"examined"`
}

// Stage reports one pipeline stage.
type Stage struct {
	Name   string `msgpack:"name" json:"name"`
	In     int    `msgpack:"in" json:"in"`
	Out    int    `msgpack:"out" json:"out"`
	Micros int64  `msgpack:"micros" json:"micros"`
}

// DecodeRequest decodes and validates a msgpack request. Oversized or
// malformed input and out-of-range fields give an error; long lists are left
// for Normalize to truncate.
func DecodeRequest(b []byte) (*Request, error) { return decodeRequest(b, wire.UnmarshalLimit) }

// DecodeRequestViews is DecodeRequest except that the request's byte
// fields (Consumed, up to MaxConsumedBytes) are views of b, not copies:
// for a caller that keeps b unchanged while it uses the request, as the
// module does with the request buffer through a call.
func DecodeRequestViews(b []byte) (*Request, error) { return decodeRequest(b, wire.UnmarshalViews) }

func decodeRequest(b []byte, unmarshal func([]byte, any, int) error) (*Request, error) {
	if len(b) > MaxRequestBytes {
		return nil, fmt.Errorf("request is %d bytes, more than the limit of %d", len(b), MaxRequestBytes)
	}
	var r Request
	if err := unmarshal(b, &r, MaxListLen); err != nil {
		return nil, fmt.Errorf("malformed request: %w", err)
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

// Validate reports the first field out of range.
func (r *Request) Validate() error {
	switch {
	case r.RequestID != "" && !ValidRequestID(r.RequestID):
		return fmt.Errorf("request_id %q: want 1 to %d printable ASCII characters without spaces", clip(r.RequestID), MaxRequestIDLen)
	case r.K < 0 || r.K > MaxK:
		return fmt.Errorf("k = %d is out of range [0, %d]", r.K, MaxK)
	case len(r.Consumed) > MaxConsumedBytes:
		return fmt.Errorf("consumed filter is %d bytes, more than the limit of %d", len(r.Consumed), MaxConsumedBytes)
	case r.Filters != nil && len(r.Filters.Exclude)+len(r.Filters.Allow) > MaxExclude:
		return fmt.Errorf("filters list %d items, more than the limit of %d", len(r.Filters.Exclude)+len(r.Filters.Allow), MaxExclude)
	case r.Context.Age < 0 || r.Context.Age > 150:
		return fmt.Errorf("context.age = %d is out of range [0, 150]", r.Context.Age)
	case r.Order.Validate() != nil:
		return r.Order.Validate()
	}
	return nil
}

// ValidRequestID reports whether id can name a request: 1 to
// MaxRequestIDLen bytes, each a printable ASCII character other than
// space (0x21–0x7e), so that it is safe in a log line, an HTTP header and
// a file without quoting.
func ValidRequestID(id string) bool {
	if len(id) == 0 || len(id) > MaxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// clip cuts s for an error message.
func clip(s string) string {
	if len(s) > 2*MaxRequestIDLen {
		return s[:2*MaxRequestIDLen] + "…"
	}
	return s
}

// Normalize applies the defaults and truncation limits and returns how many
// entries it dropped: History keeps its MaxHistory most recent events (the
// last ones), Impressions its first MaxImpressions.
func (r *Request) Normalize() (dropped int) {
	if r.K == 0 {
		r.K = DefaultK
	}
	if n := len(r.History); n > MaxHistory {
		dropped += n - MaxHistory
		r.History = r.History[n-MaxHistory:]
	}
	if n := len(r.Impressions); n > MaxImpressions {
		dropped += n - MaxImpressions
		r.Impressions = r.Impressions[:MaxImpressions]
	}
	return dropped
}

// EncodeRequest encodes r as msgpack.
func EncodeRequest(r *Request) ([]byte, error) { return wire.Marshal(r) }

// EncodeResponse encodes r as msgpack (AppendResponse).
func EncodeResponse(r *Response) ([]byte, error) {
	return AppendResponse(make([]byte, 0, 64+48*len(r.Items)), r), nil
}

// DecodeResponse decodes a msgpack response.
func DecodeResponse(b []byte) (*Response, error) {
	var r Response
	if err := wire.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("malformed response: %w", err)
	}
	return &r, nil
}

// Summary describes a loaded bundle: the module's load_bundle returns it.
type Summary struct {
	Version   string `msgpack:"version" json:"version"`
	Created   int64  `msgpack:"created" json:"created"` // Unix seconds
	Items     int    `msgpack:"items" json:"items"`
	Dim       int    `msgpack:"dim" json:"dim"`
	Format    string `msgpack:"format" json:"format"` // bundle format version, "major.minor"
	SizeBytes int    `msgpack:"size_bytes" json:"size_bytes"`
}
