package host

import (
	"context"

	"github.com/edgerec/edgerec/core/api"
)

// traceKey is the context key of WithTrace.
type traceKey struct{}

// WithTrace returns a context that makes Instance.RecommendBytes (and
// Recommend) fill t with what the module recorded about the call out of
// band: the response's item count, the debug counts and the stage timings,
// whether or not the request asked for debug. The host reads them from the
// module's trace record (wasm/ABI.md, edgerec_trace) without decoding the
// response; net/http/httptrace passes its hooks the same way.
//
// After a successful call t.Stages is non-empty; after a failed call, or
// with a module that predates edgerec_trace, t is left empty. t.Stages is
// reused from call to call, and its names are shared strings: reading a
// trace does not allocate once the instance has seen each stage name.
//
// # Notes
//
// A call abandoned at its deadline may still write t when it ends: give
// each call its own Trace, or read it only after a call that returned.
func WithTrace(ctx context.Context, t *api.Trace) context.Context {
	return context.WithValue(ctx, traceKey{}, t)
}

// readTrace fills the *api.Trace that ctx carries, if any, from the
// module's trace record after a recommend call (ok: it succeeded), or
// empties it.
func (in *Instance) readTrace(ctx context.Context, ok bool) {
	t, _ := ctx.Value(traceKey{}).(*api.Trace)
	if t == nil {
		return
	}
	var view []byte
	if ok && in.traceAddr != 0 && !in.closed {
		view, _ = in.mem.Read(in.traceAddr, api.TraceBytes)
	}
	api.ReadTrace(t, view, in.intern)
}

// intern returns b as a string, the same string for the same bytes: stage
// names repeat on every call.
func (in *Instance) intern(b []byte) string {
	if s, ok := in.names[string(b)]; ok {
		return s
	}
	if in.names == nil {
		in.names = map[string]string{}
	}
	s := string(b)
	in.names[s] = s
	return s
}
