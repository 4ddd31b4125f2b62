package host

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/edgerec/edgerec/core/abi"
)

// Module is a compiled recommender.wasm: one wazero runtime (compiler
// engine, WASI preview1 instantiated) and the module compiled once.
// Instantiate makes as many isolated instances of it as needed.
//
// A Module is safe for concurrent use. Close it after its instances are no
// longer used: closing the Module closes them all.
type Module struct {
	runtime  wazero.Runtime
	cache    wazero.CompilationCache // nil without Options.CacheDir
	compiled wazero.CompiledModule
	opts     Options
	digest   string

	ready chan struct{} // closed when the compilation Start began ends
	err   error         // the compilation's, set before ready closes

	mu     sync.Mutex
	spare  *prefault // Options.PrefaultBytes' memory until an instance takes it
	closed bool
}

// signature is the wasm type of an export the ABI requires.
type signature struct {
	params, results []api.ValueType
}

var (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

// versionSig and initSig are checked at Compile: they are the same in every
// ABI version. exportSigs are checked after the version handshake.
var (
	versionSig = signature{nil, []api.ValueType{i32}}
	// traceSig is the optional edgerec_trace's, checked at Instantiate.
	traceSig   = signature{nil, []api.ValueType{i32}}
	initSig    = signature{nil, nil}
	exportSigs = map[string]signature{
		abi.ExportAlloc:      {[]api.ValueType{i32}, []api.ValueType{i32}},
		abi.ExportFree:       {[]api.ValueType{i32}, nil},
		abi.ExportLoadBundle: {[]api.ValueType{i32, i32}, []api.ValueType{i64}},
		abi.ExportRecommend:  {[]api.ValueType{i32, i32}, []api.ValueType{i64}},
		abi.ExportBloom:      {[]api.ValueType{i32, i32}, []api.ValueType{i64}},
	}
)

// optionalSigs are the exports a host looks up when first used, so that
// modules built before them still load.
var optionalSigs = map[string]signature{
	abi.ExportCatalog:      {[]api.ValueType{i32, i32}, []api.ValueType{i64}},
	abi.ExportEmbed:        {[]api.ValueType{i32, i32}, []api.ValueType{i64}},
	abi.ExportLoadVerified: {[]api.ValueType{i32, i32}, []api.ValueType{i64}},
}

// checkSig returns an error wrapping ErrABI unless def has the signature s.
func checkSig(name string, def api.FunctionDefinition, s signature) error {
	if def == nil {
		return fmt.Errorf("%w: no export %s", ErrABI, name)
	}
	if !slices.Equal(def.ParamTypes(), s.params) || !slices.Equal(def.ResultTypes(), s.results) {
		return fmt.Errorf("%w: export %s has type %s, want %s", ErrABI, name,
			sigString(def.ParamTypes(), def.ResultTypes()), sigString(s.params, s.results))
	}
	return nil
}

func sigString(params, results []api.ValueType) string {
	s := "("
	for i, p := range params {
		if i > 0 {
			s += ", "
		}
		s += api.ValueTypeName(p)
	}
	s += ") -> ("
	for i, r := range results {
		if i > 0 {
			s += ", "
		}
		s += api.ValueTypeName(r)
	}
	return s + ")"
}

// Compile compiles wasm (the bytes of recommender.wasm) with wazero's
// compiler. With opts.CacheDir set, compiled code is stored there and reused
// by later processes.
//
// Compile checks that the module is a reactor with an ABI version export;
// the version itself is checked by Instantiate.
func Compile(ctx context.Context, wasm []byte, opts Options) (*Module, error) {
	m, err := Start(ctx, wasm, opts)
	if err != nil {
		return nil, err
	}
	if err := m.Wait(); err != nil {
		return nil, err
	}
	return m, nil
}

// Start is Compile in the background: it checks opts and returns at once,
// so that a node checks its bundle (and Options.PrefaultBytes faults in
// memory) while the module compiles. Wait returns what Compile would
// have; Instantiate waits for the compilation and fails with its error.
// A module whose compilation failed is closed already; Close is still
// safe to call.
func Start(ctx context.Context, wasm []byte, opts Options) (*Module, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(wasm)
	m := &Module{opts: opts, digest: hex.EncodeToString(sum[:]), ready: make(chan struct{})}
	if opts.ReserveMemory && opts.PrefaultBytes > 0 {
		// Beside the compilation: the memory's pages are what a large
		// load waits for otherwise (BenchmarkGrow).
		m.spare = startPrefault(uint64(opts.MemoryLimitPages)*65536, opts.PrefaultBytes)
	}
	go func() {
		defer close(m.ready)
		if m.err = m.compile(ctx, wasm); m.err != nil {
			m.takeSpare().release()
			m.closeRuntime(ctx)
		}
	}()
	return m, nil
}

// Wait waits for the compilation Start began and returns its error.
func (m *Module) Wait() error {
	<-m.ready
	return m.err
}

// compile does Compile's work.
func (m *Module) compile(ctx context.Context, wasm []byte) error {
	cfg := wazero.NewRuntimeConfigCompiler().
		WithMemoryLimitPages(m.opts.MemoryLimitPages).
		// See Options.Interruptible for what this costs.
		WithCloseOnContextDone(m.opts.Interruptible)
	if m.opts.CacheDir != "" {
		c, err := wazero.NewCompilationCacheWithDir(m.opts.CacheDir)
		if err != nil {
			return fmt.Errorf("host: compilation cache %s: %w", m.opts.CacheDir, err)
		}
		m.cache = c
		cfg = cfg.WithCompilationCache(c)
	}
	m.runtime = wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, m.runtime); err != nil {
		return fmt.Errorf("host: instantiate WASI: %w", err)
	}
	compiled, err := m.runtime.CompileModule(ctx, wasm)
	if err != nil {
		return fmt.Errorf("host: compile module: %w", err)
	}
	m.compiled = compiled
	defs := compiled.ExportedFunctions()
	if err := checkSig(abi.ExportVersion, defs[abi.ExportVersion], versionSig); err != nil {
		return err
	}
	if err := checkSig(abi.ExportInitialize, defs[abi.ExportInitialize], initSig); err != nil {
		return fmt.Errorf("%w (not a reactor: build with -buildmode=c-shared)", err)
	}
	return nil
}

// Digest returns the hex SHA-256 of the module's bytes, for logs and health
// checks that must name exactly which build is serving.
func (m *Module) Digest() string { return m.digest }

// Interruptible reports whether the module was compiled with
// Options.Interruptible: whether a done context stops a running call.
func (m *Module) Interruptible() bool { return m.opts.Interruptible }

// Close closes the runtime, every instance of the module (their calls then
// fail with ErrClosed), and the compilation cache handle (the files on disk
// stay).
func (m *Module) Close(ctx context.Context) error {
	<-m.ready
	m.takeSpare().release()
	return m.closeRuntime(ctx)
}

// closeRuntime closes the runtime and the cache handle, once.
func (m *Module) closeRuntime(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	var err error
	if m.runtime != nil {
		err = m.runtime.Close(ctx)
	}
	if m.cache != nil {
		if cerr := m.cache.Close(ctx); err == nil {
			err = cerr
		}
	}
	return err
}

// takeSpare returns the prefaulted memory, once, or nil.
func (m *Module) takeSpare() *prefault {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.spare
	m.spare = nil
	return p
}

// Instantiate creates a new instance: its own linear memory, no bundle
// loaded. It runs the reactor's _initialize, then checks the module's ABI
// version against abi.Version (a mismatch gives an error wrapping
// ErrABIVersion that names both) and the signature of every export (ErrABI).
//
// Instantiate is safe for concurrent use; the Instance it returns is not.
func (m *Module) Instantiate(ctx context.Context) (*Instance, error) {
	if err := m.Wait(); err != nil {
		return nil, err
	}
	cfg := wazero.NewModuleConfig().
		WithName(""). // many anonymous instances of one compiled module
		WithStartFunctions(abi.ExportInitialize).
		WithSysWalltime().
		WithSysNanotime().
		WithSysNanosleep().
		WithRandSource(rand.Reader)
	if m.opts.Stdout != nil {
		cfg = cfg.WithStdout(m.opts.Stdout)
	}
	if m.opts.Stderr != nil {
		cfg = cfg.WithStderr(m.opts.Stderr)
	}
	if m.opts.ReserveMemory {
		ctx = experimental.WithMemoryAllocator(ctx, reservedAllocator(m.takeSpare()))
	}
	mod, err := m.runtime.InstantiateModule(ctx, m.compiled, cfg)
	if err != nil {
		return nil, fmt.Errorf("host: instantiate module: %w", err)
	}
	in, err := newInstance(ctx, mod, m.opts)
	if err != nil {
		mod.Close(ctx)
		return nil, err
	}
	return in, nil
}

// newInstance performs the version handshake and looks up every export.
func newInstance(ctx context.Context, mod api.Module, opts Options) (*Instance, error) {
	res, err := mod.ExportedFunction(abi.ExportVersion).Call(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrTrap, abi.ExportVersion, err)
	}
	if v := uint32(res[0]); v != abi.Version {
		return nil, fmt.Errorf("%w: module ABI version %d, host supports %d", ErrABIVersion, v, abi.Version)
	}
	fns := make(map[string]api.Function, len(exportSigs))
	for name, sig := range exportSigs {
		f := mod.ExportedFunction(name)
		var def api.FunctionDefinition
		if f != nil {
			def = f.Definition()
		}
		if err := checkSig(name, def, sig); err != nil {
			return nil, err
		}
		fns[name] = f
	}
	mem := mod.Memory()
	if mem == nil {
		return nil, fmt.Errorf("%w: no memory", ErrABI)
	}
	// The trace record's address is fixed for the instance's life: ask once.
	var traceAddr uint32
	if f := mod.ExportedFunction(abi.ExportTrace); f != nil {
		if err := checkSig(abi.ExportTrace, f.Definition(), traceSig); err != nil {
			return nil, err
		}
		res, err := f.Call(ctx)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrTrap, abi.ExportTrace, err)
		}
		traceAddr = uint32(res[0])
	}
	return &Instance{
		mod:         mod,
		mem:         mem,
		alloc:       fns[abi.ExportAlloc],
		free:        fns[abi.ExportFree],
		loadBundle:  fns[abi.ExportLoadBundle],
		recommend:   fns[abi.ExportRecommend],
		bloom:       fns[abi.ExportBloom],
		traceAddr:   traceAddr,
		maxBundle:   opts.MaxBundleBytes,
		memLimit:    uint64(opts.MemoryLimitPages) * 65536,
		callTimeout: opts.CallTimeout,
	}, nil
}
