package server

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// encoded holds a file's bytes and its compressed variants, made once on
// first request: the module (4 MB, about a quarter after zstd) and the
// bundle are served to browsers and workers that accept zstd or gzip
// compressed, with a strong ETag per variant.
type encoded struct {
	raw    []byte
	digest string // hex SHA-256 of raw

	once sync.Once
	zstd []byte // nil when compressing did not make it smaller
	gzip []byte
}

func newEncoded(raw []byte, digest string) *encoded { return &encoded{raw: raw, digest: digest} }

// variants compresses the bytes on first use.
func (e *encoded) variants() {
	e.once.Do(func() {
		if enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBetterCompression)); err == nil {
			if z := enc.EncodeAll(e.raw, nil); len(z) < len(e.raw) {
				e.zstd = z
			}
			enc.Close()
		}
		var b bytes.Buffer
		if w, err := gzip.NewWriterLevel(&b, gzip.BestCompression); err == nil {
			w.Write(e.raw)
			if w.Close() == nil && b.Len() < len(e.raw) {
				e.gzip = b.Bytes()
			}
		}
	})
}

// serve writes the variant the request accepts (zstd, then gzip, then the
// bytes as they are) with Content-Encoding, Vary and a strong ETag of its
// own, and answers If-None-Match and Range requests (http.ServeContent).
func (e *encoded) serve(w http.ResponseWriter, r *http.Request, contentType string) {
	body, coding := e.raw, ""
	if accepts(r, "zstd") || accepts(r, "gzip") {
		e.variants()
		switch {
		case e.zstd != nil && accepts(r, "zstd"):
			body, coding = e.zstd, "zstd"
		case e.gzip != nil && accepts(r, "gzip"):
			body, coding = e.gzip, "gzip"
		}
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-cache")
	h.Add("Vary", "Accept-Encoding")
	etag := `"` + e.digest
	if coding != "" {
		h.Set("Content-Encoding", coding)
		etag += "." + coding
	}
	h.Set("ETag", etag+`"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// accepts reports whether the request's Accept-Encoding names coding with
// a quality above 0.
func accepts(r *http.Request, coding string) bool {
	for _, h := range r.Header.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(h, ",") {
			name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if !strings.EqualFold(strings.TrimSpace(name), coding) {
				continue
			}
			q := 1.0
			if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					q = f
				}
			}
			return q > 0
		}
	}
	return false
}
