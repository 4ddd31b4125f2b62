// Package server is edgerec's edge node: an HTTP recommend service that
// answers from recommender.wasm instances run by wazero (package host).
//
// A Server holds one generation at a time: a bundle's bytes and a pool of
// instances with that bundle loaded. Each request borrows an instance,
// calls the module under the request's deadline and returns it. A trap
// (crash, out of memory, deadline) discards that instance, a replacement
// loads in the background, and the request is retried once on another
// instance or answered with a clear 5xx. Reload verifies a new bundle
// (container, checksums, signature), loads it into a full new pool, then
// swaps it in atomically; requests in flight finish on the old pool, which
// closes when its last request returns. A refused bundle is logged and
// counted, and the old one keeps serving.
//
//	mod, _ := host.Compile(ctx, wasm, host.Options{CacheDir: host.DefaultCacheDir(), Interruptible: true})
//	s, err := server.New(ctx, server.Config{Module: mod, BundlePath: "demo.bundle"})
//	http.ListenAndServe(":8080", s.Handler())
//
// The HTTP API (README.md, "edgerec serve"): POST /v1/recommend, GET
// /healthz, /readyz, /v1/bundle, /metrics, POST /admin/reload, and with
// Config.WebDir the static files, /recommender.wasm and /v1/bundle/file.
//
// The server uses core/ types only (api, bundle's container reader), never
// the pipeline: every recommendation comes from the module.
package server

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgerec/edgerec/host"
	"github.com/edgerec/edgerec/host/events"
	"github.com/edgerec/edgerec/host/sign"
)

// Defaults of Config.
const (
	DefaultTimeout       = time.Second
	DefaultWatchInterval = time.Second
	// DefaultBundleFileTimeout bounds a response of GET /v1/bundle/file.
	DefaultBundleFileTimeout = time.Minute
)

// Config configures a Server. Module and BundlePath are required.
type Config struct {
	// Module is the compiled recommender.wasm. Compiled with
	// host.Options.Interruptible, Timeout stops a running call inside the
	// guest; without it, a call that overruns Timeout is answered with 504
	// on time and its instance, left to finish, is closed and replaced
	// (README.md, "edgerec serve", has what each costs).
	Module *host.Module
	// Wasm is the module's bytes, served at GET /recommender.wasm when
	// WebDir is set.
	Wasm []byte
	// BundlePath is the bundle file served; Reload reads it again.
	BundlePath string
	// Pool is the number of instances per bundle; 0 means runtime.NumCPU().
	Pool int
	// Timeout bounds each module call, and separately the wait for a free
	// instance (a request answers within about twice Timeout, three times
	// with a retry). 0 means DefaultTimeout.
	Timeout time.Duration
	// PublicKey, when set, verifies signed bundles: a bundle whose
	// signature does not verify with it is refused.
	PublicKey ed25519.PublicKey
	// RequireSigned refuses unsigned bundles (needs PublicKey).
	RequireSigned bool
	// AdminToken enables POST /admin/reload for requests that carry
	// "Authorization: Bearer AdminToken"; "" disables the endpoint.
	AdminToken string
	// WebDir, when set, is served at / with GET /recommender.wasm and GET
	// /v1/bundle/file. Only regular files inside it are served: no
	// directory listings, no names starting with a dot, no symlinks that
	// leave it.
	WebDir string
	// BundleFileTimeout bounds the time to write a response of GET
	// /v1/bundle/file to a client; 0 means DefaultBundleFileTimeout.
	BundleFileTimeout time.Duration
	// WatchInterval is how often the bundle file is checked for a change
	// (size or modification time); 0 means DefaultWatchInterval, < 0 turns
	// the watch off.
	WatchInterval time.Duration
	// Logger receives structured logs; nil means slog.Default().
	Logger *slog.Logger
	// StateDir, when set, is the directory where the node keeps a copy of
	// the last bundle that verified and loaded (LastGoodFile). When the
	// bundle file is refused at start, the node serves that copy instead
	// and reports both (Status.Source, Status.Configured).
	StateDir string
	// Events, when set, stores events (host/events): an impression per
	// list served, unless NoImpressions, and the events clients post to
	// /v1/events. Nil turns both off (/v1/events answers 404). Close
	// closes it. Writing is one goroutine's, behind a bounded queue:
	// requests never wait for it.
	Events events.Sink
	// NoImpressions turns off the impressions of the lists served.
	NoImpressions bool
	// EventQueue bounds the entries (served lists, posted batches) waiting
	// to be written; 0 means DefaultEventQueue. Beyond it, impressions are
	// dropped and counted and batches answered 503.
	EventQueue int
	// EventQueueBytes bounds the bytes they hold; 0 means
	// DefaultEventQueueBytes.
	EventQueueBytes int64
}

// LastGoodFile is the name of the last known-good bundle in
// Config.StateDir.
const LastGoodFile = "last-good.bundle"

// Sources of the bundle being served (Status.Source).
const (
	// SourceConfigured: the bundle file of Config.BundlePath.
	SourceConfigured = "configured"
	// SourceLastKnownGood: the copy in Config.StateDir, served because
	// the bundle file was refused at start.
	SourceLastKnownGood = "last-known-good"
)

// ConfiguredStatus is what the last read of the bundle file gave
// (GET /v1/bundle, "configured").
type ConfiguredStatus struct {
	// Result is "ok" (loaded, or the bytes being served), or "refused".
	Result string `json:"result"`
	// Error says why the file was refused.
	Error  string `json:"error,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	// CheckedAt is when the file was last read.
	CheckedAt time.Time `json:"checked_at"`
}

// SignatureStatus describes a served bundle's signature (GET /v1/bundle).
type SignatureStatus struct {
	// Status is "unsigned", "valid" (verified with Config.PublicKey) or
	// "unverified" (signed, but no public key is configured). A bundle
	// whose signature does not verify is never served.
	Status string `json:"status"`
	KeyID  string `json:"key_id,omitempty"`
}

// Server is the edge node. Create it with New; it is safe for concurrent
// use.
type Server struct {
	cfg      Config
	log      *slog.Logger
	metrics  *metrics
	cur      atomic.Pointer[generation]
	parallel int // instances loaded at once
	// interruptible: the module stops a running call when its context
	// ends (host.Options.Interruptible); otherwise late calls are
	// abandoned (generation.call).
	interruptible bool
	sem           chan struct{} // bounds background instance loads

	reloadMu sync.Mutex
	fileStat fileStamp // of the last bundle read (guarded by reloadMu)
	lastGood string    // digest of the last known-good copy written (guarded by reloadMu)

	// configured is what the last read of the bundle file gave.
	configured atomic.Pointer[ConfiguredStatus]
	web        *os.Root // Config.WebDir, or nil
	wasmFile   *encoded // Config.Wasm and its compressed variants, served with Config.WebDir

	// mu guards closed and the start of reloads: a reload that starts
	// before Close is counted in reloads, none starts after, and none
	// swaps its bundle in after Close.
	mu      sync.Mutex
	closed  bool
	reloads sync.WaitGroup

	events *eventLog // nil without Config.Events

	draining atomic.Bool
	reqSeq   atomic.Uint64
	idPrefix string

	ctx    context.Context // done when Close starts
	cancel context.CancelFunc
	bg     sync.WaitGroup
}

// New validates cfg, loads the bundle into the first instance of its pool
// and returns the server; the rest of the pool loads in the background.
// A bundle that fails verification or loading is an error.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Module == nil {
		return nil, errors.New("server: Config.Module is nil")
	}
	if cfg.BundlePath == "" {
		return nil, errors.New("server: Config.BundlePath is empty")
	}
	if cfg.Pool < 0 || cfg.Pool > 1024 {
		return nil, fmt.Errorf("server: Config.Pool = %d out of range [0, 1024]", cfg.Pool)
	}
	if cfg.Pool == 0 {
		cfg.Pool = runtime.NumCPU()
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("server: Config.Timeout = %v is negative", cfg.Timeout)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.RequireSigned && cfg.PublicKey == nil {
		return nil, errors.New("server: Config.RequireSigned needs Config.PublicKey")
	}
	if cfg.PublicKey != nil && len(cfg.PublicKey) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("server: Config.PublicKey is %d bytes, want %d", len(cfg.PublicKey), ed25519.PublicKeySize)
	}
	if cfg.WatchInterval == 0 {
		cfg.WatchInterval = DefaultWatchInterval
	}
	if cfg.BundleFileTimeout < 0 {
		return nil, fmt.Errorf("server: Config.BundleFileTimeout = %v is negative", cfg.BundleFileTimeout)
	}
	if cfg.BundleFileTimeout == 0 {
		cfg.BundleFileTimeout = DefaultBundleFileTimeout
	}
	var web *os.Root
	if cfg.WebDir != "" {
		if fi, err := os.Stat(cfg.WebDir); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("server: web directory %s is not a directory", cfg.WebDir)
		}
		var err error
		if web, err = os.OpenRoot(cfg.WebDir); err != nil {
			return nil, fmt.Errorf("server: web directory: %w", err)
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, log: cfg.Logger, metrics: newMetrics(),
		parallel: max(1, min(cfg.Pool, runtime.NumCPU())), idPrefix: randomPrefix(),
		interruptible: cfg.Module.Interruptible(), web: web}
	if web != nil {
		s.wasmFile = newEncoded(cfg.Wasm, cfg.Module.Digest())
	}
	s.sem = make(chan struct{}, s.parallel)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if _, err := s.load(ctx, "start", 1); err != nil {
		if err = s.startFromLastGood(ctx, err); err != nil {
			s.cancel()
			if web != nil {
				web.Close()
			}
			return nil, err
		}
	}
	if cfg.WatchInterval > 0 {
		s.bg.Add(1)
		go s.watch()
	}
	if cfg.Events != nil {
		s.events = newEventLog(cfg, s.log)
	}
	return s, nil
}

// ErrRefused is wrapped by Reload's error when the new bundle was refused;
// the old one keeps serving.
var ErrRefused = errors.New("server: bundle refused")

// ReloadResult reports what Reload did.
type ReloadResult struct {
	Result  string `json:"result"` // "ok", "unchanged" or "refused"
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
	Error   string `json:"error,omitempty"`
}

// Reload reads the bundle file again and, when its bytes changed, verifies
// it, loads it into a full new pool and swaps it in. trigger names the
// cause in logs ("sighup", "file", "admin", ...). On refusal the error
// wraps ErrRefused and the current bundle keeps serving.
func (s *Server) Reload(ctx context.Context, trigger string) (ReloadResult, error) {
	return s.load(ctx, trigger, s.cfg.Pool)
}

// load is Reload; ready instances must load before the swap (the first
// load serves as soon as one is ready).
func (s *Server) load(ctx context.Context, trigger string, ready int) (ReloadResult, error) {
	if !s.beginReload() {
		return ReloadResult{Result: "refused", Error: "the server is closing"}, fmt.Errorf("%w: the server is closing", ErrRefused)
	}
	defer s.reloads.Done()
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	// A reload runs to its end even if its caller (an admin request)
	// goes away: on an interruptible module a cancelled load would trap.
	// Close does cancel it: a closing server needs no new bundle.
	ctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	defer context.AfterFunc(s.ctx, stop)()
	start := time.Now()
	// The file's digest names the bundle (unchanged or not, /v1/bundle,
	// the logs); at tens of MB SHA-256 costs as much as the check, so the
	// two run side by side, and the digest is computed once.
	var digestc chan string
	digest := ""
	digestOf := func() string {
		if digest == "" && digestc != nil {
			digest = <-digestc
		}
		return digest
	}
	refuse := func(err error) (ReloadResult, error) {
		s.metrics.reload("refused")
		s.configured.Store(&ConfiguredStatus{Result: "refused", Error: err.Error(), SHA256: digestOf(), CheckedAt: time.Now().UTC()})
		res := ReloadResult{Result: "refused", Error: err.Error()}
		if g := s.cur.Load(); g != nil {
			res.Version, res.SHA256 = g.summary.Version, g.digest
			s.log.Error("bundle refused; the current one keeps serving", "trigger", trigger, "path", s.cfg.BundlePath,
				"err", err, "serving", g.summary.Version)
		} else {
			s.log.Error("bundle refused", "trigger", trigger, "path", s.cfg.BundlePath, "err", err)
		}
		return res, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	stamp, data, err := readBundle(s.cfg.BundlePath)
	s.fileStat = stamp
	if err != nil {
		return refuse(err)
	}
	digestc = make(chan string, 1)
	go func() { digestc <- sha256Hex(data) }()
	if g := s.cur.Load(); g != nil && digestOf() == g.digest {
		// The bytes being served, perhaps the last known-good copy of them:
		// the file is good again.
		g.lastGood.Store(false)
		s.configured.Store(&ConfiguredStatus{Result: "ok", SHA256: digest, CheckedAt: time.Now().UTC()})
		s.metrics.reload("unchanged")
		s.log.Info("bundle unchanged", "trigger", trigger, "version", g.summary.Version)
		return ReloadResult{Result: "unchanged", Version: g.summary.Version, SHA256: g.digest}, nil
	}
	sig, v, err := s.verify(data)
	if err != nil {
		return refuse(err)
	}
	g, err := s.newGeneration(ctx, data, digestOf(), v, sig, ready)
	if err != nil {
		return refuse(fmt.Errorf("loading into the module: %w", err))
	}
	old, ok := s.swap(g)
	if !ok {
		return refuse(errors.New("the server is closing"))
	}
	s.configured.Store(&ConfiguredStatus{Result: "ok", SHA256: digest, CheckedAt: time.Now().UTC()})
	s.metrics.reload("ok")
	attrs := []any{"trigger", trigger, "version", g.summary.Version, "sha256", g.digest, "items", g.summary.Items,
		"format", g.summary.Format, "signature", g.sig.Status, "key_id", g.sig.KeyID, "instances", ready,
		"ms", time.Since(start).Milliseconds()}
	if old != nil {
		attrs = append(attrs, "previous", old.summary.Version)
		old.release()
	}
	s.log.Info("bundle loaded", attrs...)
	s.saveLastGood(data, digest)
	return ReloadResult{Result: "ok", Version: g.summary.Version, SHA256: g.digest}, nil
}

// beginReload counts a reload in, or reports false once Close has begun.
func (s *Server) beginReload() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.reloads.Add(1)
	return true
}

// swap makes g current and returns the previous generation; once Close
// has begun it releases g instead and reports false.
func (s *Server) swap(g *generation) (*generation, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		g.release()
		return nil, false
	}
	g.loaded = time.Now()
	return s.cur.Swap(g), true
}

// startFromLastGood serves the last known-good bundle of Config.StateDir
// after the bundle file was refused at start (cause). It returns cause,
// with why the copy could not serve either, when it cannot.
func (s *Server) startFromLastGood(ctx context.Context, cause error) error {
	if s.cfg.StateDir == "" {
		return cause
	}
	path := s.lastGoodPath()
	err := func() error {
		_, data, err := readBundle(path)
		if errors.Is(err, ErrMissing) {
			return errors.New("none kept yet")
		}
		if err != nil {
			return err
		}
		sig, v, err := s.verify(data)
		if err != nil {
			return err
		}
		g, err := s.newGeneration(ctx, data, sha256Hex(data), v, sig, 1)
		if err != nil {
			return fmt.Errorf("loading into the module: %w", err)
		}
		g.lastGood.Store(true)
		if _, ok := s.swap(g); !ok {
			return errors.New("the server is closing")
		}
		s.lastGood = g.digest
		s.metrics.reload("last_known_good")
		s.log.Warn("the bundle file was refused at start; serving the last known-good bundle",
			"path", s.cfg.BundlePath, "err", cause, "last_good", path, "version", g.summary.Version, "sha256", g.digest,
			"signature", g.sig.Status)
		return nil
	}()
	if err != nil {
		s.log.Error("no last known-good bundle to start from", "last_good", path, "err", err)
		return fmt.Errorf("%w (last known-good bundle %s: %v)", cause, path, err)
	}
	return nil
}

// verify checks the bundle completely and natively (host.Verify: the
// container, every checksum, the content) and the signature policy; the
// instances then load it checking only what keeps the guest's reads
// within the bytes, so a pool pays for one full check, not one per
// instance in WebAssembly. The checksums are computed once: the
// signature is read after host.Verify, without checking them again.
func (s *Server) verify(data []byte) (SignatureStatus, *host.Verified, error) {
	v, err := host.Verify(data)
	if err != nil {
		return SignatureStatus{}, nil, err
	}
	st, err := sign.InspectChecked(data) // SIGN well-formed
	if err != nil {
		return SignatureStatus{}, nil, err
	}
	var sig SignatureStatus
	switch {
	case !st.Signed && s.cfg.RequireSigned:
		return SignatureStatus{}, nil, errors.New("bundle is unsigned and --require-signed is set")
	case !st.Signed:
		sig = SignatureStatus{Status: "unsigned"}
	case s.cfg.PublicKey == nil:
		sig = SignatureStatus{Status: "unverified", KeyID: st.KeyID}
	default:
		if _, err := sign.VerifyChecked(data, s.cfg.PublicKey); err != nil {
			return SignatureStatus{}, nil, err
		}
		sig = SignatureStatus{Status: "valid", KeyID: st.KeyID}
	}
	return sig, v, nil
}

// watch reloads when the bundle file's size or modification time changes.
func (s *Server) watch() {
	defer s.bg.Done()
	t := time.NewTicker(s.cfg.WatchInterval)
	defer t.Stop()
	missing := 0 // checks in a row that found no file
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		fi, err := os.Stat(s.cfg.BundlePath)
		if err != nil {
			// A file being replaced may be missing for a moment; one
			// missing at two checks in a row is reloaded once, as SIGHUP
			// would, so that /readyz, /v1/bundle and the metrics say it
			// is refused while the loaded bundle keeps serving.
			if missing++; missing == 2 {
				s.Reload(s.ctx, "file")
			}
			continue
		}
		back := missing >= 2 // refused as missing: read it again, whatever its stamp
		missing = 0
		s.reloadMu.Lock()
		changed := fileStamp{fi.Size(), fi.ModTime()} != s.fileStat
		s.reloadMu.Unlock()
		if changed || back {
			s.Reload(s.ctx, "file")
		}
	}
}

// Ready reports whether a bundle is loaded and the server is not draining.
func (s *Server) Ready() bool { return s.cur.Load() != nil && !s.draining.Load() }

// Drain makes /readyz fail so that a load balancer stops sending requests;
// requests still get answered. Call it before http.Server.Shutdown.
func (s *Server) Drain() { s.draining.Store(true) }

// Close stops the file watch and background loads and closes every
// instance. Call it after the HTTP server has shut down: requests in flight
// would fail. A reload in progress is cancelled (a bundle file is never
// read in a way that can block) and never swaps its bundle in afterwards.
// The events queued are written and Config.Events is closed, so that its
// files are complete.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	g := s.cur.Swap(nil)
	s.mu.Unlock()
	s.cancel()
	s.reloads.Wait()
	s.bg.Wait()
	if g != nil {
		g.release()
	}
	if s.web != nil {
		s.web.Close()
	}
	if s.events != nil {
		if err := s.events.close(); err != nil {
			s.log.Error("closing the events storage failed", "err", err)
		}
	}
}

// AbandonedCalls returns how many module calls answered at their deadline
// are still running in their instances (modules that are not
// interruptible). Their module must not be closed while any runs.
func (s *Server) AbandonedCalls() int64 { return s.metrics.abandoned.Load() }

// Status is what GET /v1/bundle reports.
type Status struct {
	Version   string          `json:"version"`
	Created   int64           `json:"created"`
	Items     int             `json:"items"`
	Dim       int             `json:"dim"`
	Format    string          `json:"format"`
	SizeBytes int             `json:"size_bytes"`
	SHA256    string          `json:"sha256"`
	Signature SignatureStatus `json:"signature"`
	// Source is SourceConfigured or SourceLastKnownGood.
	Source string `json:"source"`
	// Configured is what the last read of the bundle file gave.
	Configured  *ConfiguredStatus `json:"configured,omitempty"`
	LoadedAt    time.Time         `json:"loaded_at"`
	Instances   int               `json:"instances"`
	MemoryBytes uint64            `json:"instance_memory_bytes"`
	Module      string            `json:"module_sha256"`
}

// Status describes the bundle being served; ok is false when none is.
func (s *Server) Status() (Status, bool) {
	g := s.acquire()
	if g == nil {
		return Status{}, false
	}
	defer g.release()
	live, _, mem := g.stats()
	return Status{Version: g.summary.Version, Created: g.summary.Created, Items: g.summary.Items, Dim: g.summary.Dim,
		Format: g.summary.Format, SizeBytes: len(g.data), SHA256: g.digest, Signature: g.sig, Source: g.source(),
		Configured: s.configured.Load(),
		LoadedAt:   g.loaded.UTC(), Instances: live, MemoryBytes: mem, Module: s.cfg.Module.Digest()}, true
}
