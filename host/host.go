// Package host runs recommender.wasm, edgerec's serving pipeline compiled to
// one WebAssembly module, inside a Go program through wazero.
//
// A Module is the compiled code (compile once per process, with an optional
// on-disk cache); an Instance is one isolated copy of the guest with its own
// linear memory and its own loaded bundle:
//
//	wasm, err := host.LoadModuleFile("bin/recommender.wasm")
//	m, err := host.Compile(ctx, wasm, host.Options{CacheDir: host.DefaultCacheDir()})
//	defer m.Close(ctx)
//	in, err := m.Instantiate(ctx) // checks the ABI version
//	defer in.Close(ctx)
//	summary, err := in.LoadBundle(ctx, bundle)
//	resp, err := in.Recommend(ctx, &api.Request{K: 10})
//
// Errors carry sentinels for errors.Is: ErrGuest (the guest refused the
// input and stays usable; *GuestError carries its message), ErrTrap (the
// guest crashed or was stopped; the instance is closed and Broken reports
// true, so a pool should replace it), ErrClosed (a call on a closed or broken
// instance), ErrTooLarge (the host refused an input before the guest saw it)
// and ErrABIVersion / ErrABI (the file is not a module this host can drive).
//
// Calls cannot be stopped once they run unless Options.Interruptible is set,
// which makes guest code about 6x slower; see there.
//
// The calling convention and the guest's side are specified in wasm/ABI.md;
// the export names and the result packing are shared through core/abi.
package host

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/edgerec/edgerec/core/abi"
	"github.com/edgerec/edgerec/core/bundle"
)

// Sentinel errors. Match them with errors.Is.
var (
	// ErrGuest is wrapped by every error the guest reports through an error
	// result (see GuestError). The instance stays usable. Typically this
	// indicates a bad request or a corrupt bundle.
	ErrGuest = errors.New("host: guest error")

	// ErrTrap is wrapped when a call into the guest traps: a WebAssembly
	// trap (unreachable, out-of-bounds access), a fatal Go runtime error in
	// the guest (out of memory, stack overflow, deadlock), or a call stopped
	// by its context or Options.CallTimeout (see Options.Interruptible). The
	// instance is closed and Broken reports true.
	ErrTrap = errors.New("host: guest trapped")

	// ErrClosed is returned by calls on an Instance that was closed, by Close
	// or by an earlier trap.
	ErrClosed = errors.New("host: instance is closed")

	// ErrTooLarge is wrapped when the host refuses an input before handing
	// it to the guest: a request over api.MaxRequestBytes or a bundle over
	// Options.MaxBundleBytes.
	ErrTooLarge = errors.New("host: input too large")

	// ErrABIVersion is wrapped when the module's ABI version differs from
	// abi.Version; the message names both versions.
	ErrABIVersion = errors.New("host: ABI version mismatch")

	// ErrABI is wrapped when the module lacks an export the ABI requires or
	// exports it with another signature. Typically this indicates a file
	// that is not recommender.wasm.
	ErrABI = errors.New("host: module does not implement the edgerec ABI")
)

// GuestError is an error result returned by the guest: the input was refused
// or the guest recovered from a panic ("internal error: ..."). It matches
// ErrGuest. The instance stays usable.
type GuestError struct {
	Export  string // the export that failed, e.g. "edgerec_recommend"
	Message string // the guest's message, verbatim
}

func (e *GuestError) Error() string { return "host: " + e.Export + ": " + e.Message }

// Is reports whether target is ErrGuest.
func (e *GuestError) Is(target error) bool { return target == ErrGuest }

// DefaultMemoryLimitPages is the default cap on an instance's linear memory:
// 16384 pages of 64 KiB, 1 GiB.
const DefaultMemoryLimitPages = 16384

// maxPages is the most pages a 32-bit memory can have (4 GiB).
const maxPages = 65536

// Options configure Compile. The zero value is usable: no disk cache, a
// 1 GiB memory limit per instance, calls that cannot be stopped once started
// (see Interruptible), guest output discarded.
type Options struct {
	// CacheDir is a directory for wazero's compilation cache, shared by
	// processes and keyed by wazero version and module hash; "" keeps
	// compiled code in memory only. DefaultCacheDir gives the usual place.
	// With a warm cache, Compile takes tens of milliseconds instead of
	// about a second.
	CacheDir string

	// MemoryLimitPages caps each instance's linear memory, in 64 KiB pages;
	// 0 means DefaultMemoryLimitPages. At most 65536 (4 GiB). A guest that
	// needs more traps (ErrTrap).
	MemoryLimitPages uint32

	// MaxBundleBytes is the largest bundle LoadBundle hands to the guest;
	// larger ones fail with ErrTooLarge and the loaded bundle stays. 0 means
	// a limit by the bundle's format (BundleLimit): running out of memory
	// while loading would trap and lose the instance.
	MaxBundleBytes int

	// Interruptible lets a done context (deadline or cancellation) and
	// CallTimeout stop a call that is already running in the guest: the call
	// traps (ErrTrap, also matching the context's error) and the instance is
	// lost. It is off by default because of its price: wazero then checks
	// for termination at every loop header of guest code (and starts a
	// watcher goroutine per call), and Go's wasm backend compiles every
	// function into a dispatch loop, so guest code runs about 6x slower
	// (measured on a 2-core machine: a scan of 100k int8 vectors of dim 64
	// took 56 ms instead of 9.3 ms; a refused recommend round trip 75 µs
	// instead of 13 µs).
	//
	// Without it, a context is checked only before each call starts, and a
	// guest stuck in a loop blocks its goroutine for good.
	Interruptible bool

	// CallTimeout bounds each Recommend and RecommendBytes call; 0 means
	// that only the caller's context limits it. It requires Interruptible.
	// A call that overruns traps (ErrTrap, also matching
	// context.DeadlineExceeded) and breaks the instance.
	CallTimeout time.Duration

	// ReserveMemory backs each instance's linear memory with a mapping of
	// its whole limit (MemoryLimitPages), reserved up front, instead of
	// wazero's default Go slice, which copies itself each time it grows past
	// its capacity: loading a bundle grows it dozens of times. The kernel
	// backs only the pages the guest touches, so it costs address space,
	// not memory. Measured on a 2-core machine with a 100k-item bundle
	// (edgerec bench --reserve-memory, alternating with the default, three
	// runs each): loading took 365–373 ms instead of 599–804, and recommend
	// calls ran 2–4 % slower (p50 1.91–1.95 ms against 1.87–1.89), so it is
	// off by default here; `edgerec serve` turns it on, since under load it
	// also removes the 85–100 ms stalls of the default memory's copies
	// (slowest request 8.5–11 ms instead of 85–99, same throughput).
	// The mapping asks for transparent huge pages (memory_linux.go), which
	// made loads about six times faster on a virtual machine (these figures
	// predate that; host/MEASUREMENTS.md has the newer ones).
	// Linux only; elsewhere, and where the kernel does not overcommit
	// (vm.overcommit_memory = 2, which would charge every reservation in
	// full), instances get wazero's default memory.
	//
	// Closing an Instance or its Module unmaps the memory at once: with
	// ReserveMemory, never close one while a call still runs in it (a call
	// abandoned at its deadline without Interruptible), or the call faults
	// and takes the process down. Without it the memory stays valid until
	// the call ends.
	ReserveMemory bool

	// PrefaultBytes, with ReserveMemory, has Compile reserve the first
	// instance's linear memory and fault in its first PrefaultBytes in the
	// background, beside the compilation, for the first Instantiate to take.
	// A node's cold start then finds the pages its bundle's load grows into
	// ready instead of faulting them in one by one during the load, which
	// on some virtual machines costs more than the compilation
	// (BenchmarkGrow, BenchmarkColdStart). Set it to the size of the bundle
	// about to load plus a few MiB for the guest's runtime; 0 faults in
	// nothing ahead. The pages stay with the instance (and are resident)
	// whether or not it uses them.
	PrefaultBytes uint64

	// Stdout and Stderr receive the guest's output; nil discards it.
	Stdout, Stderr io.Writer
}

// BundleLimit is the most a bundle of format major may cost (loadCost)
// in an instance with a memory limit of memLimit bytes that holds no
// bundle yet, by default. A bundle of format 3 or later is served from
// its own bytes, the guest decoding only its small sections (about 5 %
// and a few MiB beside them: edgerec bench's instance memory after load),
// so it may take three quarters of what the runtime's 16 MiB leave; an
// older one is decoded item by item (format 1) or has its neighbour lists
// packed (format 2) in the guest's heap, so a quarter of the limit; so is
// any bundle loaded into an instance that holds one already, which needs
// room for both while it loads. Never more than the guest allocates
// (abi.MaxAlloc).
func BundleLimit(major uint16, memLimit uint64) int {
	quarter := memLimit / 4
	limit := quarter
	if major >= 3 && memLimit > 16<<20 {
		limit = max(quarter, (memLimit-16<<20)/4*3)
	}
	return int(min(limit, abi.MaxAlloc))
}

// loadCost is what loading a bundle of n bytes with header h (nil: not
// readable) costs as BundleLimit counts it: the bytes, and for format 3
// and later five times more for each section the guest decodes rather
// than uses in place (bundle.UsedInPlace: strings copied and indexed, a
// tower's tables).
func loadCost(h *bundle.Header, n uint64) uint64 {
	cost := n
	if h != nil && h.Major >= 3 {
		for _, e := range h.Entries {
			if !bundle.UsedInPlace(e.Tag) {
				cost += 5 * e.Raw
			}
		}
	}
	return cost
}

// validate checks o and fills in the defaults.
func (o *Options) validate() error {
	if o.MemoryLimitPages == 0 {
		o.MemoryLimitPages = DefaultMemoryLimitPages
	}
	if o.MemoryLimitPages > maxPages {
		return fmt.Errorf("host: Options.MemoryLimitPages = %d exceeds the %d pages of a 32-bit memory", o.MemoryLimitPages, maxPages)
	}
	if o.MaxBundleBytes < 0 {
		return fmt.Errorf("host: Options.MaxBundleBytes = %d is negative", o.MaxBundleBytes)
	}
	if o.CallTimeout < 0 {
		return fmt.Errorf("host: Options.CallTimeout = %v is negative", o.CallTimeout)
	}
	if o.CallTimeout > 0 && !o.Interruptible {
		return errors.New("host: Options.CallTimeout needs Options.Interruptible")
	}
	return nil
}

// DefaultCacheDir returns the usual compilation cache directory,
// os.UserCacheDir()/edgerec/wazero, or "" (no disk cache) when the user's
// cache directory is unknown.
func DefaultCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "edgerec", "wazero")
}

// wasmMagic starts every WebAssembly binary.
var wasmMagic = []byte("\x00asm")

// LoadModuleFile reads a built recommender.wasm. A missing file gives an
// error that says how to build it (and matches fs.ErrNotExist); a file that
// is not WebAssembly is refused.
func LoadModuleFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("host: module %s not found; build it with `make build`: %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("host: read module: %w", err)
	}
	if len(b) < 8 || !bytes.Equal(b[:4], wasmMagic) {
		return nil, fmt.Errorf("host: %s is not a WebAssembly module (it does not start with \\0asm)", path)
	}
	return b, nil
}
