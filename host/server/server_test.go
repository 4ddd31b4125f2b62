package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bloom/bloomtest"
	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/bundle/bundletest"
	"github.com/edgerec/edgerec/host"
	"github.com/edgerec/edgerec/host/sign"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testItems = 300

// testBundle returns a valid bundle labelled version.
func testBundle(t testing.TB, version string, seed uint64) []byte {
	t.Helper()
	b := bundletest.Random(testItems, 16, seed)
	b.Manifest.Version = version
	data, err := bundle.Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// logBuffer collects the server's logs for assertions and failure output.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

type testServer struct {
	*Server
	http *httptest.Server
	path string
	logs *logBuffer
}

// start writes data to a bundle file and serves it on loopback. cfg's
// Module defaults to fastModule, Pool to 2, Timeout to 30 s, and the file
// watch is off.
func start(t testing.TB, cfg Config, data []byte) *testServer {
	t.Helper()
	ts := &testServer{path: filepath.Join(t.TempDir(), "serve.bundle"), logs: &logBuffer{}}
	if err := os.WriteFile(ts.path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if cfg.Module == nil {
		cfg.Module = fastModule
	}
	if cfg.Pool == 0 {
		cfg.Pool = 2
	}
	if cfg.WatchInterval == 0 {
		cfg.WatchInterval = -1
	}
	if cfg.Timeout == 0 {
		// Generous: a busy test machine must not turn into 503s or 504s
		// in tests that are not about deadlines.
		cfg.Timeout = 30 * time.Second
	}
	cfg.BundlePath = ts.path
	cfg.Logger = slog.New(slog.NewJSONHandler(ts.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts.Server = s
	ts.http = httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ts.http.Close()
		s.Close()
		if t.Failed() {
			t.Logf("server logs:\n%s", ts.logs)
		}
	})
	waitFor(t, "a full pool", func() bool { live, idle := ts.pool(); return live == cfg.Pool && idle == cfg.Pool })
	return ts
}

// pool returns the live and idle instances of the current bundle.
func (ts *testServer) pool() (live, idle int) {
	g := ts.acquire()
	if g == nil {
		return 0, 0
	}
	defer g.release()
	live, idle, _ = g.stats()
	return live, idle
}

// replace writes data over the bundle file atomically.
func (ts *testServer) replace(t *testing.T, data []byte) {
	t.Helper()
	tmp := ts.path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, ts.path); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// post sends a JSON request and returns the status and the body.
func post(t testing.TB, url string, req any) (int, []byte) {
	t.Helper()
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(url+"/v1/recommend", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

func decode[T any](t testing.TB, body []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%v in %s", err, body)
	}
	return v
}

func get(t testing.TB, url string) (int, http.Header, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body
}

func userRequest(i int) *api.Request {
	return &api.Request{K: 10, Context: api.Context{Region: "eu", Age: 30}, History: []api.Event{
		{Item: bundletest.ID(i % testItems)}, {Item: bundletest.ID((i * 7) % testItems)}, {Item: bundletest.ID((i * 13) % testItems)}}}
}

func TestRecommendAPI(t *testing.T) {
	ts := start(t, Config{}, testBundle(t, "v1", 1))
	url := ts.http.URL

	status, body := post(t, url, userRequest(1))
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	resp := decode[api.Response](t, body)
	if len(resp.Items) != 10 || resp.BundleVersion != "v1" || resp.Debug != nil {
		t.Errorf("response %+v", resp)
	}

	// The same request in msgpack gives the same items.
	mp, _ := api.EncodeRequest(userRequest(1))
	hr, err := http.Post(url+"/v1/recommend", "application/msgpack", bytes.NewReader(mp))
	if err != nil {
		t.Fatal(err)
	}
	mbody, _ := io.ReadAll(hr.Body)
	hr.Body.Close()
	if hr.StatusCode != http.StatusOK || hr.Header.Get("Content-Type") != "application/msgpack" {
		t.Fatalf("msgpack: status %d, type %s: %s", hr.StatusCode, hr.Header.Get("Content-Type"), mbody)
	}
	mresp, err := api.DecodeResponse(mbody)
	if err != nil {
		t.Fatal(err)
	}
	if len(mresp.Items) != len(resp.Items) || mresp.Items[0].ID != resp.Items[0].ID {
		t.Errorf("msgpack items %v, JSON items %v", mresp.Items, resp.Items)
	}
	if hr.Header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id")
	}

	// Debug is returned only when asked for.
	req := userRequest(2)
	req.Debug = true
	_, body = post(t, url, req)
	if d := decode[api.Response](t, body).Debug; d == nil || len(d.Stages) == 0 {
		t.Errorf("debug asked, got %s", body)
	}

	for _, c := range []struct {
		name, ctype, body string
		status            int
		msg               string
	}{
		{"malformed JSON", "application/json", `{"k": 3`, 400, "malformed JSON"},
		{"unknown field", "application/json", `{"k": 3, "kk": 1}`, 400, "unknown field"},
		{"k out of range", "application/json", `{"k": 5000}`, 400, "out of range"},
		{"malformed msgpack", "application/msgpack", "\xc1", 400, "malformed request"},
		{"wrong type", "text/plain", "hello", 415, "Content-Type"},
		{"oversized", "application/json", `{"user_id": "` + strings.Repeat("x", api.MaxRequestBytes) + `"}`, 400, "over the limit"},
		{"curl default type", "application/x-www-form-urlencoded", `{"k": 2}`, 200, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, err := http.Post(url+"/v1/recommend", c.ctype, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status || !strings.Contains(string(b), c.msg) {
				t.Errorf("status %d, body %.200s; want %d with %q", resp.StatusCode, b, c.status, c.msg)
			}
		})
	}

	if status, _, body := get(t, url+"/healthz"); status != 200 {
		t.Errorf("healthz: %d %s", status, body)
	}
	if status, _, body := get(t, url+"/readyz"); status != 200 {
		t.Errorf("readyz: %d %s", status, body)
	}
	status, _, body = get(t, url+"/v1/bundle")
	st := decode[Status](t, body)
	if status != 200 || st.Version != "v1" || st.Items != testItems || st.Signature.Status != "unsigned" || st.Instances != 2 ||
		st.SHA256 != sha256Hex(testBundle(t, "v1", 1)) || st.MemoryBytes == 0 {
		t.Errorf("/v1/bundle: %d %+v", status, st)
	}
	_, _, metrics := get(t, url+"/metrics")
	for _, want := range []string{
		`edgerec_requests_total{code="200"} 4`,
		`edgerec_requests_total{code="400"} 5`,
		`edgerec_request_duration_seconds_count 10`,
		`edgerec_stage_duration_seconds_count{stage="rank"} 4`,
		`edgerec_instances 2`,
		`edgerec_bundle_reloads_total{result="ok"} 1`,
		`edgerec_traps_total 0`,
		`edgerec_bundle_info{version="v1"`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// Without --web, no static files.
	if status, _, _ := get(t, url+"/recommender.wasm"); status != 404 {
		t.Errorf("/recommender.wasm without WebDir: %d", status)
	}
	if status, _, _ := get(t, url+"/v1/recommend"); status != http.StatusMethodNotAllowed {
		t.Errorf("GET /v1/recommend: %d", status)
	}
	// Draining fails readiness but still answers.
	ts.Drain()
	if status, _, _ := get(t, url+"/readyz"); status != 503 {
		t.Errorf("readyz while draining: %d", status)
	}
	if status, _ := post(t, url, userRequest(3)); status != 200 {
		t.Errorf("recommend while draining: %d", status)
	}
}

// loadResult counts what a load run saw.
type loadResult struct {
	ok, failed int
	versions   map[string]int
	firstErr   string
}

// load sends requests from clients goroutines until ctx ends.
func load(ctx context.Context, url string, clients int) loadResult {
	var mu sync.Mutex
	res := loadResult{versions: map[string]int{}}
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; ctx.Err() == nil; i += clients {
				b, _ := json.Marshal(userRequest(i))
				resp, err := client.Post(url+"/v1/recommend", "application/json", bytes.NewReader(b))
				var r api.Response
				var msg string
				if err == nil {
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						msg = fmt.Sprintf("status %d: %s", resp.StatusCode, body)
					} else if err := json.Unmarshal(body, &r); err != nil || len(r.Items) == 0 {
						msg = fmt.Sprintf("bad response %s", body)
					}
				} else {
					msg = err.Error()
				}
				mu.Lock()
				if msg != "" {
					res.failed++
					if res.firstErr == "" {
						res.firstErr = msg
					}
				} else {
					res.ok++
					res.versions[r.BundleVersion]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return res
}

// TestSustainedLoad: four clients for two seconds, no error.
func TestSustainedLoad(t *testing.T) {
	ts := start(t, Config{}, testBundle(t, "v1", 1))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	res := load(ctx, ts.http.URL, 4)
	t.Logf("%d requests answered", res.ok)
	if res.failed != 0 || res.ok == 0 {
		t.Fatalf("%d ok, %d failed; first: %s", res.ok, res.failed, res.firstErr)
	}
}

// TestReloadUnderLoad: swaps in the middle of the load (by Reload, by the
// file watch and by the admin endpoint) fail no request, and every
// response comes from one of the bundles.
func TestReloadUnderLoad(t *testing.T) {
	const token = "0123456789abcdef0123"
	ts := start(t, Config{AdminToken: token, WatchInterval: 20 * time.Millisecond}, testBundle(t, "v1", 1))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan loadResult)
	go func() { done <- load(ctx, ts.http.URL, 4) }()

	version := func() string { st, _ := ts.Status(); return st.Version }
	time.Sleep(200 * time.Millisecond)
	ts.replace(t, testBundle(t, "v2", 2))
	if _, err := ts.Reload(context.Background(), "test"); err != nil {
		t.Fatal(err)
	}
	if v := version(); v != "v2" {
		t.Errorf("after Reload: serving %s, want v2", v)
	}
	// The file watch picks up the next one.
	ts.replace(t, testBundle(t, "v3", 3))
	waitFor(t, "the file watch to load v3", func() bool { return version() == "v3" })
	// The admin endpoint, the last.
	ts.replace(t, testBundle(t, "v4", 4))
	req, _ := http.NewRequest(http.MethodPost, ts.http.URL+"/admin/reload", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// The watch may have been first: then the admin reload finds it unchanged.
	if r := decode[ReloadResult](t, body); resp.StatusCode != 200 || r.Version != "v4" {
		t.Errorf("admin reload: %d %s", resp.StatusCode, body)
	}
	time.Sleep(200 * time.Millisecond)
	cancel()
	res := <-done
	t.Logf("%d requests, by bundle %v", res.ok, res.versions)
	if res.failed != 0 {
		t.Fatalf("%d requests failed during the swaps; first: %s", res.failed, res.firstErr)
	}
	for v := range res.versions {
		if !strings.HasPrefix(v, "v") {
			t.Errorf("response from bundle %q", v)
		}
	}
	if res.versions["v1"] == 0 || res.versions["v4"] == 0 {
		t.Errorf("responses by bundle %v: want some from v1 and v4", res.versions)
	}
	// The old pools were closed: only the current one is alive.
	waitFor(t, "a full pool", func() bool { live, idle := ts.pool(); return live == 2 && idle == 2 })
}

// TestBadBundleUnderLoad: corrupt, truncated, wrong-version and
// unparseable bundles are refused, fail no request, and the old bundle
// keeps serving.
func TestBadBundleUnderLoad(t *testing.T) {
	ts := start(t, Config{}, testBundle(t, "v1", 1))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan loadResult)
	go func() { done <- load(ctx, ts.http.URL, 4) }()
	time.Sleep(100 * time.Millisecond)

	good := testBundle(t, "v2", 2)
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0x40
	wrongMajor := bytes.Clone(good)
	wrongMajor[8] = bundle.Major + 1
	// A bundle whose container is sound but whose content the module
	// refuses: a query tower of the wrong shape.
	b := bundletest.Random(testItems, 16, 5)
	b.Manifest.Version = "bad-content"
	enc, err := bundle.Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	h, sections, err := bundle.ReadStored(enc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range sections {
		if sections[i].Tag == bundle.TagQuery {
			sections[i].Data, sections[i].Flags, sections[i].Raw = []byte{0x80}, 0, 1
		}
	}
	badContent, err := bundle.Relayout(h.Major, h.Minor, sections)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		data []byte
		msg  string
	}{
		{"flipped byte", flipped, "checksum"},
		{"truncated", good[:len(good)/3], "truncated"},
		{"empty", nil, "truncated"},
		{"wrong major version", wrongMajor, fmt.Sprintf("%d.%d", bundle.Major+1, h.Minor)},
		{"bad content", badContent, "corrupt section QTWR"}, // checked natively, before any instance
	} {
		ts.replace(t, c.data)
		res, err := ts.Reload(context.Background(), "test")
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), c.msg) || res.Result != "refused" || res.Version != "v1" {
			t.Errorf("%s: %+v, %v; want refused with %q while serving v1", c.name, res, err, c.msg)
		}
	}
	os.Remove(ts.path)
	if _, err := ts.Reload(context.Background(), "test"); !errors.Is(err, ErrRefused) {
		t.Errorf("missing file: %v", err)
	}
	time.Sleep(100 * time.Millisecond)
	cancel()
	res := <-done
	if res.failed != 0 || res.ok == 0 {
		t.Fatalf("%d ok, %d failed; first: %s", res.ok, res.failed, res.firstErr)
	}
	if len(res.versions) != 1 || res.versions["v1"] != res.ok {
		t.Errorf("responses by bundle %v, want all from v1", res.versions)
	}
	if st, _ := ts.Status(); st.Version != "v1" {
		t.Errorf("serving %s, want v1", st.Version)
	}
	if n := ts.metrics.reloadCount("refused"); n != 6 {
		t.Errorf("refused reloads %d, want 6", n)
	}
	if !strings.Contains(ts.logs.String(), "bundle refused; the current one keeps serving") {
		t.Error("no log line for the refusal")
	}
}

func TestSignaturePolicy(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	pub := priv.Public().(ed25519.PublicKey)
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, 32))
	signedBy := func(k ed25519.PrivateKey, version string, seed uint64) []byte {
		b, err := sign.Sign(testBundle(t, version, seed), k)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	unsigned := testBundle(t, "unsigned", 1)

	// Refused at start: unsigned with RequireSigned, and another key.
	for name, data := range map[string][]byte{"unsigned": unsigned, "other key": signedBy(other, "x", 1)} {
		path := filepath.Join(t.TempDir(), "b")
		os.WriteFile(path, data, 0o644)
		_, err := New(context.Background(), Config{Module: fastModule, BundlePath: path, Pool: 1, PublicKey: pub, RequireSigned: true,
			WatchInterval: -1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if !errors.Is(err, ErrRefused) {
			t.Errorf("%s at start: %v, want ErrRefused", name, err)
		}
	}

	ts := start(t, Config{PublicKey: pub, RequireSigned: true}, signedBy(priv, "s1", 1))
	st, _ := ts.Status()
	if st.Signature.Status != "valid" || st.Signature.KeyID != fmt.Sprintf("%x", sign.KeyID(pub)) || st.Format != formatOf(t, signedBy(priv, "s1", 1)) {
		t.Errorf("status %+v", st)
	}
	// Modified after signing (checksums fixed up): refused.
	h, sections, _ := bundle.ReadStored(signedBy(priv, "s2", 2))
	for i := range sections {
		if sections[i].Tag == bundle.TagEmbeddings {
			d := bytes.Clone(sections[i].Data)
			d[0] ^= 1
			sections[i].Data = d
		}
	}
	tampered, err := bundle.Relayout(h.Major, h.Minor, sections)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"unsigned": unsigned, "other key": signedBy(other, "o", 3), "tampered": tampered} {
		ts.replace(t, data)
		if _, err := ts.Reload(context.Background(), "test"); !errors.Is(err, ErrRefused) {
			t.Errorf("%s: %v, want ErrRefused", name, err)
		}
	}
	ts.replace(t, signedBy(priv, "s3", 3))
	if _, err := ts.Reload(context.Background(), "test"); err != nil {
		t.Errorf("a validly signed bundle: %v", err)
	}
	if status, body := post(t, ts.http.URL, userRequest(1)); status != 200 || decode[api.Response](t, body).BundleVersion != "s3" {
		t.Errorf("after the signed reload: %d %s", status, body)
	}

	// Without a public key a signed bundle serves, unverified.
	ts2 := start(t, Config{}, signedBy(priv, "s1", 1))
	if st, _ := ts2.Status(); st.Signature.Status != "unverified" {
		t.Errorf("no public key: %+v", st.Signature)
	}
}

// TestTrap: a request that makes the module trap is answered with a
// clear error (it traps again on the retry), other requests are served
// meanwhile, and the pool returns to full strength.
func TestTrap(t *testing.T) {
	for _, fault := range []string{"fault:exit", "fault:oom"} {
		t.Run(fault, func(t *testing.T) {
			// A generous deadline: running out of memory takes a while on
			// a busy machine, and this test is about traps, not time.
			ts := start(t, Config{Pool: 2, Timeout: time.Minute}, testBundle(t, "v1", 1))
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan loadResult)
			go func() { done <- load(ctx, ts.http.URL, 2) }()
			status, body := post(t, ts.http.URL, &api.Request{UserID: fault, K: 3})
			if status != http.StatusBadGateway || !strings.Contains(string(body), "trapped") {
				t.Errorf("status %d: %s; want 502 naming the trap", status, body)
			}
			cancel()
			if res := <-done; res.failed != 0 {
				t.Errorf("%d other requests failed; first: %s", res.failed, res.firstErr)
			}
			waitFor(t, "the pool to be full again", func() bool { live, idle := ts.pool(); return live == 2 && idle == 2 })
			if status, _ := post(t, ts.http.URL, userRequest(1)); status != 200 {
				t.Errorf("after the trap: %d", status)
			}
			if n := ts.metrics.traps.Load(); n != 2 {
				t.Errorf("traps %d, want 2 (the request and its retry)", n)
			}
			if n := ts.metrics.retries.Load(); n != 1 {
				t.Errorf("retries %d, want 1", n)
			}
		})
	}
}

// TestDeadline: a request that runs past its deadline is answered with
// 504; on an interruptible module the guest is stopped (a trap that
// replaces the instance), otherwise the instance finishes its call and
// returns to the pool.
func TestDeadline(t *testing.T) {
	for _, c := range []struct {
		name         string
		module       *host.Module
		timeout      time.Duration
		spin         string
		replacements uint64
	}{
		// 60 s: only an interrupted call lets the test end in time.
		{"interruptible", slowModule, 300 * time.Millisecond, "fault:spin:60000", 1},
		// Back within abandonGrace deadlines: the instance returns.
		{"abandoned", fastModule, 300 * time.Millisecond, "fault:spin:1500", 0},
		// Still running after abandonGrace deadlines: replaced.
		{"abandoned and replaced", fastModule, 100 * time.Millisecond, "fault:spin:3000", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts := start(t, Config{Module: c.module, Pool: 2, Timeout: c.timeout}, testBundle(t, "v1", 1))
			status, body := post(t, ts.http.URL, &api.Request{UserID: c.spin, K: 3})
			if status != http.StatusGatewayTimeout || !strings.Contains(string(body), "deadline") {
				t.Errorf("status %d: %s; want 504", status, body)
			}
			if status, body := post(t, ts.http.URL, userRequest(1)); status != 200 {
				t.Errorf("next request: %d %s", status, body)
			}
			waitFor(t, "the pool to be full again", func() bool { live, idle := ts.pool(); return live == 2 && idle == 2 })
			if n := ts.metrics.timeouts.Load(); n != 1 {
				t.Errorf("timeouts %d, want 1", n)
			}
			wantTraps := uint64(0)
			if c.module.Interruptible() {
				wantTraps = 1
			}
			if n := ts.metrics.traps.Load(); n != wantTraps {
				t.Errorf("traps %d, want %d", n, wantTraps)
			}
			if n := ts.metrics.replacements.Load(); n != c.replacements {
				t.Errorf("replacements %d, want %d", n, c.replacements)
			}
			waitFor(t, "the abandoned call to end", func() bool { return ts.metrics.abandoned.Load() == 0 })
			if live, _ := ts.pool(); live != 2 {
				t.Errorf("%d instances alive, want 2", live)
			}
		})
	}
}

// TestGracefulShutdown: a request in flight when shutdown starts is
// answered.
func TestGracefulShutdown(t *testing.T) {
	ts := start(t, Config{Timeout: 5 * time.Second}, testBundle(t, "v1", 1))
	got := make(chan int)
	go func() {
		status, _ := post(t, ts.http.URL, &api.Request{UserID: "fault:spin:300", K: 3})
		got <- status
	}()
	waitFor(t, "the request to be running", func() bool { _, idle := ts.pool(); return idle == 1 })
	ts.Drain()
	ts.http.Config.Shutdown(context.Background())
	if status := <-got; status != 200 {
		t.Errorf("in-flight request during shutdown: %d", status)
	}
}

func TestAdminReload(t *testing.T) {
	const token = "0123456789abcdef0123"
	ts := start(t, Config{AdminToken: token}, testBundle(t, "v1", 1))
	call := func(auth string) (int, ReloadResult) {
		req, _ := http.NewRequest(http.MethodPost, ts.http.URL+"/admin/reload", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r ReloadResult
		json.NewDecoder(resp.Body).Decode(&r)
		return resp.StatusCode, r
	}
	for _, auth := range []string{"", "Bearer wrong", token, "Basic " + token} {
		if status, _ := call(auth); status != http.StatusUnauthorized {
			t.Errorf("Authorization %q: %d, want 401", auth, status)
		}
	}
	if status, r := call("Bearer " + token); status != 200 || r.Result != "unchanged" {
		t.Errorf("same file: %d %+v", status, r)
	}
	ts.replace(t, testBundle(t, "v2", 2))
	if status, r := call("Bearer " + token); status != 200 || r.Result != "ok" || r.Version != "v2" {
		t.Errorf("new file: %d %+v", status, r)
	}
	ts.replace(t, []byte("garbage"))
	if status, r := call("Bearer " + token); status != http.StatusUnprocessableEntity || r.Result != "refused" || r.Version != "v2" || r.Error == "" {
		t.Errorf("bad file: %d %+v", status, r)
	}

	off := start(t, Config{}, testBundle(t, "v1", 1))
	req, _ := http.NewRequest(http.MethodPost, off.http.URL+"/admin/reload", nil)
	req.Header.Set("Authorization", "Bearer ")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("without a token configured: %d, want 404", resp.StatusCode)
	}
}

func TestWeb(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "index.html"), []byte("<h1>edgerec</h1>"), 0o644)
	data := testBundle(t, "v1", 1)
	ts := start(t, Config{WebDir: dir, Wasm: testWasm}, data)
	status, _, body := get(t, ts.http.URL+"/")
	if status != 200 || !strings.Contains(string(body), "edgerec") {
		t.Errorf("/: %d %s", status, body)
	}
	status, h, body := get(t, ts.http.URL+"/recommender.wasm")
	if status != 200 || h.Get("Content-Type") != "application/wasm" || !bytes.Equal(body, testWasm) {
		t.Errorf("/recommender.wasm: %d %s, %d bytes", status, h.Get("Content-Type"), len(body))
	}
	// Go's client asks for gzip and decompresses: the bytes arrive as they
	// are, under the gzip variant's ETag (TestCompressedFiles negotiates).
	status, h, body = get(t, ts.http.URL+"/v1/bundle/file")
	etag := h.Get("ETag")
	if status != 200 || !bytes.Equal(body, data) || etag != `"`+sha256Hex(data)+`.gzip"` || h.Get("Cache-Control") != "no-cache" {
		t.Errorf("/v1/bundle/file: %d, etag %s, cache %s, %d bytes", status, etag, h.Get("Cache-Control"), len(body))
	}
	req, _ := http.NewRequest(http.MethodGet, ts.http.URL+"/v1/bundle/file", nil)
	req.Header.Set("If-None-Match", etag)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match of the current digest: %d, want 304", resp.StatusCode)
	}
	// The API still answers beside the files.
	if status, _ := post(t, ts.http.URL, userRequest(1)); status != 200 {
		t.Errorf("recommend with WebDir: %d", status)
	}
}

func TestConfigErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b")
	os.WriteFile(path, testBundle(t, "v1", 1), 0o644)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for name, cfg := range map[string]Config{
		"no module":            {BundlePath: path},
		"no path":              {Module: fastModule},
		"negative pool":        {Module: fastModule, BundlePath: path, Pool: -1},
		"require without key":  {Module: fastModule, BundlePath: path, RequireSigned: true},
		"web dir missing":      {Module: fastModule, BundlePath: path, WebDir: filepath.Join(path, "nope")},
		"missing bundle":       {Module: fastModule, BundlePath: path + ".missing"},
		"short public key":     {Module: fastModule, BundlePath: path, PublicKey: []byte{1}},
		"negative timeout":     {Module: fastModule, BundlePath: path, Timeout: -1},
		"bundle is not a file": {Module: fastModule, BundlePath: filepath.Dir(path)},
	} {
		cfg.Logger = quiet
		cfg.WatchInterval = -1
		if s, err := New(context.Background(), cfg); err == nil {
			s.Close()
			t.Errorf("%s: no error", name)
		}
	}
}

// soakAdversarial returns the requests that cost the most work per byte
// (issue 18, item 1): a saturated consumed filter, a full allow-list, and
// an allow-list that the exclusions cancel. The module answers each within
// its per-request budget.
func soakAdversarial() map[string]*api.Request {
	var allow []string
	for i := range api.MaxExclude {
		allow = append(allow, bundletest.ID(i%testItems)+fmt.Sprint("-", i/testItems))
	}
	var half []string
	for i := range testItems {
		half = append(half, bundletest.ID(i))
	}
	return map[string]*api.Request{
		"all-ones consumed filter":  {K: 500, Consumed: bloomtest.Full(1<<16, 7)},
		"allow-list of unknown ids": {K: 500, Filters: &api.Filters{Allow: allow}},
		"allow = exclude":           {K: 500, Filters: &api.Filters{Allow: half, Exclude: half}},
	}
}

// TestSoak runs only with EDGEREC_SOAK set to a duration (make soak):
// four clients load the server while, every second, the bundle changes
// (a good one, then a corrupt one, then one of bundletest.Hostiles in
// turn), the adversarial requests of soakAdversarial are answered, and a
// request makes the module trap. No ordinary request may fail, and the
// pool must end full.
func TestSoak(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("EDGEREC_SOAK"))
	if err != nil {
		t.Skip("set EDGEREC_SOAK=2m (make soak) to run the soak test")
	}
	ts := start(t, Config{Pool: 2, Timeout: 5 * time.Second, StateDir: t.TempDir()}, testBundle(t, "v0", 1))
	var hostile []bundletest.Hostile
	for _, h := range bundletest.Hostiles(testItems, 16, 9) {
		if h.Want != "" {
			hostile = append(hostile, h)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	done := make(chan loadResult)
	go func() { done <- load(ctx, ts.http.URL, 4) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	rounds := 0
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-tick.C:
			rounds++
			ts.replace(t, testBundle(t, fmt.Sprintf("v%d", rounds), uint64(rounds)))
			if _, err := ts.Reload(context.Background(), "soak"); err != nil {
				t.Errorf("round %d: %v", rounds, err)
			}
			ts.replace(t, []byte("corrupt"))
			if _, err := ts.Reload(context.Background(), "soak"); !errors.Is(err, ErrRefused) {
				t.Errorf("round %d: corrupt bundle: %v", rounds, err)
			}
			h := hostile[rounds%len(hostile)]
			ts.replace(t, h.Data)
			if _, err := ts.Reload(context.Background(), "soak"); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), h.Want) {
				t.Errorf("round %d: %s: %v, want refused with %q", rounds, h.Name, err, h.Want)
			}
			if status, _ := post(t, ts.http.URL, &api.Request{UserID: "fault:exit", K: 3}); status != http.StatusBadGateway {
				t.Errorf("round %d: trap request: %d", rounds, status)
			}
			for name, req := range soakAdversarial() {
				if status, body := post(t, ts.http.URL, req); status != http.StatusOK {
					t.Errorf("round %d: adversarial request %s: %d %s", rounds, name, status, body)
				}
			}
		}
	}
	res := <-done
	t.Logf("%s: %d requests, %d reload rounds, %d bundles served, %d traps", d, res.ok, rounds, len(res.versions), ts.metrics.traps.Load())
	if res.failed != 0 {
		t.Fatalf("%d requests failed; first: %s", res.failed, res.firstErr)
	}
	waitFor(t, "a full pool", func() bool { live, idle := ts.pool(); return live == 2 && idle == 2 })
}

// TestCompressedFiles: the module and the bundle file are served as zstd
// or gzip to clients that accept them (zstd first), as they are to those
// that do not, each variant with its own strong ETag, Vary on
// Accept-Encoding, and 304 for a matching If-None-Match.
func TestCompressedFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "index.html"), []byte("<h1>edgerec</h1>"), 0o644)
	data := testBundle(t, "v1", 1)
	ts := start(t, Config{WebDir: dir, Wasm: testWasm}, data)
	fetch := func(path, accept, ifNoneMatch string) (*http.Response, []byte) {
		req, _ := http.NewRequest(http.MethodGet, ts.http.URL+path, nil)
		req.Header.Set("Accept-Encoding", accept) // set: the client does not decompress
		if ifNoneMatch != "" {
			req.Header.Set("If-None-Match", ifNoneMatch)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, body
	}
	for _, f := range []struct {
		path string
		want []byte
	}{{"/recommender.wasm", testWasm}, {"/v1/bundle/file", data}} {
		for _, c := range []struct{ accept, coding string }{
			{"gzip, deflate, br, zstd", "zstd"}, {"gzip", "gzip"}, {"zstd;q=0, gzip;q=0.5", "gzip"},
			{"identity", ""}, {"br", ""},
		} {
			resp, body := fetch(f.path, c.accept, "")
			require.Equal(t, 200, resp.StatusCode, "%s %q", f.path, c.accept)
			assert.Equal(t, c.coding, resp.Header.Get("Content-Encoding"), "%s %q", f.path, c.accept)
			assert.Contains(t, resp.Header.Values("Vary"), "Accept-Encoding")
			var plain []byte
			switch c.coding {
			case "zstd":
				dec, err := zstd.NewReader(nil)
				require.NoError(t, err)
				plain, err = dec.DecodeAll(body, nil)
				require.NoError(t, err)
				dec.Close()
				assert.Less(t, len(body), len(f.want), "%s: zstd made it larger", f.path)
			case "gzip":
				r, err := gzip.NewReader(bytes.NewReader(body))
				require.NoError(t, err)
				plain, err = io.ReadAll(r)
				require.NoError(t, err)
			default:
				plain = body
			}
			assert.True(t, bytes.Equal(plain, f.want), "%s %q: the bytes differ", f.path, c.accept)
			etag := resp.Header.Get("ETag")
			if c.coding != "" {
				assert.True(t, strings.HasSuffix(etag, "."+c.coding+`"`), "%s %q: ETag %s", f.path, c.accept, etag)
			}
			again, _ := fetch(f.path, c.accept, etag)
			assert.Equal(t, http.StatusNotModified, again.StatusCode, "%s %q with If-None-Match", f.path, c.accept)
		}
	}
}

// formatOf returns the format version data's header names, "major.minor".
func formatOf(t *testing.T, data []byte) string {
	t.Helper()
	h, err := bundle.ReadHeader(data)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d.%d", h.Major, h.Minor)
}
