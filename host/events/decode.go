package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/edgerec/edgerec/core/wire"
)

// Batch is what a client posts to /v1/events (EVENTS.md §2.5).
type Batch struct {
	// Version is the schema version the client writes, "major.minor";
	// empty means Version.
	Version string  `json:"version,omitempty" msgpack:"version,omitempty"`
	Events  []Event `json:"events" msgpack:"events"`
}

// DecodeJSON decodes and validates a JSON batch received at received,
// and returns its events with TimeMs filled (received, where a client left
// it 0) and Origin set to OriginClient. It refuses a body over
// MaxBatchBytes, more than MaxBatchEvents events (before decoding the
// rest), a batch of another major version (ErrVersion), an unknown field
// unless the batch declares a newer minor version, and the first event
// that breaks the schema (*ValidationError).
func DecodeJSON(b []byte, received time.Time) ([]Event, error) {
	if len(b) > MaxBatchBytes {
		return nil, fmt.Errorf("batch is %d bytes, more than the limit of %d", len(b), MaxBatchBytes)
	}
	batch, err := decodeJSON(b, true)
	if err != nil && strings.Contains(err.Error(), "unknown field") {
		// A newer minor version may add fields: skip them.
		var v struct {
			Version string `json:"version"`
		}
		if json.Unmarshal(b, &v) == nil {
			if _, minor, ok := parseVersion(v.Version); ok && minor > Minor {
				batch, err = decodeJSON(b, false)
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("malformed JSON batch: %w", err)
	}
	return finish(batch, received)
}

// decodeJSON reads the batch object token by token, so that an events
// list longer than MaxBatchEvents is refused at its limit rather than
// decoded whole first.
func decodeJSON(b []byte, strict bool) (*Batch, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := expect(dec, json.Delim('{')); err != nil {
		return nil, err
	}
	batch := new(Batch)
	seen := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		switch key, _ := tok.(string); key {
		case "version":
			if err := dec.Decode(&batch.Version); err != nil {
				return nil, err
			}
		case "events":
			if seen {
				return nil, errors.New(`"events" appears twice`)
			}
			seen = true
			if err := expect(dec, json.Delim('[')); err != nil {
				return nil, fmt.Errorf("events: %w", err)
			}
			for dec.More() {
				if len(batch.Events) == MaxBatchEvents {
					return nil, fmt.Errorf("more than %d events; send several batches", MaxBatchEvents)
				}
				batch.Events = append(batch.Events, Event{})
				if err := dec.Decode(&batch.Events[len(batch.Events)-1]); err != nil {
					return nil, fmt.Errorf("events[%d]: %w", len(batch.Events)-1, err)
				}
			}
			if err := expect(dec, json.Delim(']')); err != nil {
				return nil, err
			}
		default:
			if strict {
				return nil, fmt.Errorf("json: unknown field %q", clip(key))
			}
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, err
			}
		}
	}
	if err := expect(dec, json.Delim('}')); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("data after the batch object")
	}
	return batch, nil
}

// expect reads the next token and checks that it is want.
func expect(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("want %q, found %v", want, tok)
	}
	return nil
}

// DecodeMsgpack is DecodeJSON for a msgpack batch (the same field names).
// Every list is refused past MaxBatchEvents entries before it is decoded
// (core/wire), and unknown fields are ignored, as everywhere in msgpack.
func DecodeMsgpack(b []byte, received time.Time) ([]Event, error) {
	if len(b) > MaxBatchBytes {
		return nil, fmt.Errorf("batch is %d bytes, more than the limit of %d", len(b), MaxBatchBytes)
	}
	var batch Batch
	if err := wire.UnmarshalLimit(b, &batch, MaxBatchEvents); err != nil {
		return nil, fmt.Errorf("malformed msgpack batch: %w", err)
	}
	return finish(&batch, received)
}

// finish checks the batch's version and events and fills what the node
// sets.
func finish(b *Batch, received time.Time) ([]Event, error) {
	if b.Version != "" {
		major, _, ok := parseVersion(b.Version)
		if !ok {
			return nil, fmt.Errorf("version %q: want \"major.minor\", e.g. %q", clip(b.Version), Version)
		}
		if major != Major {
			return nil, fmt.Errorf("%w: the batch is version %s, this node reads %d.x (%s)", ErrVersion, clip(b.Version), Major, Version)
		}
	}
	if len(b.Events) == 0 {
		return nil, errors.New("the batch holds no events")
	}
	if len(b.Events) > MaxBatchEvents {
		return nil, fmt.Errorf("%d events, more than the limit of %d; send several batches", len(b.Events), MaxBatchEvents)
	}
	now := received.UnixMilli()
	for i := range b.Events {
		e := &b.Events[i]
		if err := e.Validate(received); err != nil {
			err.(*ValidationError).Index = i
			return nil, err
		}
		if e.TimeMs == 0 {
			e.TimeMs = now
		}
		e.Origin = OriginClient
	}
	return b.Events, nil
}

// parseVersion parses "major.minor".
func parseVersion(v string) (major, minor int, ok bool) {
	a, b, found := strings.Cut(v, ".")
	if !found {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(a)
	minor, err2 := strconv.Atoi(b)
	return major, minor, err1 == nil && err2 == nil && major >= 0 && minor >= 0
}
