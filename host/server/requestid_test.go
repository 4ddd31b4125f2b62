package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/api"
)

// TestRequestIDInAnswer: every answer carries a request id, in its body
// and in X-Request-Id, whichever encoding the client uses: the one in the
// body if the client sent one, else its X-Request-Id, else the host's.
func TestRequestIDInAnswer(t *testing.T) {
	ts := start(t, Config{}, testBundle(t, "v1", 1))
	send := func(t *testing.T, ct string, req *api.Request, header string) (string, *api.Response) {
		t.Helper()
		var body []byte
		var err error
		if ct == contentJSON {
			body, err = json.Marshal(req)
		} else {
			body, err = api.EncodeRequest(req)
		}
		require.NoError(t, err)
		hr, err := http.NewRequest("POST", ts.http.URL+"/v1/recommend", bytes.NewReader(body))
		require.NoError(t, err)
		hr.Header.Set("Content-Type", ct)
		if header != "" {
			hr.Header.Set("X-Request-Id", header)
		}
		resp, err := http.DefaultClient.Do(hr)
		require.NoError(t, err)
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", out)
		var r api.Response
		if ct == contentJSON {
			require.NoError(t, json.Unmarshal(out, &r))
		} else {
			dec, err := api.DecodeResponse(out)
			require.NoError(t, err)
			r = *dec
		}
		return resp.Header.Get("X-Request-Id"), &r
	}
	for _, ct := range []string{contentJSON, contentMsgpack} {
		t.Run(ct, func(t *testing.T) {
			req := userRequest(1)
			hdr, r := send(t, ct, req, "")
			assert.NotEmpty(t, r.RequestID, "host-assigned id")
			assert.Equal(t, hdr, r.RequestID)
			assert.Len(t, r.Items, 10)

			hdr, r = send(t, ct, req, "from-header-1")
			assert.Equal(t, "from-header-1", r.RequestID)
			assert.Equal(t, "from-header-1", hdr)

			req.RequestID = "from-body-2"
			hdr, r = send(t, ct, req, "from-header-2")
			assert.Equal(t, "from-body-2", r.RequestID, "the body's id wins")
			assert.Equal(t, "from-body-2", hdr)
		})
	}
	t.Run("invalid body id", func(t *testing.T) {
		status, body := post(t, ts.http.URL, &api.Request{RequestID: "has space"})
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Contains(t, string(body), "request_id")
	})
}
