package main

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/edgerec/edgerec/host"
	"github.com/edgerec/edgerec/host/server"
	"github.com/edgerec/edgerec/host/sign"
)

func runServe(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "serve --bundle FILE [--addr 127.0.0.1:8080] [--wasm PATH] [--pool N] [--public-key FILE] [--require-signed] [flags]", `
Serve recommendations over HTTP from recommender.wasm run by wazero: the
edge node. A pool of module instances, each with the bundle loaded, answers
POST /v1/recommend (JSON or msgpack, the module's request schema); GET
/healthz, /readyz, /v1/bundle and /metrics (Prometheus) report on it.

Each module call has a deadline (--timeout): the request is answered with
504 when it passes. With --interruptible the call is stopped inside the
guest (wazero context cancellation) and its instance replaced; without it
(the default: it keeps the guest several times faster) the call finishes in
the background and its instance returns to the pool, or is replaced if it
runs ten times the deadline. A call that traps (crash, out of memory) loses
its instance, a fresh one replaces it, and the request is retried once on
another instance or answered with a clear 502.

The bundle is reloaded on SIGHUP, when the file changes (checked every
--watch), and on POST /admin/reload with "Authorization: Bearer TOKEN"
(token from --admin-token-file or $EDGEREC_ADMIN_TOKEN). A new bundle is
verified and loaded into a full new pool before it is swapped in; requests
in flight finish on the old one. A bundle that fails (corrupt, wrong
version, bad or missing signature) is refused with a log line and a metric,
and the old one keeps serving. Each bundle that loads is copied to
--state-dir; a node restarted with a refused bundle file starts from that
last known-good copy and says so (GET /v1/bundle "source", /readyz,
edgerec_bundle_last_known_good). SIGINT or SIGTERM drains in-flight
requests (up to --drain) and exits.

The node listens on loopback unless --addr says otherwise: --addr
0.0.0.0:8080 (or :8080) listens on every interface.

Logs are JSON lines on stderr (log/slog) with a request id per request.`, stderr)
	bundlePath := fs.String("bundle", "", "bundle file to serve")
	addr := fs.String("addr", "127.0.0.1:8080", "listen address (loopback by default; 0.0.0.0:PORT or :PORT for every interface)")
	wasmPath := fs.String("wasm", "", "recommender.wasm (default: next to the edgerec binary, then bin/recommender.wasm)")
	pool := fs.Int("pool", runtime.NumCPU(), "module instances (each holds the bundle in its own memory)")
	timeout := fs.Duration("timeout", server.DefaultTimeout, "deadline of each module call, and of the wait for a free instance")
	memMiB := fs.Int("max-memory", 1024, "linear memory limit per instance, MiB (a guest that needs more traps)")
	pubPath := fs.String("public-key", "", "verify signed bundles with this public key (PEM, from edgerec keygen)")
	requireSigned := fs.Bool("require-signed", false, "refuse unsigned bundles (needs --public-key)")
	tokenFile := fs.String("admin-token-file", "", "file holding the bearer token of POST /admin/reload (else $EDGEREC_ADMIN_TOKEN; neither: endpoint disabled)")
	watch := fs.Duration("watch", server.DefaultWatchInterval, "how often to check the bundle file for a change (0: never)")
	webDir := fs.String("web", "", "also serve this directory at /, with GET /recommender.wasm and GET /v1/bundle/file (regular files only: no dotfiles, listings or symlinks out of it)")
	stateDir := fs.String("state-dir", "", "directory for the last known-good bundle (default: a directory per bundle path in the user cache directory; \"none\": keep none)")
	drain := fs.Duration("drain", 10*time.Second, "on SIGINT/SIGTERM, how long to wait for requests in flight")
	cacheDir := fs.String("cache", host.DefaultCacheDir(), "compilation cache directory (\"\": none)")
	logLevel := fs.String("log-level", "info", "debug (a line per request), info, warn or error")
	reserve := fs.Bool("reserve-memory", true, "reserve each instance's linear memory up front, so that it grows in place: loads a bundle about twice as fast and removes the 85-100 ms stalls of wazero copying a memory that grows (Linux; --reserve-memory=false for wazero's default memory; see README)")
	interruptible := fs.Bool("interruptible", false, "stop a module call inside the guest at the deadline (wazero context cancellation); makes the guest several times slower, see README")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "bundle"); err != nil {
		return err
	}
	switch {
	case *pool < 1 || *pool > 1024:
		return usagef("--pool %d out of range [1, 1024]", *pool)
	case *timeout <= 0:
		return usagef("--timeout must be positive")
	case *memMiB < 16 || *memMiB > 4096:
		return usagef("--max-memory %d out of range [16, 4096] MiB", *memMiB)
	case *requireSigned && *pubPath == "":
		return usagef("--require-signed needs --public-key")
	case *drain < 0:
		return usagef("--drain must not be negative")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usagef("--log-level %q: want debug, info, warn or error", *logLevel)
	}
	// A missing bundle should fail before the module compiles, unless a
	// last known-good copy can serve.
	state := *stateDir
	switch state {
	case "":
		state = defaultStateDir(*bundlePath)
	case "none":
		state = ""
	}
	if _, err := os.Stat(filepath.Join(state, server.LastGoodFile)); state == "" || err != nil {
		if fi, err := os.Stat(*bundlePath); err != nil {
			return fmt.Errorf("bundle %s: %w", *bundlePath, err)
		} else if !fi.Mode().IsRegular() {
			return fmt.Errorf("bundle %s is not a regular file", *bundlePath)
		}
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))

	var pub ed25519.PublicKey
	if *pubPath != "" {
		var err error
		if pub, err = sign.ReadPublicKeyFile(*pubPath); err != nil {
			return err
		}
	}
	token, from := os.Getenv("EDGEREC_ADMIN_TOKEN"), "$EDGEREC_ADMIN_TOKEN"
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			return fmt.Errorf("admin token: %w", err)
		}
		token, from = strings.TrimSpace(string(b)), *tokenFile
	}
	if token != "" && len(token) < minTokenLen {
		return fmt.Errorf("admin token in %s is %d characters; use at least %d (e.g. openssl rand -hex 16)", from, len(token), minTokenLen)
	}
	path, wasm, err := readModule(*wasmPath)
	if err != nil {
		return err
	}
	ctx := context.Background()
	start := time.Now()
	mod, err := host.Compile(ctx, wasm, host.Options{CacheDir: *cacheDir, Interruptible: *interruptible,
		MemoryLimitPages: uint32(*memMiB) * 16, ReserveMemory: *reserve})
	if err != nil {
		return err
	}
	var srv *server.Server
	defer func() {
		// A call abandoned at its deadline may still be running in its
		// instance; closing the module would free the memory under it
		// (with --reserve-memory, unmap it and crash the process). The
		// process is exiting: leave that to the operating system.
		if srv != nil && srv.AbandonedCalls() > 0 {
			log.Warn("module calls still running at exit; not closing the module", "calls", srv.AbandonedCalls())
			return
		}
		mod.Close(ctx)
	}()
	log.Info("module compiled", "path", path, "sha256", mod.Digest(), "ms", time.Since(start).Milliseconds(),
		"cache", *cacheDir, "interruptible", *interruptible)

	// Listen before loading, so that a port in use fails fast.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	w := *watch
	if w == 0 {
		w = -1
	}
	s, err := server.New(ctx, server.Config{Module: mod, Wasm: wasm, BundlePath: *bundlePath, Pool: *pool,
		Timeout: *timeout, PublicKey: pub, RequireSigned: *requireSigned, AdminToken: token, WebDir: *webDir,
		WatchInterval: w, Logger: log, StateDir: state})
	if err != nil {
		ln.Close()
		return fmt.Errorf("bundle %s: %w", *bundlePath, err)
	}
	srv = s
	defer s.Close()
	// Signals are ours before the first line says the node serves: a
	// SIGTERM or SIGHUP sent on that line must not find the default
	// action.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	st, _ := s.Status()
	url := "http://" + displayAddr(ln.Addr())
	log.Info("serving", "url", url, "listen", ln.Addr().String(), "bundle", st.Version, "source", st.Source, "items", st.Items, "pool", *pool,
		"timeout", timeout.String(), "signature", st.Signature.Status, "state_dir", state, "startup_ms", time.Since(start).Milliseconds())
	from = ""
	if st.Source == server.SourceLastKnownGood {
		from = "; the last known-good copy, the bundle file was refused"
		if st.Configured != nil {
			from += ": " + st.Configured.Error
		}
	}
	fmt.Fprintf(stdout, "edgerec serve: %s (bundle %s, %d items, %d instances%s)\n", listenLine(ln.Addr()), strconv.Quote(st.Version), st.Items, *pool, from)
	if *webDir != "" {
		fmt.Fprintf(stdout, "  web page:  %s/\n", url)
	}
	fmt.Fprintf(stdout, "  try:       curl -s %s/v1/recommend -d '{\"k\": 5}'\n", url)

	// WriteTimeout bounds what a client that does not read can hold;
	// GET /v1/bundle/file sets its own (server.DefaultBundleFileTimeout).
	hs := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	for {
		select {
		case err := <-served:
			return err
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				go s.Reload(ctx, "sighup")
				continue
			}
			log.Info("shutting down: draining requests in flight", "signal", sig.String(), "drain", drain.String())
			s.Drain()
			sctx, cancel := context.WithTimeout(ctx, *drain)
			err := hs.Shutdown(sctx)
			cancel()
			if err != nil {
				log.Error("shutdown: requests still in flight were cut", "err", err)
			}
			if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			log.Info("stopped")
			return nil
		}
	}
}

// minTokenLen is the shortest admin token accepted, from a file or the
// environment.
const minTokenLen = 16

// defaultStateDir is the state directory of a node serving bundlePath:
// one per bundle path under the user cache directory, so that two nodes
// serving different files on one machine keep their own last known-good
// bundle. "" when there is no cache directory.
func defaultStateDir(bundlePath string) string {
	cache, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	abs, err := filepath.Abs(bundlePath)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(cache, "edgerec", "state", hex.EncodeToString(sum[:8]))
}

// listenLine describes where the node listens, truthfully: a URL to open
// and, for a loopback or unspecified address, which interfaces listen.
func listenLine(a net.Addr) string {
	url := "http://" + displayAddr(a)
	t, ok := a.(*net.TCPAddr)
	switch {
	case !ok:
		return url
	case t.IP == nil || t.IP.IsUnspecified():
		return url + " (all interfaces)"
	case t.IP.IsLoopback():
		return fmt.Sprintf("%s (loopback only; --addr 0.0.0.0:%d for all interfaces)", url, t.Port)
	}
	return url
}

// displayAddr turns a listen address into one a browser can open.
func displayAddr(a net.Addr) string {
	t, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	if t.IP == nil || t.IP.IsUnspecified() {
		return fmt.Sprintf("localhost:%d", t.Port)
	}
	return t.String()
}
