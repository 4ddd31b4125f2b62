package server

import (
	"bytes"
	"context"
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
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle/bundletest"
)

// within fails the test when f does not return within d.
func within(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not return within %v", what, d)
	}
}

// TestLastKnownGood: a node restarted with a refused bundle on disk starts
// from the last bundle that verified and loaded, says so in /v1/bundle,
// /readyz and /metrics, and takes the configured file again once it is
// good.
func TestLastKnownGood(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	ts := start(t, Config{StateDir: state}, testBundle(t, "v1", 1))
	st, _ := ts.Status()
	assert.Equal(t, SourceConfigured, st.Source)

	hostile := bundletest.Hostiles(testItems, 16, 3)[0] // NaN in the ranker
	require.NotEmpty(t, hostile.Want)
	for name, data := range map[string][]byte{"corrupt": []byte("corrupt"), hostile.Name: hostile.Data} {
		t.Run(name, func(t *testing.T) {
			ts.replace(t, data)
			_, err := ts.Reload(context.Background(), "test")
			require.ErrorIs(t, err, ErrRefused)

			// The restart: a new server on the same file and state.
			logs := &logBuffer{}
			s, err := New(context.Background(), Config{Module: fastModule, BundlePath: ts.path, Pool: 1, StateDir: state,
				WatchInterval: -1, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
			require.NoError(t, err, "a restart with a refused bundle on disk must serve the last known-good one")
			defer s.Close()
			hs := httptest.NewServer(s.Handler())
			defer hs.Close()

			status, _, body := get(t, hs.URL+"/v1/bundle")
			require.Equal(t, 200, status)
			st := decode[Status](t, body)
			assert.Equal(t, "v1", st.Version)
			assert.Equal(t, SourceLastKnownGood, st.Source)
			require.NotNil(t, st.Configured)
			assert.Equal(t, "refused", st.Configured.Result)
			assert.NotEmpty(t, st.Configured.Error)
			assert.NotContains(t, string(body), ts.path, "/v1/bundle must not expose the file path")

			status, _, body = get(t, hs.URL+"/readyz")
			assert.Equal(t, 200, status)
			assert.Contains(t, string(body), "last known-good")
			assert.Contains(t, string(body), "refused")

			_, _, metrics := get(t, hs.URL+"/metrics")
			assert.Contains(t, string(metrics), "edgerec_bundle_last_known_good 1")
			assert.Contains(t, string(metrics), "edgerec_bundle_configured_refused 1")
			assert.Contains(t, logs.String(), "last known-good")

			code, resp := post(t, hs.URL, userRequest(1))
			require.Equal(t, 200, code, "%s", resp)
			assert.Equal(t, "v1", decode[api.Response](t, resp).BundleVersion)
		})
	}

	// A good file again: it takes over, and the state follows it.
	ts.replace(t, testBundle(t, "v2", 2))
	logs := &logBuffer{}
	s, err := New(context.Background(), Config{Module: fastModule, BundlePath: ts.path, Pool: 1, StateDir: state,
		WatchInterval: -1, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	require.NoError(t, err)
	st, _ = s.Status()
	assert.Equal(t, "v2", st.Version)
	assert.Equal(t, SourceConfigured, st.Source)
	s.Close()
	ts.replace(t, []byte("corrupt"))
	s, err = New(context.Background(), Config{Module: fastModule, BundlePath: ts.path, Pool: 1, StateDir: state,
		WatchInterval: -1, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	require.NoError(t, err)
	st, _ = s.Status()
	assert.Equal(t, "v2", st.Version, "the last known-good bundle is the last one that loaded")
	s.Close()

	// Without a state directory a refused bundle at start is an error.
	_, err = New(context.Background(), Config{Module: fastModule, BundlePath: ts.path, Pool: 1, WatchInterval: -1,
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	require.ErrorIs(t, err, ErrRefused)
}

// TestHostileBundlesRefused: every crafted bundle of bundletest.Hostiles
// that readers must refuse is refused by a reload while the old bundle
// keeps serving; the ones a reader must skip parts of load.
func TestHostileBundlesRefused(t *testing.T) {
	ts := start(t, Config{}, testBundle(t, "v1", 1))
	for _, h := range bundletest.Hostiles(testItems, 16, 2) {
		t.Run(h.Name, func(t *testing.T) {
			ts.replace(t, h.Data)
			res, err := ts.Reload(context.Background(), "test")
			if h.Want == "" {
				require.NoError(t, err)
				// Back to v1 for the next case.
				ts.replace(t, testBundle(t, "v1", 1))
				_, err := ts.Reload(context.Background(), "test")
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrRefused)
			assert.Contains(t, err.Error(), h.Want)
			assert.Equal(t, "v1", res.Version)
			code, body := post(t, ts.http.URL, userRequest(1))
			assert.Equal(t, 200, code, "%s", body)
		})
	}
}

// blockingWriter is a ResponseWriter whose first Write blocks until
// release is closed: a client that does not read.
type blockingWriter struct {
	header   http.Header
	writing  chan struct{}
	release  chan struct{}
	once     sync.Once
	deadline time.Time
}

func (w *blockingWriter) Header() http.Header { return w.header }
func (w *blockingWriter) WriteHeader(int)     {}
func (w *blockingWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.writing) })
	<-w.release
	return len(p), nil
}
func (w *blockingWriter) SetWriteDeadline(d time.Time) error { w.deadline = d; return nil }

// TestSlowBundleDownload: a client reading GET /v1/bundle/file slowly does
// not keep the old bundle's instances alive across a reload, and the
// response has a write deadline.
func TestSlowBundleDownload(t *testing.T) {
	ts := start(t, Config{WebDir: t.TempDir(), Wasm: testWasm}, testBundle(t, "v1", 1))
	old := ts.cur.Load()
	w := &blockingWriter{header: http.Header{}, writing: make(chan struct{}), release: make(chan struct{})}
	served := make(chan struct{})
	go func() {
		defer close(served)
		ts.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/v1/bundle/file", nil))
	}()
	<-w.writing
	defer func() { close(w.release); <-served }()
	assert.False(t, w.deadline.IsZero(), "no write deadline on the bundle download")

	ts.replace(t, testBundle(t, "v2", 2))
	_, err := ts.Reload(context.Background(), "test")
	require.NoError(t, err)
	deadline := time.Now().Add(5 * time.Second)
	for {
		live, _, _ := old.stats()
		if live == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the old bundle still has %d instances alive while a download of it is in progress", live)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestBundleFileMissing: a bundle file that disappears is refused by the
// file watch as a SIGHUP would refuse it (the loaded bundle serves on),
// and the same file put back clears the refusal.
func TestBundleFileMissing(t *testing.T) {
	ts := start(t, Config{WatchInterval: 10 * time.Millisecond}, testBundle(t, "v1", 1))
	require.NoError(t, os.Rename(ts.path, ts.path+".away"))
	require.Eventually(t, func() bool {
		st, _ := ts.Status()
		return st.Configured != nil && st.Configured.Result == "refused" && strings.Contains(st.Configured.Error, "does not exist")
	}, 5*time.Second, 10*time.Millisecond, "the watch reports the missing file")
	st, _ := ts.Status()
	assert.Equal(t, "v1", st.Version, "the loaded bundle serves on")
	require.NoError(t, os.Rename(ts.path+".away", ts.path))
	require.Eventually(t, func() bool {
		st, _ := ts.Status()
		return st.Configured != nil && st.Configured.Result != "refused"
	}, 5*time.Second, 10*time.Millisecond, "the file back clears the refusal")
}

// TestBundlePathNotRegular: a FIFO or a device at the bundle path is
// refused at once, never read: reloads do not wedge, memory does not grow,
// and Close does not wait.
func TestBundlePathNotRegular(t *testing.T) {
	ts := start(t, Config{WatchInterval: 20 * time.Millisecond}, testBundle(t, "v1", 1))
	fifo := ts.path + ".fifo"
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	// Release any reader the test may leave blocked on the FIFO.
	t.Cleanup(func() {
		if f, err := os.OpenFile(fifo, os.O_RDWR|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	require.NoError(t, os.Rename(fifo, ts.path))
	within(t, 5*time.Second, "a reload of a FIFO", func() {
		_, err := ts.Reload(context.Background(), "test")
		assert.ErrorIs(t, err, ErrRefused)
		assert.ErrorContains(t, err, "not a regular file")
	})
	// The file watch saw the change too: Close must not wait on it.
	time.Sleep(100 * time.Millisecond)
	within(t, 5*time.Second, "Close with the bundle path a FIFO", ts.Close)

	// A symlink to /dev/zero: refused without reading.
	dir := t.TempDir()
	link := filepath.Join(dir, "zero.bundle")
	require.NoError(t, os.Symlink("/dev/zero", link))
	within(t, 5*time.Second, "New on /dev/zero", func() {
		_, err := New(context.Background(), Config{Module: fastModule, BundlePath: link, Pool: 1, WatchInterval: -1,
			Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
		assert.ErrorContains(t, err, "not a regular file")
	})
}

// TestStaticFiles: --web serves regular files inside its root only: no
// dotfiles, no directory listings, no symlinks out of the root.
func TestStaticFiles(t *testing.T) {
	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret.key"), []byte("SECRET"), 0o600))
	root := t.TempDir()
	files := map[string]string{
		"index.html": "<h1>edgerec</h1>", "app.js": "js", "sub/page.html": "page", "sub/index.html": "sub index",
		"list/a.txt": "a", ".env": "SECRET", ".git/HEAD": "SECRET", "sub/.hidden": "SECRET",
	}
	for name, content := range files {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(root, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, name), []byte(content), 0o644))
	}
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret.key"), filepath.Join(root, "key.pem")))
	require.NoError(t, os.Symlink(outside, filepath.Join(root, "out")))
	require.NoError(t, os.Symlink("app.js", filepath.Join(root, "alias.js")))

	ts := start(t, Config{WebDir: root, Wasm: testWasm}, testBundle(t, "v1", 1))
	for _, c := range []struct {
		path   string
		status int
		body   string
	}{
		{"/", 200, "<h1>edgerec</h1>"},
		{"/index.html", 200, "<h1>edgerec</h1>"},
		{"/app.js", 200, "js"},
		{"/sub/page.html", 200, "page"},
		{"/sub/", 200, "sub index"},
		{"/alias.js", 200, "js"},
		{"/list/", 404, ""},
		{"/.env", 404, ""},
		{"/.git/HEAD", 404, ""},
		{"/.git/", 404, ""},
		{"/sub/.hidden", 404, ""},
		{"/key.pem", 404, ""},
		{"/out/secret.key", 404, ""},
		{"/missing.js", 404, ""},
	} {
		t.Run(c.path, func(t *testing.T) {
			status, _, body := get(t, ts.http.URL+c.path)
			assert.Equal(t, c.status, status)
			assert.NotContains(t, string(body), "SECRET")
			if c.body != "" {
				assert.Equal(t, c.body, string(body))
			}
		})
	}
}

// TestUntrustedInputInLogs: a request's user id is capped in log lines.
func TestUntrustedInputInLogs(t *testing.T) {
	ts := start(t, Config{}, testBundle(t, "v1", 1))
	big := strings.Repeat("u", 900<<10)
	status, body := post(t, ts.http.URL, &api.Request{UserID: big, K: 3})
	require.Equal(t, 200, status, "%s", body)
	status, _ = post(t, ts.http.URL, &api.Request{UserID: big, K: 3, History: make([]api.Event, api.MaxListLen+1)})
	require.Equal(t, 400, status)
	for _, line := range strings.Split(ts.logs.String(), "\n") {
		assert.Less(t, len(line), 4096, "log line of %d bytes: %.200s", len(line), line)
	}
}

// TestJSONErrors: JSON clients get errors in JSON terms: no msgpack byte
// offsets, no host internals.
func TestJSONErrors(t *testing.T) {
	ts := start(t, Config{}, testBundle(t, "v1", 1))
	for _, c := range []struct {
		name string
		body string
		want string
	}{
		{"history over the list limit", `{"k": 3, "history": [` + strings.Repeat(`{"item": "x"},`, api.MaxListLen) + `{"item": "x"}]}`, "history"},
		{"encoded over the request limit", `{"k": 3, "history": [` + strings.Repeat(`{},`, 300000) + `{}]}`, "history"},
		{"filters.exclude over the list limit", `{"k": 3, "filters": {"exclude": [` + strings.Repeat(`"x",`, api.MaxListLen) + `"x"]}}`, "filters.exclude has 4097 entries"},
		{"filters.allow over the list limit", `{"k": 3, "filters": {"allow": [` + strings.Repeat(`"x",`, api.MaxListLen) + `"x"]}}`, "filters.allow has 4097 entries"},
		{"sources over the map limit", `{"k": 3, "sources": {` + sourcesJSON(api.MaxListLen+1) + `}}`, "sources has 4097 entries"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, err := http.Post(ts.http.URL+"/v1/recommend", "application/json", strings.NewReader(c.body))
			require.NoError(t, err)
			defer resp.Body.Close()
			var e struct{ Error string }
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&e))
			assert.Equal(t, 400, resp.StatusCode)
			assert.Contains(t, e.Error, c.want)
			for _, leak := range []string{"msgpack", "offset", "host:", "wire"} {
				assert.NotContains(t, e.Error, leak)
			}
		})
	}
	// msgpack clients still get the module's own words.
	mp, err := api.EncodeRequest(&api.Request{K: 3})
	require.NoError(t, err)
	resp, err := http.Post(ts.http.URL+"/v1/recommend", "application/msgpack", bytes.NewReader(mp))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
}

// sourcesJSON returns n distinct "name": 1 members of a JSON object.
func sourcesJSON(n int) string {
	m := make([]string, n)
	for i := range m {
		m[i] = fmt.Sprintf(`"s%d": 1`, i)
	}
	return strings.Join(m, ",")
}

// TestStatusHidesPath: GET /v1/bundle does not expose the bundle's path.
func TestStatusHidesPath(t *testing.T) {
	ts := start(t, Config{}, testBundle(t, "v1", 1))
	_, _, body := get(t, ts.http.URL+"/v1/bundle")
	assert.NotContains(t, string(body), ts.path)
	assert.NotContains(t, string(body), filepath.Base(ts.path))
	ts.replace(t, []byte("corrupt"))
	_, err := ts.Reload(context.Background(), "test")
	require.True(t, errors.Is(err, ErrRefused))
	_, _, body = get(t, ts.http.URL+"/v1/bundle")
	assert.NotContains(t, string(body), ts.path)
}
