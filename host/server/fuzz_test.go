package server

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/edgerec/edgerec/core/api"
)

// FuzzRecommendBody: no body, JSON or msgpack, makes the handler panic or
// answer anything but 200 or 400, and every 200 carries items.
func FuzzRecommendBody(f *testing.F) {
	f.Add([]byte(`{"k": 3, "history": [{"item": "item000001"}]}`), false)
	f.Add([]byte(`{"k": -1}`), false)
	f.Add([]byte(`{"consumed": "AAAA", "filters": {"allow": ["x"]}}`), false)
	mp, _ := api.EncodeRequest(userRequest(1))
	f.Add(mp, true)
	f.Add([]byte{0xc1}, true)
	ts := start(f, Config{}, testBundle(f, "fuzz", 1))
	h := ts.Handler()
	f.Fuzz(func(t *testing.T, body []byte, msgpack bool) {
		ctype := "application/json"
		if msgpack {
			ctype = "application/msgpack"
		}
		req := httptest.NewRequest(http.MethodPost, "/v1/recommend", bytes.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch w.Code {
		case http.StatusOK:
			if !msgpack && !bytes.Contains(w.Body.Bytes(), []byte(`"items"`)) {
				t.Fatalf("200 without items: %s", w.Body)
			}
		case http.StatusBadRequest:
		default:
			t.Fatalf("status %d for %q: %s", w.Code, body, w.Body)
		}
	})
}
