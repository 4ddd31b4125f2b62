package api

import (
	"bytes"

	"github.com/edgerec/edgerec/core/wire"
)

// AppendResponse appends the msgpack encoding of r to dst: the same bytes
// as the reflective encoder (core/wire.Marshal) produces for a Response,
// written directly through wire's writers (wire.Append*), which Marshal
// writes through too.
//
// # Notes
//
// The module encodes a response per request, and in wazero the reflective
// encoder was a visible share of a whole request; this writer is several
// times faster (BenchmarkEncodeResponse, in wazero as its comment says;
// TestAppendResponseMatchesReflection holds the bytes equal).
func AppendResponse(dst []byte, r *Response) []byte {
	n := 2
	if r.RequestID != "" {
		n++
	}
	if r.Arm != "" {
		n++
	}
	if len(r.Warnings) > 0 {
		n++
	}
	if r.UnknownItems != 0 {
		n++
	}
	if r.Debug != nil {
		n++
	}
	dst = wire.AppendMapHeader(dst, n)
	if r.RequestID != "" {
		dst = wire.AppendString(dst, "request_id")
		dst = wire.AppendString(dst, r.RequestID)
	}
	dst = wire.AppendString(dst, "items")
	if r.Items == nil {
		dst = wire.AppendNil(dst)
	} else {
		dst = wire.AppendArrayHeader(dst, len(r.Items))
		for i := range r.Items {
			dst = appendItem(dst, &r.Items[i])
		}
	}
	dst = wire.AppendString(dst, "bundle_version")
	dst = wire.AppendString(dst, r.BundleVersion)
	if r.Arm != "" {
		dst = wire.AppendString(dst, "arm")
		dst = wire.AppendString(dst, r.Arm)
	}
	if len(r.Warnings) > 0 {
		dst = wire.AppendString(dst, "warnings")
		dst = wire.AppendArrayHeader(dst, len(r.Warnings))
		for _, w := range r.Warnings {
			dst = wire.AppendString(dst, w)
		}
	}
	if r.UnknownItems != 0 {
		dst = wire.AppendString(dst, "unknown_items")
		dst = wire.AppendInt(dst, int64(r.UnknownItems))
	}
	if d := r.Debug; d != nil {
		dst = wire.AppendString(dst, "debug")
		dst = wire.AppendMapHeader(dst, 4)
		dst = wire.AppendString(dst, "stages")
		if d.Stages == nil {
			dst = wire.AppendNil(dst)
		} else {
			dst = wire.AppendArrayHeader(dst, len(d.Stages))
			for _, s := range d.Stages {
				dst = wire.AppendMapHeader(dst, 4)
				dst = wire.AppendString(dst, "name")
				dst = wire.AppendString(dst, s.Name)
				dst = wire.AppendString(dst, "in")
				dst = wire.AppendInt(dst, int64(s.In))
				dst = wire.AppendString(dst, "out")
				dst = wire.AppendInt(dst, int64(s.Out))
				dst = wire.AppendString(dst, "micros")
				dst = wire.AppendInt(dst, s.Micros)
			}
		}
		dst = wire.AppendString(dst, "unknown_items")
		dst = wire.AppendInt(dst, int64(d.UnknownItems))
		dst = wire.AppendString(dst, "truncated")
		dst = wire.AppendInt(dst, int64(d.Truncated))
		dst = wire.AppendString(dst, "examined")
		dst = wire.AppendInt(dst, int64(d.Examined))
	}
	return dst
}

func appendItem(dst []byte, it *Item) []byte {
	n := 3
	if it.Because != "" {
		n++
	}
	if it.Backfill {
		n++
	}
	dst = wire.AppendMapHeader(dst, n)
	dst = wire.AppendString(dst, "id")
	dst = wire.AppendString(dst, it.ID)
	dst = wire.AppendString(dst, "score")
	dst = wire.AppendFloat32(dst, it.Score)
	dst = wire.AppendString(dst, "source")
	dst = wire.AppendString(dst, it.Source)
	if it.Because != "" {
		dst = wire.AppendString(dst, "because")
		dst = wire.AppendString(dst, it.Because)
	}
	if it.Backfill {
		dst = wire.AppendString(dst, "backfill")
		dst = wire.AppendBool(dst, true)
	}
	return dst
}

// requestIDKey is the msgpack encoding of the key "request_id" (a fixstr).
var requestIDKey = append([]byte{0xa0 | byte(len("request_id"))}, "request_id"...)

// StampRequestID returns a response that carries a request id, and that
// id, from a msgpack response b as AppendResponse writes it (a fixmap whose
// first key is "request_id" when it has one):
//
//   - b carries an id: b itself and that id;
//   - b carries none: a new slice holding b with id added (a valid id,
//     ValidRequestID), byte for byte what AppendResponse writes for the
//     response with RequestID set, and id;
//   - b is not laid out as AppendResponse writes (another map header, a
//     first key that is not "request_id" and a map already of 15 keys),
//     or id is not valid: b itself and "".
//
// It reads the map header and the first key only, so a host answers a
// client that sent no id with its own without decoding the answer
// (host/server). The module writes every response through AppendResponse;
// TestStampRequestID holds the stamped bytes to it.
func StampRequestID(b []byte, id string) ([]byte, string) {
	if len(b) == 0 || b[0]&0xf0 != 0x80 {
		return b, ""
	}
	rest := b[1:]
	if bytes.HasPrefix(rest, requestIDKey) {
		l, n := strHeader(rest[len(requestIDKey):])
		if n == 0 || l > len(rest)-len(requestIDKey)-n {
			return b, ""
		}
		at := len(requestIDKey) + n
		return b, string(rest[at : at+l])
	}
	if b[0]&0x0f == 0x0f || !ValidRequestID(id) {
		return b, ""
	}
	out := make([]byte, 0, len(b)+len(requestIDKey)+2+len(id))
	out = append(out, b[0]+1)
	out = append(out, requestIDKey...)
	out = wire.AppendString(out, id)
	return append(out, rest...), id
}

// strHeader reads the header of a msgpack fixstr or str8 (the forms a
// string of at most 255 bytes is written in) and returns the string's
// length and the header's, 0 for anything else.
func strHeader(b []byte) (l, n int) {
	switch {
	case len(b) >= 1 && b[0]&0xe0 == 0xa0:
		return int(b[0] & 0x1f), 1
	case len(b) >= 2 && b[0] == 0xd9:
		return int(b[1]), 2
	}
	return 0, 0
}
