package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/bundle/bundletest"
	"github.com/edgerec/edgerec/host"
	"github.com/edgerec/edgerec/host/server"
)

// TestSignCommands: keygen, bundle sign, bundle verify with their exit
// statuses.
func TestSignCommands(t *testing.T) {
	dir := t.TempDir()
	b := bundletest.Random(100, 8, 1)
	data, err := bundle.Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "x.bundle")
	os.WriteFile(path, data, 0o644)
	key := filepath.Join(dir, "release")
	out := mustRun(t, "keygen", "--out", key)
	if !strings.Contains(out, "key id") {
		t.Errorf("keygen printed %q", out)
	}
	if fi, err := os.Stat(key + ".key"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("private key file: %v, mode %v", err, fi.Mode())
	}
	if code, _, errOut := edgerec(t, "keygen", "--out", key); code != 1 || !strings.Contains(errOut, "--force") {
		t.Errorf("keygen over an existing key: exit %d, %s", code, errOut)
	}
	mustRun(t, "keygen", "--out", filepath.Join(dir, "other"))

	// Unsigned: structure valid; with a key: exit 1.
	if out := mustRun(t, "bundle", "verify", path); !strings.Contains(out, "unsigned") {
		t.Errorf("verify unsigned: %q", out)
	}
	if code, _, errOut := edgerec(t, "bundle", "verify", "--public-key", key+".pub", path); code != 1 || !strings.Contains(errOut, "not signed") {
		t.Errorf("verify unsigned with a key: exit %d, %s", code, errOut)
	}
	signed := filepath.Join(dir, "signed.bundle")
	mustRun(t, "bundle", "sign", "--key", key+".key", "--out", signed, path)
	if out := mustRun(t, "bundle", "verify", "--public-key", key+".pub", signed); !strings.Contains(out, "valid, signed by key") {
		t.Errorf("verify signed: %q", out)
	}
	var v verification
	code, jsonOut, _ := edgerec(t, "bundle", "verify", "--public-key", filepath.Join(dir, "other.pub"), "--json", signed)
	if err := json.Unmarshal([]byte(jsonOut), &v); err != nil || code != 1 || v.Valid || !v.Signed || !strings.Contains(v.Error, "another key") {
		t.Errorf("verify with another key: exit %d, %+v, %v", code, v, err)
	}
	// inspect reports the signature, verified when given a key; a key that
	// does not verify it fails the command (exit 1) after the report.
	for _, c := range []struct {
		key, status string
		code        int
	}{{"", "not verified", 0}, {key + ".pub", "valid", 0}, {filepath.Join(dir, "other.pub"), "invalid: ", 1}} {
		args := []string{"bundle", "inspect", "--json", signed}
		if c.key != "" {
			args = append(args, "--public-key", c.key)
		}
		var in inspection
		code, out, _ := edgerec(t, args...)
		if err := json.Unmarshal([]byte(out), &in); err != nil || code != c.code || !in.Signature.Present || !strings.HasPrefix(in.Signature.Status, c.status) || in.Signature.KeyID == "" {
			t.Errorf("inspect %v: exit %d, signature %+v (%v), want exit %d, status %q", args, code, in.Signature, err, c.code, c.status)
		}
	}
	// In place, and inspect still reads it.
	mustRun(t, "bundle", "sign", "--key", key+".key", path)
	if out := mustRun(t, "bundle", "inspect", path); !strings.Contains(out, "SIGN") || !strings.Contains(out, "signature ed25519 key") {
		t.Errorf("inspect of a signed bundle does not list SIGN:\n%s", out)
	}
	// A corrupt bundle: exit 1 before and after signing.
	raw, _ := os.ReadFile(path)
	raw[len(raw)/2] ^= 1
	os.WriteFile(path, raw, 0o644)
	if code, _, _ := edgerec(t, "bundle", "verify", "--public-key", key+".pub", path); code != 1 {
		t.Errorf("verify corrupt: exit %d", code)
	}
	if code, _, _ := edgerec(t, "bundle", "sign", "--key", key+".key", path); code != 1 {
		t.Errorf("sign corrupt: exit %d", code)
	}
	for _, args := range [][]string{
		{"bundle", "sign", path},
		{"bundle", "sign", "--key", key + ".key"},
		{"bundle", "verify"},
		{"keygen"},
		{"bundle", "verify", "--bogus", path},
	} {
		if code, _, _ := edgerec(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if code, _, errOut := edgerec(t, "bundle", "sign", "--key", filepath.Join(dir, "missing.key"), signed); code != 1 || !strings.Contains(errOut, "keygen") {
		t.Errorf("missing key: exit %d, %s", code, errOut)
	}
}

// TestLoadtest runs the load tool against a server on loopback.
func TestLoadtest(t *testing.T) {
	wasm, err := host.LoadModuleFile(wasmPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	mod, err := host.Compile(ctx, wasm, host.Options{CacheDir: host.DefaultCacheDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer mod.Close(ctx)
	path := filepath.Join(t.TempDir(), "b.bundle")
	data, _ := bundle.Encode(bundletest.Random(200, 16, 1))
	os.WriteFile(path, data, 0o644)
	s, err := server.New(ctx, server.Config{Module: mod, BundlePath: path, Pool: 2, WatchInterval: -1, Timeout: 30 * time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()

	for _, extra := range [][]string{{"--bundle", path}, {"--msgpack"}} {
		var rep loadReport
		out := mustRun(t, append([]string{"loadtest", "--url", hs.URL, "--concurrency", "2", "--duration", "500ms", "--json"}, extra...)...)
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Requests == 0 || rep.Errors != 0 || rep.RPS <= 0 || rep.P50 <= 0 || rep.P99 < rep.P50 || rep.Status["200"] != rep.Requests {
			t.Errorf("%v: %+v", extra, rep)
		}
	}
	// Nothing listening: every request fails, exit 1.
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	if code, _, errOut := edgerec(t, "loadtest", "--url", downURL, "--duration", "200ms", "--concurrency", "1"); code != 1 || !strings.Contains(errOut, "no request was answered") {
		t.Errorf("server down: exit %d, %s", code, errOut)
	}
	for _, args := range [][]string{
		{"loadtest"},
		{"loadtest", "--url", "http://10.1.2.3:8080"},
		{"loadtest", "--url", "ftp://127.0.0.1"},
		{"loadtest", "--url", hs.URL, "--concurrency", "0"},
	} {
		if code, _, _ := edgerec(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

// TestServeCommand starts the edgerec binary, asks it for
// recommendations, reloads it with SIGHUP after the file changes, and
// stops it with SIGTERM (exit 0).
func TestServeCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "edgerec")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	path := filepath.Join(dir, "b.bundle")
	write := func(version string) {
		b := bundletest.Random(200, 16, 1)
		b.Manifest.Version = version
		data, _ := bundle.Encode(b)
		os.WriteFile(path+".tmp", data, 0o644)
		os.Rename(path+".tmp", path)
	}
	write("one")
	state := filepath.Join(dir, "state")
	cmd := exec.Command(bin, "serve", "--bundle", path, "--wasm", wasmPath, "--addr", "127.0.0.1:0", "--pool", "1", "--watch", "0",
		"--state-dir", state)
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("no first line: %v\n%s", err, stderr.String())
	}
	url := regexp.MustCompile(`http://[0-9.:a-z]+`).FindString(line)
	if url == "" {
		t.Fatalf("no URL in %q", line)
	}
	version := func() string {
		resp, err := http.Post(url+"/v1/recommend", "application/json", strings.NewReader(`{"k": 3}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r api.Response
		json.NewDecoder(resp.Body).Decode(&r)
		if resp.StatusCode != 200 || len(r.Items) != 3 {
			t.Fatalf("status %d, %+v", resp.StatusCode, r)
		}
		return r.BundleVersion
	}
	if v := version(); v != "one" {
		t.Errorf("serving %q, want one", v)
	}
	write("two")
	cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(30 * time.Second)
	for version() != "two" {
		if time.Now().After(deadline) {
			t.Fatalf("SIGHUP did not reload\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{`"msg":"bundle loaded","trigger":"sighup"`, `"msg":"stopped"`} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("logs lack %s:\n%s", want, stderr.String())
		}
	}

	// The restart path: a refused bundle on disk, and the node starts from
	// the last known-good one, saying so.
	os.WriteFile(path, []byte("corrupt"), 0o644)
	cmd = exec.Command(bin, "serve", "--bundle", path, "--wasm", wasmPath, "--addr", "127.0.0.1:0", "--pool", "1", "--watch", "0",
		"--state-dir", state)
	stdout, _ = cmd.StdoutPipe()
	stderr.Reset()
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	defer cmd.Process.Kill()
	line, err = bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err, "a restart with a refused bundle must serve the last known-good one\n%s", stderr.String())
	assert.Contains(t, line, "last known-good")
	url = regexp.MustCompile(`http://[0-9.:a-z]+`).FindString(line)
	assert.Equal(t, "two", version())
	resp, err := http.Get(url + "/v1/bundle")
	require.NoError(t, err)
	var st server.Status
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
	resp.Body.Close()
	assert.Equal(t, server.SourceLastKnownGood, st.Source)
	cmd.Process.Signal(syscall.SIGTERM)
	assert.NoError(t, cmd.Wait())

	// --events -: standard output is the NDJSON of events alone, the
	// start-up banner on standard error.
	write("three")
	cmd = exec.Command(bin, "serve", "--bundle", path, "--wasm", wasmPath, "--addr", "127.0.0.1:0", "--pool", "1", "--watch", "0",
		"--state-dir", "none", "--events", "-")
	stdout, _ = cmd.StdoutPipe()
	errPipe, _ := cmd.StderrPipe()
	require.NoError(t, cmd.Start())
	defer cmd.Process.Kill()
	errLines := bufio.NewScanner(errPipe)
	url = ""
	kill := time.AfterFunc(time.Minute, func() { cmd.Process.Kill() }) // no banner: the scan ends
	for url == "" && errLines.Scan() {
		if strings.HasPrefix(errLines.Text(), "edgerec serve: ") {
			url = regexp.MustCompile(`http://[0-9.:a-z]+`).FindString(errLines.Text())
		}
	}
	kill.Stop()
	require.NotEmpty(t, url, "the banner on standard error")
	go func() { // keep draining the logs
		for errLines.Scan() {
		}
	}()
	assert.Equal(t, "three", version())
	event, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	var ev map[string]any
	require.NoError(t, json.Unmarshal([]byte(event), &ev), "the first line of standard output is an event: %q", event)
	assert.Equal(t, "impression", ev["type"], event)
	cmd.Process.Signal(syscall.SIGTERM)
	assert.NoError(t, cmd.Wait())
}

// TestServeStartLine: the start-up line says which interfaces listen.
func TestServeStartLine(t *testing.T) {
	assert.Equal(t, "http://127.0.0.1:8080 (loopback only; --addr 0.0.0.0:8080 for all interfaces)",
		listenLine(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}))
	assert.Equal(t, "http://localhost:8080 (all interfaces)", listenLine(&net.TCPAddr{IP: net.IPv4zero, Port: 8080}))
	assert.Equal(t, "http://localhost:8080 (all interfaces)", listenLine(&net.TCPAddr{Port: 8080}))
	assert.Equal(t, "http://10.0.0.7:8080", listenLine(&net.TCPAddr{IP: net.IPv4(10, 0, 0, 7), Port: 8080}))
}

// TestServeTokenLength: an admin token from the environment needs the
// length a token file needs.
func TestServeTokenLength(t *testing.T) {
	t.Setenv("EDGEREC_ADMIN_TOKEN", "short")
	path := filepath.Join(t.TempDir(), "b.bundle")
	require.NoError(t, os.WriteFile(path, bundletest.Encoded(50, 8, 1), 0o644))
	code, _, errOut := edgerec(t, "serve", "--bundle", path, "--wasm", wasmPath, "--addr", "127.0.0.1:0", "--state-dir", "none")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "EDGEREC_ADMIN_TOKEN")
	assert.Contains(t, errOut, "at least 16")
}

// TestInspectUntrusted: inspect escapes the strings a bundle brings, so a
// crafted version cannot forge a line, and exits 1 when a given public key
// does not verify the bundle.
func TestInspectUntrusted(t *testing.T) {
	dir := t.TempDir()
	b := bundletest.Random(50, 8, 1)
	b.Manifest.Version = "x\nsignature ed25519 key 0123456789abcdef: valid\x1b[2K"
	b.Manifest.Builder = "evil\r\nbuilder"
	data, err := bundle.Encode(b)
	require.NoError(t, err)
	path := filepath.Join(dir, "crafted.bundle")
	require.NoError(t, os.WriteFile(path, data, 0o644))
	out := mustRun(t, "bundle", "inspect", path)
	for _, line := range strings.Split(out, "\n") {
		assert.False(t, strings.HasPrefix(line, "signature ed25519 key 0123456789abcdef"), "forged line %q", line)
		assert.NotContains(t, line, "\x1b", "a raw escape sequence reached the terminal")
		assert.NotContains(t, line, "\r")
	}
	assert.Contains(t, out, `\nsignature ed25519 key`)

	mustRun(t, "keygen", "--out", filepath.Join(dir, "k"))
	mustRun(t, "keygen", "--out", filepath.Join(dir, "other"))
	signed := filepath.Join(dir, "signed.bundle")
	mustRun(t, "bundle", "sign", "--key", filepath.Join(dir, "k.key"), "--out", signed, path)
	for name, c := range map[string]struct{ file, key string }{
		"another key": {signed, filepath.Join(dir, "other.pub")},
		"unsigned":    {path, filepath.Join(dir, "k.pub")},
	} {
		for _, asJSON := range []bool{false, true} {
			args := []string{"bundle", "inspect", "--public-key", c.key, c.file}
			if asJSON {
				args = append(args, "--json")
			}
			code, stdout, _ := edgerec(t, args...)
			assert.Equal(t, 1, code, "%s (json %v): exit %d\n%s", name, asJSON, code, stdout)
		}
	}
	code, _, _ := edgerec(t, "bundle", "inspect", "--public-key", filepath.Join(dir, "k.pub"), signed)
	assert.Equal(t, 0, code)

	// A bundle with a NaN weight is refused, naming section and tensor.
	for _, h := range bundletest.Hostiles(50, 8, 1) {
		if h.Want == "" {
			continue
		}
		p := filepath.Join(dir, "hostile.bundle")
		require.NoError(t, os.WriteFile(p, h.Data, 0o644))
		code, _, errOut := edgerec(t, "bundle", "inspect", p)
		assert.Equal(t, 1, code, h.Name)
		assert.Contains(t, errOut, h.Want, h.Name)
	}
}

func TestServeUsage(t *testing.T) {
	for _, args := range [][]string{
		{"serve"},
		{"serve", "--bundle", "x", "--pool", "0"},
		{"serve", "--bundle", "x", "--require-signed"},
		{"serve", "--bundle", "x", "--log-level", "loud"},
	} {
		if code, _, _ := edgerec(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if code, _, errOut := edgerec(t, "serve", "--bundle", filepath.Join(t.TempDir(), "missing.bundle")); code != 1 || !strings.Contains(errOut, "missing.bundle") {
		t.Errorf("missing bundle: exit %d, %s", code, errOut)
	}
}

// TestServeChecksBeforeCompiling: what the flags name (the web directory,
// the public key, the bundle) is checked before the module is read: with a
// module that does not exist, the error is about the argument.
func TestServeChecksBeforeCompiling(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "b.bundle")
	require.NoError(t, os.WriteFile(path, bundletest.Encoded(50, 8, 1), 0o644))
	noModule := filepath.Join(dir, "missing.wasm")
	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"web dir missing":   {[]string{"--web", filepath.Join(dir, "nodir")}, "--web"},
		"web dir a file":    {[]string{"--web", path}, "is not a directory"},
		"public key absent": {[]string{"--public-key", filepath.Join(dir, "none.pub")}, "none.pub"},
	} {
		args := append([]string{"serve", "--bundle", path, "--wasm", noModule, "--state-dir", "none"}, c.args...)
		code, _, errOut := edgerec(t, args...)
		assert.Equal(t, 1, code, name)
		assert.Contains(t, errOut, c.want, name)
		assert.NotContains(t, errOut, "missing.wasm", "%s: the module was read first", name)
	}

	// The configuration the node starts from, without starting it.
	o, err := parseServe([]string{"--bundle", path, "--web", dir, "--state-dir", "none", "--pool", "3"})
	require.NoError(t, err)
	c, err := o.config()
	require.NoError(t, err)
	assert.Equal(t, "", c.state, "--state-dir none keeps no copy")
	assert.Equal(t, 3, c.pool)
	assert.Equal(t, dir, c.webDir)
}

// TestServeWebCompressedBundle: with --web, a bundle whose sections are
// stored compressed is served to the node's instances but refused by the
// module in the page: the node warns as it starts, naming the remedy.
func TestServeWebCompressedBundle(t *testing.T) {
	const goldens = "../../core/bundle/testdata/"
	warning := webBundleWarning(goldens + "v2.0.bundle")
	assert.Contains(t, warning, "browsers cannot load")
	assert.Contains(t, warning, "edgerec bundle upgrade")
	assert.Empty(t, webBundleWarning(goldens+"v2.0-raw.bundle"), "a raw bundle loads in the page")
	assert.Empty(t, webBundleWarning(goldens+"v4.0-lean.bundle"))

	// Logged at start, before the module is read (which fails here).
	dir := t.TempDir()
	args := []string{"serve", "--bundle", goldens + "v2.0.bundle", "--wasm", filepath.Join(dir, "missing.wasm"), "--state-dir", "none"}
	code, _, errOut := edgerec(t, append(args, "--web", dir)...)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, `"level":"WARN","msg":"--web: browsers cannot load`)
	assert.Contains(t, errOut, "edgerec bundle upgrade")
	code, _, errOut = edgerec(t, args...)
	assert.Equal(t, 1, code)
	assert.NotContains(t, errOut, "browsers cannot load", "no --web, no page to warn about")
}
