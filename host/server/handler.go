package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/host"
)

// Content types of POST /v1/recommend.
const (
	contentJSON    = "application/json"
	contentMsgpack = "application/msgpack"
)

// Handler returns the HTTP API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/recommend", s.recommend)
	mux.HandleFunc("POST /v1/events", s.postEvents)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		g := s.cur.Load()
		switch {
		case s.draining.Load():
			http.Error(w, "draining: shutting down", http.StatusServiceUnavailable)
		case g == nil:
			http.Error(w, "no bundle loaded", http.StatusServiceUnavailable)
		default:
			// Ready either way; the body says what an operator must know.
			msg := "ready\n"
			conf := s.configured.Load()
			switch {
			case g.lastGood.Load():
				msg = fmt.Sprintf("ready: serving the last known-good bundle %q (sha256 %s); the bundle file was refused: %s\n",
					logField(g.summary.Version), g.digest, conf.Error)
			case conf != nil && conf.Result == "refused":
				msg = fmt.Sprintf("ready: serving bundle %q (sha256 %s); the bundle file was refused: %s\n",
					logField(g.summary.Version), g.digest, conf.Error)
			}
			io.WriteString(w, msg)
		}
	})
	mux.HandleFunc("GET /v1/bundle", func(w http.ResponseWriter, r *http.Request) {
		st, ok := s.Status()
		if !ok {
			writeError(w, http.StatusServiceUnavailable, "no bundle loaded")
			return
		}
		writeJSON(w, http.StatusOK, st)
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		g := s.acquire()
		if g != nil {
			defer g.release()
		}
		var buf bytes.Buffer
		conf := s.configured.Load()
		s.metrics.write(&buf, g, s.Ready(), conf != nil && conf.Result == "refused")
		if s.events != nil {
			s.events.writeMetrics(&buf)
		}
		w.Write(buf.Bytes())
	})
	mux.HandleFunc("POST /admin/reload", s.adminReload)
	if s.web != nil {
		mux.HandleFunc("GET /", s.static)
		mux.HandleFunc("GET /recommender.wasm", func(w http.ResponseWriter, r *http.Request) {
			s.wasmFile.serve(w, r, "application/wasm")
		})
		mux.HandleFunc("GET /v1/bundle/file", func(w http.ResponseWriter, r *http.Request) {
			// The bytes only, not the generation: a client that reads
			// slowly must not keep a retired pool's instances alive.
			g := s.acquire()
			if g == nil {
				writeError(w, http.StatusServiceUnavailable, "no bundle loaded")
				return
			}
			file := g.file
			g.release()
			// Nor keep the bytes for ever.
			http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.cfg.BundleFileTimeout))
			if s.events != nil {
				// Where the demo page posts what it showed and what was
				// taken (web-demo/app.js): on the file it downloads anyway.
				w.Header().Set("Edgerec-Events", "/v1/events")
			}
			file.serve(w, r, "application/octet-stream")
		})
	}
	return mux
}

// recommend serves POST /v1/recommend.
func (s *Server) recommend(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := s.requestID(r)
	w.Header().Set("X-Request-Id", id)
	status, attrs := s.serveRecommend(w, r, &id)
	elapsed := time.Since(start)
	s.metrics.request(status)
	s.metrics.latency.observe(elapsed.Seconds())
	level := slog.LevelDebug
	switch {
	case status >= 500:
		level = slog.LevelError
	case status >= 400:
		level = slog.LevelWarn
	}
	if s.log.Enabled(r.Context(), level) {
		s.log.Log(r.Context(), level, "recommend", append([]any{"request_id", id, "status", status,
			"us", elapsed.Microseconds()}, attrs...)...)
	}
}

// maxLogField bounds a string from a request in a log line or an error
// message.
const maxLogField = 256

// logField returns s cut to maxLogField bytes (on a character boundary),
// saying how long it was: a client must not be able to make every log
// line of its refused requests as long as its request.
func logField(s string) string {
	if len(s) <= maxLogField {
		return s
	}
	cut := maxLogField
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes)", s[:cut], len(s))
}

// jsonLimits checks the lists of a JSON request against the limits the
// module decodes with (api.MaxListLen), so that a JSON client learns which
// field is too long in its own terms, not at a byte offset of the msgpack
// the host made of it.
func jsonLimits(req *api.Request) error {
	var exclude, allow int
	if f := req.Filters; f != nil {
		exclude, allow = len(f.Exclude), len(f.Allow)
	}
	for _, l := range []struct {
		field string
		n     int
	}{{"history", len(req.History)}, {"impressions", len(req.Impressions)}, {"context.attrs", len(req.Context.Attrs)},
		{"filters.exclude", exclude}, {"filters.allow", allow}, {"sources", len(req.Sources)}} {
		if l.n > api.MaxListLen {
			return fmt.Errorf("%s has %d entries, more than the limit of %d", l.field, l.n, api.MaxListLen)
		}
	}
	return nil
}

// clientMessage returns the message a client gets for an error of the
// module or the host: for a JSON client, in JSON terms (the module reads
// msgpack the host transcoded).
func clientMessage(json bool, err error) string {
	var ge *host.GuestError
	switch {
	case errors.Is(err, host.ErrTooLarge) && json:
		return fmt.Sprintf("the request is too large for the module once encoded (the limit is %d bytes): send fewer history events, impressions or filters", api.MaxRequestBytes)
	case errors.Is(err, host.ErrTooLarge):
		return fmt.Sprintf("request body over the limit of %d bytes", api.MaxRequestBytes)
	case errors.As(err, &ge) && json && strings.HasPrefix(ge.Message, "malformed request"):
		return "the request has a list, map or string beyond the module's limits"
	case errors.As(err, &ge):
		return logField(ge.Message)
	}
	return logField(err.Error())
}

// serveRecommend answers one request and returns its status and log
// attributes. *id is the request's id (requestID); a request_id in the
// body replaces it, and the answer carries it (api.Response.RequestID):
// the module echoes the request's, and the host stamps its own into an
// answer to a msgpack request that carried none (api.StampRequestID), so
// that the client can log events that join to what it was served.
func (s *Server) serveRecommend(w http.ResponseWriter, r *http.Request, idp *string) (int, []any) {
	id := *idp
	fail := func(status int, msg string, attrs ...any) (int, []any) {
		msg = logField(msg)
		writeError(w, status, msg)
		return status, append(attrs, "err", msg)
	}

	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "" || ct == "application/x-www-form-urlencoded" {
		// No type, or curl -d's default: the body is read as JSON.
		ct = contentJSON
	}
	if ct != contentJSON && ct != contentMsgpack && ct != "application/x-msgpack" {
		return fail(http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q: send %s or %s", ct, contentJSON, contentMsgpack))
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, api.MaxRequestBytes))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return fail(http.StatusBadRequest, fmt.Sprintf("request body over the limit of %d bytes", api.MaxRequestBytes))
		}
		return fail(http.StatusBadRequest, "reading the request body: "+err.Error())
	}
	// A msgpack body goes to the module as it came: the module decodes and
	// validates it, once. A JSON body is transcoded; the module validates
	// it all the same.
	in, attrs := body, []any(nil)
	var sv *served
	if s.events != nil && s.events.impressions {
		sv = &served{at: time.Now()}
	}
	if ct == contentJSON {
		req := new(api.Request)
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(req); err != nil {
			return fail(http.StatusBadRequest, "malformed JSON request: "+err.Error())
		}
		if dec.More() {
			return fail(http.StatusBadRequest, "malformed JSON request: data after the request object")
		}
		if err := jsonLimits(req); err != nil {
			return fail(http.StatusBadRequest, err.Error())
		}
		attrs = append(attrs, "user", logField(req.UserID))
		if sv != nil {
			sv.user, sv.region, sv.device = req.UserID, req.Context.Region, req.Context.Device
		}
		if req.RequestID == "" {
			req.RequestID = id
		} else if api.ValidRequestID(req.RequestID) {
			id = s.setID(w, idp, req.RequestID)
		}
		// api.EncodeRequest, not msgpack/v5: the same bytes for a
		// fifth of the allocations (BenchmarkRecommendHost/json).
		if in, err = api.EncodeRequest(req); err != nil {
			return fail(http.StatusBadRequest, "encoding the request: "+err.Error())
		}
	}

	g := s.acquire()
	if g == nil {
		return fail(http.StatusServiceUnavailable, "no bundle loaded")
	}
	defer g.release()
	attrs = append(attrs, "bundle", g.summary.Version)

	var out []byte
	var trace *api.Trace
	for attempt := 0; ; attempt++ {
		// Waiting for an instance and the call have a deadline each, so
		// that a request that queued long still gets its full call time:
		// cutting a call kills its instance, queueing costs nothing.
		wctx, cancel := context.WithTimeout(r.Context(), s.cfg.Timeout)
		inst, err := g.get(wctx)
		cancel()
		if err != nil {
			if r.Context().Err() != nil {
				return fail(499, "client closed the request", attrs...)
			}
			return fail(http.StatusServiceUnavailable, fmt.Sprintf("no instance free within %v; retry later", s.cfg.Timeout), attrs...)
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Timeout)
		trace = new(api.Trace) // a call abandoned at its deadline keeps its own
		out, err = g.call(host.WithTrace(ctx, trace), inst, in)
		ctxErr := ctx.Err()
		cancel()
		if err == nil {
			break
		}
		switch {
		case errors.Is(err, host.ErrGuest), errors.Is(err, host.ErrTooLarge):
			return fail(http.StatusBadRequest, clientMessage(ct == contentJSON, err), attrs...)
		case errors.Is(err, errAbandoned):
			s.metrics.timeouts.Add(1)
			s.log.Warn("module call overran the deadline; answered, instance replaced", "request_id", id, "timeout", s.cfg.Timeout)
			return fail(http.StatusGatewayTimeout, fmt.Sprintf("the request took longer than the deadline of %v", s.cfg.Timeout), attrs...)
		case errors.Is(err, host.ErrTrap) && ctxErr != nil:
			s.metrics.traps.Add(1)
			s.metrics.timeouts.Add(1)
			s.log.Warn("module call cut at the deadline; instance replaced", "request_id", id, "timeout", s.cfg.Timeout)
			return fail(http.StatusGatewayTimeout, fmt.Sprintf("the request took longer than the deadline of %v and was stopped", s.cfg.Timeout), attrs...)
		case errors.Is(err, host.ErrTrap):
			s.metrics.traps.Add(1)
			s.log.Error("module trapped; instance replaced", "request_id", id, "attempt", attempt+1, "err", err)
			if attempt == 0 {
				s.metrics.retries.Add(1)
				continue
			}
			return fail(http.StatusBadGateway, "the module trapped on this request twice (each time on a fresh instance); the request was not answered", attrs...)
		case ctxErr != nil:
			return fail(http.StatusGatewayTimeout, fmt.Sprintf("deadline of %v passed before the module ran", s.cfg.Timeout), attrs...)
		default:
			return fail(http.StatusInternalServerError, err.Error(), attrs...)
		}
	}

	// The stage timings and the item count come out of band, beside the
	// answer; the answer itself is only decoded for a JSON client.
	for _, st := range trace.Stages {
		s.metrics.stage(st.Name, float64(st.Micros)/1e6)
	}
	attrs = append(attrs, "items", trace.Items)
	out, got := api.StampRequestID(out, id)
	if got != "" && got != id {
		id = s.setID(w, idp, got)
	}
	if ct == contentJSON {
		resp, err := api.DecodeResponse(out)
		if err != nil {
			return fail(http.StatusBadGateway, "the module returned a malformed response: "+err.Error(), attrs...)
		}
		writeJSON(w, http.StatusOK, resp)
		if sv != nil {
			sv.id, sv.resp = id, resp
			s.events.served(sv)
		}
		return http.StatusOK, attrs
	}
	w.Header().Set("Content-Type", contentMsgpack)
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.Write(out)
	if sv != nil {
		// The writer decodes what it needs of both, off this path.
		sv.id, sv.req, sv.out = id, in, out
		s.events.served(sv)
	}
	return http.StatusOK, attrs
}

// adminReload serves POST /admin/reload.
func (s *Server) adminReload(w http.ResponseWriter, r *http.Request) {
	if s.cfg.AdminToken == "" {
		writeError(w, http.StatusNotFound, "admin endpoint disabled: start edgerec serve with --admin-token-file or EDGEREC_ADMIN_TOKEN")
		return
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.AdminToken)) != 1 {
		s.log.Warn("admin reload refused: bad token", "remote", r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", `Bearer realm="edgerec"`)
		writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
		return
	}
	res, err := s.Reload(r.Context(), "admin")
	status := http.StatusOK
	if err != nil {
		status = http.StatusUnprocessableEntity
	}
	writeJSON(w, status, res)
}

// requestID returns the client's X-Request-Id when it is a valid request
// id (api.ValidRequestID: at most 64 printable characters), else a new id.
func (s *Server) requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); api.ValidRequestID(id) {
		return id
	}
	return s.idPrefix + strconv.FormatUint(s.reqSeq.Add(1), 36)
}

// setID makes id the request's id, in *idp and the X-Request-Id header,
// and returns it.
func (s *Server) setID(w http.ResponseWriter, idp *string, id string) string {
	*idp = id
	w.Header().Set("X-Request-Id", id)
	return id
}

// randomPrefix returns a random prefix that makes request ids unique
// across processes.
func randomPrefix() string {
	var b [4]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:]) + "-"
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// writeJSON writes v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encoding the response failed"}`)
	}
	w.Header().Set("Content-Type", contentJSON)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// writeError writes {"error": msg} with status.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
