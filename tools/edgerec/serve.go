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

// serveOptions are the flags of `edgerec serve`, checked for range.
type serveOptions struct {
	bundlePath, addr, wasmPath string
	pool                       int
	timeout, watch, drain      time.Duration
	memMiB                     int
	pubPath                    string
	requireSigned              bool
	tokenFile                  string
	webDir, stateDir, cacheDir string
	level                      slog.Level
	reserve, interruptible     bool
	events                     server.EventFlags
}

// serveConfig is what the node starts from: the options, and what they
// name read and checked (state directory, public key, admin token), all
// before the module compiles.
type serveConfig struct {
	serveOptions
	state string // last known-good directory ("" none)
	pub   ed25519.PublicKey
	token string
	// webWarning, when not "", says why browsers cannot load the bundle
	// the node hands them (--web): logged as the node starts.
	webWarning string
}

const serveAbout = `
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

Logs are JSON lines on stderr (log/slog) with a request id per request.`

func runServe(args []string, stdout, stderr io.Writer) error {
	o, err := parseServe(args)
	if err != nil {
		return err
	}
	cfg, err := o.config()
	if err != nil {
		return err
	}
	return serve(cfg, stdout, stderr)
}

// parseServe parses the flags of `edgerec serve` and checks their ranges.
func parseServe(args []string) (serveOptions, error) {
	fs := newFlags("serve", "serve --bundle FILE [--addr 127.0.0.1:8080] [--wasm PATH] [--pool N] [--public-key FILE] [--require-signed] [flags]", serveAbout)
	var o serveOptions
	fs.StringVar(&o.bundlePath, "bundle", "", "bundle file to serve")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address (loopback by default; 0.0.0.0:PORT or :PORT for every interface)")
	fs.StringVar(&o.wasmPath, "wasm", "", "recommender.wasm (default: next to the edgerec binary, then bin/recommender.wasm)")
	fs.IntVar(&o.pool, "pool", runtime.NumCPU(), "module instances (each holds the bundle in its own memory)")
	fs.DurationVar(&o.timeout, "timeout", server.DefaultTimeout, "deadline of each module call, and of the wait for a free instance")
	fs.IntVar(&o.memMiB, "max-memory", 1024, "linear memory limit per instance, MiB (a guest that needs more traps)")
	fs.StringVar(&o.pubPath, "public-key", "", "verify signed bundles with this public key (PEM, from edgerec keygen)")
	fs.BoolVar(&o.requireSigned, "require-signed", false, "refuse unsigned bundles (needs --public-key)")
	fs.StringVar(&o.tokenFile, "admin-token-file", "", "file holding the bearer token of POST /admin/reload (else $EDGEREC_ADMIN_TOKEN; neither: endpoint disabled)")
	fs.DurationVar(&o.watch, "watch", server.DefaultWatchInterval, "how often to check the bundle file for a change (0: never)")
	fs.StringVar(&o.webDir, "web", "", "also serve this directory at /, with GET /recommender.wasm and GET /v1/bundle/file (regular files only: no dotfiles, listings or symlinks out of it)")
	fs.StringVar(&o.stateDir, "state-dir", "", "directory for the last known-good bundle (default: a directory per bundle path in the user cache directory; \"none\": keep none)")
	fs.DurationVar(&o.drain, "drain", 10*time.Second, "on SIGINT/SIGTERM, how long to wait for requests in flight")
	fs.StringVar(&o.cacheDir, "cache", host.DefaultCacheDir(), "compilation cache directory (\"\": none)")
	logLevel := fs.String("log-level", "info", "debug (a line per request), info, warn or error")
	fs.BoolVar(&o.reserve, "reserve-memory", true, "reserve each instance's linear memory up front, so that it grows in place: loads a bundle about twice as fast and removes the 85-100 ms stalls of wazero copying a memory that grows (Linux; --reserve-memory=false for wazero's default memory; see README)")
	o.events.Register(fs)
	fs.BoolVar(&o.interruptible, "interruptible", false, "stop a module call inside the guest at the deadline (wazero context cancellation); makes the guest several times slower, see README")
	if err := parse(fs, args); err != nil {
		return o, err
	}
	if err := required(fs, "bundle"); err != nil {
		return o, err
	}
	switch {
	case o.pool < 1 || o.pool > 1024:
		return o, usagef("--pool %d out of range [1, 1024]", o.pool)
	case o.timeout <= 0:
		return o, usagef("--timeout must be positive")
	case o.memMiB < host.MinMemoryMiB || o.memMiB > host.MaxMemoryMiB:
		return o, usagef("--max-memory %d out of range [%d, %d] MiB", o.memMiB, host.MinMemoryMiB, host.MaxMemoryMiB)
	case o.requireSigned && o.pubPath == "":
		return o, usagef("--require-signed needs --public-key")
	case o.drain < 0:
		return o, usagef("--drain must not be negative")
	}
	if err := o.events.Check(); err != nil {
		return o, usagef("%v", err)
	}
	if err := o.level.UnmarshalText([]byte(*logLevel)); err != nil {
		return o, usagef("--log-level %q: want debug, info, warn or error", *logLevel)
	}
	return o, nil
}

// config reads and checks what the options name, so that a missing
// bundle, web directory, key or token fails before the module compiles.
func (o serveOptions) config() (*serveConfig, error) {
	c := &serveConfig{serveOptions: o, state: o.stateDir}
	switch c.state {
	case "":
		c.state = defaultStateDir(o.bundlePath)
	case "none":
		c.state = ""
	}
	// A missing bundle is fatal unless a last known-good copy can serve.
	if _, err := os.Stat(filepath.Join(c.state, server.LastGoodFile)); c.state == "" || err != nil {
		if fi, err := os.Stat(o.bundlePath); err != nil {
			return nil, fmt.Errorf("bundle %s: %w", o.bundlePath, err)
		} else if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("bundle %s is not a regular file", o.bundlePath)
		}
	}
	if o.webDir != "" {
		if fi, err := os.Stat(o.webDir); err != nil {
			return nil, fmt.Errorf("--web: %w", err)
		} else if !fi.IsDir() {
			return nil, fmt.Errorf("--web %s is not a directory", o.webDir)
		}
		c.webWarning = webBundleWarning(o.bundlePath)
	}
	if o.pubPath != "" {
		var err error
		if c.pub, err = sign.ReadPublicKeyFile(o.pubPath); err != nil {
			return nil, err
		}
	}
	var err error
	c.token, err = adminToken(o.tokenFile)
	return c, err
}

// webBundleWarning returns why a browser cannot load the bundle file at
// path, which --web hands it at GET /v1/bundle/file, or "" when it can
// (or the file cannot be read: the server reports that). The module in
// the page reads raw sections only; the node decompresses a bundle's
// sections for its own instances, so it serves such a bundle while the
// page refuses it.
func webBundleWarning(path string) string {
	_, h, err := readBundleHeader(path)
	if err != nil {
		return ""
	}
	var tags []string
	for _, e := range h.Entries {
		if e.Compressed() {
			tags = append(tags, e.Tag)
		}
	}
	if len(tags) == 0 {
		return ""
	}
	return fmt.Sprintf("--web: browsers cannot load %s (format %d.%d): its sections %s are stored zstd-compressed, which the module in the page does not read; "+
		"this node serves it, but the page's GET /v1/bundle/file gets a bundle it refuses. Run `edgerec bundle upgrade --out NEW %s` and serve NEW",
		path, h.Major, h.Minor, strings.Join(tags, ", "), path)
}

// adminToken returns the admin token from file, else from
// $EDGEREC_ADMIN_TOKEN ("" when neither has one), refusing a short one.
func adminToken(file string) (string, error) {
	token, from := os.Getenv("EDGEREC_ADMIN_TOKEN"), "$EDGEREC_ADMIN_TOKEN"
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("admin token: %w", err)
		}
		token, from = strings.TrimSpace(string(b)), file
	}
	if token != "" && len(token) < minTokenLen {
		return "", fmt.Errorf("admin token in %s is %d characters; use at least %d (e.g. openssl rand -hex 16)", from, len(token), minTokenLen)
	}
	return token, nil
}

// serve compiles the module, loads the bundle into a pool, listens, and
// serves until SIGINT or SIGTERM: the work of `edgerec serve`.
func serve(c *serveConfig, stdout, stderr io.Writer) error {
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: c.level}))
	if c.webWarning != "" {
		log.Warn(c.webWarning, "bundle", c.bundlePath)
	}
	path, wasm, err := readModule(c.wasmPath)
	if err != nil {
		return err
	}
	ctx := context.Background()
	start := time.Now()
	// The module compiles, and the first instance's memory faults in,
	// while the server reads and checks the bundle: a cold start pays
	// for the longest of the three, not their sum.
	var prefault uint64
	if fi, err := os.Stat(c.bundlePath); err == nil && c.reserve {
		prefault = host.LoadFootprint(fi.Size())
	}
	mod, err := host.Start(ctx, wasm, host.Options{CacheDir: c.cacheDir, Interruptible: c.interruptible,
		MemoryLimitPages: uint32(c.memMiB) * 16, ReserveMemory: c.reserve, PrefaultBytes: prefault})
	if err != nil {
		return err
	}
	go func() {
		if mod.Wait() == nil {
			log.Info("module compiled", "path", path, "sha256", mod.Digest(), "ms", time.Since(start).Milliseconds(),
				"cache", c.cacheDir, "interruptible", c.interruptible)
		}
	}()
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

	// Listen before loading, so that a port in use fails fast.
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	srv, err = c.newServer(ctx, mod, wasm, log, stdout)
	if err != nil {
		ln.Close()
		if err := mod.Wait(); err != nil {
			return err
		}
		return err
	}
	defer srv.Close()
	// Signals are ours before the first line says the node serves: a
	// SIGTERM or SIGHUP sent on that line must not find the default
	// action.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	st, _ := srv.Status()
	b := serveBanner{addr: ln.Addr(), status: st, pool: c.pool, web: c.webDir != ""}
	log.Info("serving", "url", b.url(), "listen", ln.Addr().String(), "bundle", st.Version, "source", st.Source, "items", st.Items, "pool", c.pool,
		"timeout", c.timeout.String(), "signature", st.Signature.Status, "state_dir", c.state, "startup_ms", time.Since(start).Milliseconds())
	if c.events.Dir == "-" {
		b.print(stderr) // standard output is the NDJSON stream of events
	} else {
		b.print(stdout)
	}
	return c.run(ctx, srv, ln, sigs, log)
}

// newServer is the node's server over mod: the bundle loaded into a pool.
// Its errors name what failed: the --events directory, or the bundle.
func (c *serveConfig) newServer(ctx context.Context, mod *host.Module, wasm []byte, log *slog.Logger, stdout io.Writer) (*server.Server, error) {
	w := c.watch
	if w == 0 {
		w = -1
	}
	cfg := server.Config{Module: mod, Wasm: wasm, BundlePath: c.bundlePath, Pool: c.pool,
		Timeout: c.timeout, PublicKey: c.pub, RequireSigned: c.requireSigned, AdminToken: c.token, WebDir: c.webDir,
		WatchInterval: w, Logger: log, StateDir: c.state}
	if err := c.events.Apply(&cfg, stdout); err != nil {
		return nil, fmt.Errorf("--events %s: %w", c.events.Dir, err)
	}
	s, err := server.New(ctx, cfg)
	if err != nil {
		if cfg.Events != nil {
			cfg.Events.Close()
		}
		return nil, fmt.Errorf("bundle %s: %w", c.bundlePath, err)
	}
	return s, nil
}

// run serves HTTP on ln until SIGINT or SIGTERM, then drains; SIGHUP
// reloads the bundle.
func (c *serveConfig) run(ctx context.Context, s *server.Server, ln net.Listener, sigs <-chan os.Signal, log *slog.Logger) error {
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
			log.Info("shutting down: draining requests in flight", "signal", sig.String(), "drain", c.drain.String())
			s.Drain()
			sctx, cancel := context.WithTimeout(ctx, c.drain)
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

// serveBanner is what the node prints on stdout once it serves: where,
// which bundle, and how to try it.
type serveBanner struct {
	addr   net.Addr
	status server.Status
	pool   int
	web    bool // --web: the page is served too
}

func (b serveBanner) url() string { return "http://" + displayAddr(b.addr) }

func (b serveBanner) print(w io.Writer) {
	st := b.status
	from := ""
	if st.Source == server.SourceLastKnownGood {
		from = "; the last known-good copy, the bundle file was refused"
		if st.Configured != nil {
			from += ": " + st.Configured.Error
		}
	}
	// The node serves once one instance has the bundle loaded (the log's
	// "bundle loaded" line counts that one); the rest of the pool loads in
	// the background.
	pool := "1 instance"
	if b.pool > 1 {
		pool = fmt.Sprintf("a pool of %d instances: 1 loaded, the other %d loading in the background", b.pool, b.pool-1)
	}
	fmt.Fprintf(w, "edgerec serve: %s (bundle %s, %d items, %s%s)\n", listenLine(b.addr), strconv.Quote(st.Version), st.Items, pool, from)
	if b.web {
		fmt.Fprintf(w, "  web page:  %s/\n", b.url())
	}
	fmt.Fprintf(w, "  try:       curl -s %s/v1/recommend -d '{\"k\": 5}'\n", b.url())
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
