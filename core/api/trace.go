package api

import (
	"encoding/binary"
	"math"
)

// The trace record: what the module reports about its last recommend call
// out of band, beside the response, so that a host can count items and
// time stages without decoding the response (wasm/ABI.md,
// "edgerec_trace"). The record is fixed-size and little-endian:
//
//	offset  size  field
//	0       4     stages n, 0…MaxTraceStages (0: no record)
//	4       4     items in the response
//	8       4     unknown_items (Debug.UnknownItems)
//	12      4     truncated (Debug.Truncated)
//	16      4     examined (Debug.Examined)
//	20+32i  16    stage i's name, UTF-8, NUL-padded (names are at most 16 bytes)
//	36+32i  4     stage i's in
//	40+32i  4     stage i's out
//	44+32i  8     stage i's micros (signed)
//
// Counts over 2³²−1 are written as 2³²−1 (none comes close: k ≤ MaxK and
// the work budget bounds examined).
const (
	// MaxTraceStages is the most stages a trace record holds; later ones
	// are left out.
	MaxTraceStages = 8
	// TraceBytes is the size of a trace record.
	TraceBytes = traceHeader + MaxTraceStages*traceStage

	traceHeader  = 20
	traceStage   = 32
	traceNameLen = 16
)

// Trace is a decoded trace record: what the response and its debug
// section (Debug) would say, without the response.
type Trace struct {
	Items        int     // items in the response
	UnknownItems int     // as Debug.UnknownItems
	Truncated    int     // as Debug.Truncated
	Examined     int     // as Debug.Examined
	Stages       []Stage // as Debug.Stages, at most MaxTraceStages
}

// PutTrace writes the trace record of a response r (with its debug
// section; without one, only the item count) into dst, which must hold
// TraceBytes bytes (PutTrace panics otherwise: a programmer error).
func PutTrace(dst []byte, r *Response) {
	dst = dst[:TraceBytes]
	clear(dst)
	le := binary.LittleEndian
	le.PutUint32(dst[4:], sat(len(r.Items)))
	d := r.Debug
	if d == nil {
		return
	}
	n := min(len(d.Stages), MaxTraceStages)
	le.PutUint32(dst[0:], uint32(n))
	le.PutUint32(dst[8:], sat(d.UnknownItems))
	le.PutUint32(dst[12:], sat(d.Truncated))
	le.PutUint32(dst[16:], sat(d.Examined))
	for i, s := range d.Stages[:n] {
		p := dst[traceHeader+i*traceStage:]
		copy(p[:traceNameLen], s.Name)
		le.PutUint32(p[16:], sat(s.In))
		le.PutUint32(p[20:], sat(s.Out))
		le.PutUint64(p[24:], uint64(s.Micros))
	}
}

// ClearTrace marks the record in dst (TraceBytes bytes) as absent: a call
// that failed leaves no trace.
func ClearTrace(dst []byte) { clear(dst[:TraceBytes]) }

// ReadTrace decodes the record in b into t, reusing t.Stages. name turns a
// stage's name bytes into a string; a host passes an interning function so
// that reading a record does not allocate (nil: string(b)). It reports
// false, leaving t empty, when b is shorter than TraceBytes or holds no
// record (no stages).
func ReadTrace(t *Trace, b []byte, name func([]byte) string) bool {
	*t = Trace{Stages: t.Stages[:0]}
	if len(b) < TraceBytes {
		return false
	}
	le := binary.LittleEndian
	n := int(le.Uint32(b))
	if n == 0 || n > MaxTraceStages {
		return false
	}
	if name == nil {
		name = func(p []byte) string { return string(p) }
	}
	t.Items = int(le.Uint32(b[4:]))
	t.UnknownItems = int(le.Uint32(b[8:]))
	t.Truncated = int(le.Uint32(b[12:]))
	t.Examined = int(le.Uint32(b[16:]))
	for i := range n {
		p := b[traceHeader+i*traceStage:]
		nm := p[:traceNameLen]
		for j, c := range nm {
			if c == 0 {
				nm = nm[:j]
				break
			}
		}
		t.Stages = append(t.Stages, Stage{Name: name(nm), In: int(le.Uint32(p[16:])),
			Out: int(le.Uint32(p[20:])), Micros: int64(le.Uint64(p[24:]))})
	}
	return true
}

// sat returns n as a uint32, saturated to [0, 2³²−1].
func sat(n int) uint32 { return uint32(min(uint64(max(n, 0)), math.MaxUint32)) }
