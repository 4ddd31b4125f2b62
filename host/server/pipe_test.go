package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/api"
)

// TestMsgpackForwardedVerbatim: the module receives a msgpack client's
// bytes as they were sent. The request is in an encoding no encoder of
// ours writes (a map16 header, k as an int64, an unknown key, fields out
// of order), so a host that decoded and re-encoded it would hand the
// module other bytes; the fault module's "fault:echo" answers with what
// it received.
func TestMsgpackForwardedVerbatim(t *testing.T) {
	ts := start(t, Config{}, testBundle(t, "v1", 1))
	body := []byte{0xde, 0x00, 0x03, // map16 of 3
		0xa1, 'k', 0xd3, 0, 0, 0, 0, 0, 0, 0, 3, // k: int64 3
		0xa5, 'e', 'x', 't', 'r', 'a', 0xc3, // extra: true (unknown key)
	}
	body = append(body, 0xa7)
	body = append(body, "user_id"...)
	body = append(body, 0xaa)
	body = append(body, "fault:echo"...)
	resp, err := http.Post(ts.http.URL+"/v1/recommend", contentMsgpack, bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", got)
	assert.Equal(t, body, got)
}

// TestTraceFeedsMetrics: the stage timings reach the metrics for requests
// that did not ask for debug, which their answers do not carry.
func TestTraceFeedsMetrics(t *testing.T) {
	ts := start(t, Config{}, testBundle(t, "v1", 1))
	mp, err := api.EncodeRequest(userRequest(2))
	require.NoError(t, err)
	resp, err := http.Post(ts.http.URL+"/v1/recommend", contentMsgpack, bytes.NewReader(mp))
	require.NoError(t, err)
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", out)
	r, err := api.DecodeResponse(out)
	require.NoError(t, err)
	assert.Nil(t, r.Debug)
	assert.Len(t, r.Items, 10)

	status, body := post(t, ts.http.URL, userRequest(3))
	require.Equal(t, http.StatusOK, status, "%s", body)
	var jr map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(body, &jr))
	assert.NotContains(t, jr, "debug")

	_, _, metrics := get(t, ts.http.URL+"/metrics")
	for _, stage := range []string{"embed", "retrieve", "sources+filter", "rank", "order"} {
		assert.Contains(t, string(metrics), `edgerec_stage_duration_seconds_count{stage="`+stage+`"} 2`)
	}
	// The log line of each request counts its items.
	assert.Equal(t, 2, strings.Count(ts.logs.String(), `"items":10`), "%s", ts.logs)
}
