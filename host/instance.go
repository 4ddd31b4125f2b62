package host

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"time"

	wapi "github.com/tetratelabs/wazero/api"

	"github.com/edgerec/edgerec/core/abi"
	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/wire"
)

// Instance is one instance of recommender.wasm: its own linear memory and at
// most one loaded bundle. It stays usable after the guest refuses an input
// (ErrGuest); after a trap (ErrTrap) it is closed and Broken reports true.
//
// # Notes
//
//   - An Instance is not safe for concurrent use: the guest runs one call at
//     a time. Use one Instance per goroutine, or a pool.
//   - Every guest buffer the host allocates is freed after the call, and
//     every result is copied out and freed, so a long-lived Instance does
//     not leak guest memory.
type Instance struct {
	mod   wapi.Module
	mem   wapi.Memory
	alloc wapi.Function
	free  wapi.Function

	loadBundle wapi.Function
	recommend  wapi.Function
	bloom      wapi.Function

	// traceAddr is the address of the module's trace record (0: the
	// module has no edgerec_trace); names interns its stage names.
	traceAddr uint32
	names     map[string]string

	maxBundle   int    // Options.MaxBundleBytes: 0 means by format (BundleLimit)
	memLimit    uint64 // the linear memory's limit in bytes
	holds       bool   // a bundle is loaded (a load needs room for both)
	callTimeout time.Duration

	stack  [2]uint64 // parameters in, results out; reused by every call
	closed bool
	broken bool

	// reqPtr is a guest buffer of reqCap bytes kept for requests, so that a
	// typical recommend costs two calls into the guest (recommend, then free
	// of the result) instead of four. Larger requests get a buffer of their
	// own, freed after the call.
	reqPtr uint32
	reqCap int

	// outstanding counts the other guest buffers the host holds and must
	// free; it is zero between calls (the tests hold it to that).
	outstanding int
}

// Sizes of the kept request buffer: it starts at minRequestBuffer bytes and
// doubles up to maxRequestBuffer.
const (
	minRequestBuffer = 4 << 10
	maxRequestBuffer = 64 << 10
)

// LoadBundle hands the bundle b to the guest, which decodes and validates it
// and, on success, answers later requests from it and returns its summary.
// On a guest error (corrupt, truncated, wrong version...: ErrGuest) or a
// refusal for size (ErrTooLarge) the previously loaded bundle keeps serving.
//
// The guest reads sections stored raw only (core/bundle/zstd_wasm.go): a
// bundle with compressed sections — format 1, or 2.0 as written before
// 2026-12-07 — is decompressed here first by core/bundle.Uncompressed,
// the code the guest would have run, and a refusal there is the guest's
// (a *GuestError).
//
// b is copied into guest memory; the caller may reuse it.
func (in *Instance) LoadBundle(ctx context.Context, b []byte) (api.Summary, error) {
	if err := in.usable(); err != nil {
		return api.Summary{}, err
	}
	if h, err := bundle.ReadHeader(b); err == nil {
		// A header the guest refuses anyway is left to it, for the same
		// message; a bundle too large is refused below (load), or here
		// for what it decompresses to.
		raw := uint64(0)
		compressed := false
		for _, e := range h.Entries {
			raw += e.Raw
			compressed = compressed || e.Compressed()
		}
		if compressed {
			if err := in.admit(h, raw); err != nil {
				return api.Summary{}, fmt.Errorf("%w (once decompressed)", err)
			}
			if b, err = bundle.Uncompressed(b); err != nil {
				return api.Summary{}, &GuestError{Export: abi.ExportLoadBundle, Message: err.Error()}
			}
		}
	}
	return in.load(ctx, abi.ExportLoadBundle, in.loadBundle, b)
}

// LoadVerified loads a bundle that Verify checked natively: the guest
// checks only what keeps its reads within the bytes
// (core/bundle.DecodeVerified), so that loading costs about a copy. A
// module without the edgerec_load_verified export gets the bundle through
// LoadBundle instead. Errors are LoadBundle's.
func (in *Instance) LoadVerified(ctx context.Context, v *Verified) (api.Summary, error) {
	if in.mod.ExportedFunction(abi.ExportLoadVerified) == nil {
		return in.LoadBundle(ctx, v.data) // a module that predates the export
	}
	f, err := in.optionalExport(abi.ExportLoadVerified)
	if err != nil {
		return api.Summary{}, err
	}
	return in.load(ctx, abi.ExportLoadVerified, f, v.data)
}

// The range of memory limits an instance takes in MiB (edgerec serve
// --max-memory), which a refusal's advice stays within: from what the
// module needs without a bundle to the whole of a 32-bit linear memory.
const (
	MinMemoryMiB = 16
	MaxMemoryMiB = 4096
)

// admit returns an ErrTooLarge error when the instance refuses to load n
// bytes of a bundle with header h (nil: not readable; the guest refuses
// such a header whatever its size): over Options.MaxBundleBytes, or by
// default a load cost over BundleLimit (a quarter of the memory limit
// while the instance holds a bundle).
func (in *Instance) admit(h *bundle.Header, n uint64) error {
	if in.maxBundle > 0 {
		if n > uint64(in.maxBundle) {
			return fmt.Errorf("%w: bundle is %d bytes, more than the limit of %d (Options.MaxBundleBytes)", ErrTooLarge, n, in.maxBundle)
		}
		return nil
	}
	major := uint16(0)
	if h != nil && !in.holds {
		major = h.Major
	}
	cost := loadCost(h, n)
	limit := uint64(BundleLimit(major, in.memLimit))
	if cost <= limit {
		return nil
	}
	what := "a header that cannot be read"
	if h != nil {
		what = fmt.Sprintf("format %d.%d", h.Major, h.Minor)
		if in.holds {
			what += ", into an instance that holds a bundle (room for both: a quarter of the limit)"
		}
	}
	advice := "no memory limit admits it"
	if n <= abi.MaxAlloc {
		for mib := uint64(MinMemoryMiB); mib <= MaxMemoryMiB; mib++ {
			if cost <= uint64(BundleLimit(major, mib<<20)) {
				advice = fmt.Sprintf("edgerec serve --max-memory %d admits it", mib)
				break
			}
		}
	}
	return fmt.Errorf("%w: bundle is %d bytes (%s), costing %d to load, more than the limit of %d in a memory limit of %d MiB (host.BundleLimit: %s)",
		ErrTooLarge, n, what, cost, limit, in.memLimit>>20, advice)
}

// load hands b to the guest's load export f.
func (in *Instance) load(ctx context.Context, export string, f wapi.Function, b []byte) (api.Summary, error) {
	var s api.Summary
	h, err := bundle.ReadHeader(b)
	if err != nil {
		h = nil
	}
	if err := in.admit(h, uint64(len(b))); err != nil {
		return s, err
	}
	if err := ctx.Err(); err != nil {
		return s, err
	}
	ptr, err := in.write(ctx, b)
	if err != nil {
		return s, err
	}
	r, err := in.call(ctx, export, f, uint64(ptr), uint64(len(b)))
	if err != nil {
		return s, err
	}
	if ptr != 0 {
		in.outstanding-- // the guest owns the buffer now, even on error
	}
	payload, err := in.result(ctx, export, r)
	if err != nil {
		return s, err
	}
	in.holds = true
	if err := wire.Unmarshal(payload, &s); err != nil {
		return s, fmt.Errorf("host: %s: malformed summary: %w", export, err)
	}
	return s, nil
}

// Recommend encodes req, runs it in the guest and decodes the response. See
// RecommendBytes for the errors.
func (in *Instance) Recommend(ctx context.Context, req *api.Request) (*api.Response, error) {
	b, err := api.EncodeRequest(req)
	if err != nil {
		return nil, fmt.Errorf("host: encode request: %w", err)
	}
	out, err := in.RecommendBytes(ctx, b)
	if err != nil {
		return nil, err
	}
	resp, err := api.DecodeResponse(out)
	if err != nil {
		return nil, fmt.Errorf("host: %s: %w", abi.ExportRecommend, err)
	}
	return resp, nil
}

// RecommendBytes runs the msgpack-encoded request req in the guest and
// returns the msgpack-encoded response (a fresh slice the caller owns). The
// bytes go to the guest as they are: the guest decodes and validates them,
// once. A context from WithTrace receives the call's trace.
//
// A request over api.MaxRequestBytes fails with ErrTooLarge without calling
// the guest. A malformed or invalid request, or no bundle loaded ("no bundle
// loaded"), gives an error wrapping ErrGuest (see GuestError); the instance
// stays usable. A context already done when the call starts returns its
// error and leaves the instance usable. With Options.Interruptible, a context
// that ends during the call, or Options.CallTimeout passing, stops the call:
// ErrTrap, and the instance is lost.
func (in *Instance) RecommendBytes(ctx context.Context, req []byte) ([]byte, error) {
	out, err := in.recommendBytes(ctx, req)
	in.readTrace(ctx, err == nil)
	return out, err
}

func (in *Instance) recommendBytes(ctx context.Context, req []byte) ([]byte, error) {
	if len(req) > api.MaxRequestBytes {
		if err := in.usable(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: request is %d bytes, more than the limit of %d", ErrTooLarge, len(req), api.MaxRequestBytes)
	}
	return in.callWith(ctx, abi.ExportRecommend, in.recommend, req)
}

// callWith runs an export that takes an input buffer the host keeps (a
// request, a Bloom op) and returns a result: the input goes into the kept
// request buffer (or a temporary one), the call is bounded by
// Options.CallTimeout, and the result is copied out and freed.
func (in *Instance) callWith(ctx context.Context, export string, f wapi.Function, input []byte) ([]byte, error) {
	if err := in.usable(); err != nil {
		return nil, err
	}
	if in.callTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, in.callTimeout)
		defer cancel()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ptr, temp, err := in.writeRequest(ctx, input)
	if err != nil {
		return nil, err
	}
	r, err := in.call(ctx, export, f, uint64(ptr), uint64(len(input)))
	if err != nil {
		return nil, err
	}
	if temp {
		if err := in.release(ctx, ptr); err != nil {
			return nil, err
		}
	}
	return in.result(ctx, export, r)
}

// writeRequest copies req into guest memory: into the kept request buffer
// (grown if needed) when req fits in maxRequestBuffer, otherwise into a
// temporary buffer that the caller must release (temp).
func (in *Instance) writeRequest(ctx context.Context, req []byte) (ptr uint32, temp bool, err error) {
	if len(req) == 0 {
		return 0, false, nil
	}
	if len(req) > maxRequestBuffer {
		ptr, err := in.write(ctx, req)
		return ptr, true, err
	}
	if len(req) > in.reqCap {
		size := max(minRequestBuffer, in.reqCap)
		for size < len(req) {
			size *= 2
		}
		p, err := in.allocate(ctx, size)
		if err != nil {
			return 0, false, err
		}
		old := in.reqPtr
		in.reqPtr, in.reqCap = p, size
		if err := in.freeGuest(ctx, old); err != nil {
			return 0, false, err
		}
	}
	// Take the view only now: alloc may have grown the memory.
	if !in.mem.Write(in.reqPtr, req) {
		return 0, false, in.trap(abi.ExportAlloc, fmt.Errorf("buffer [%#x, +%d) lies outside memory", in.reqPtr, len(req)))
	}
	return in.reqPtr, false, nil
}

// Broken reports whether a trap closed the instance. A pool should discard
// a broken instance and instantiate a new one.
func (in *Instance) Broken() bool { return in.broken }

// MemoryBytes returns the size of the instance's linear memory in bytes (0
// once closed). It only grows: the Go runtime in the guest never returns
// memory.
func (in *Instance) MemoryBytes() uint64 {
	if in.closed || in.mod.IsClosed() {
		return 0
	}
	pages, _ := in.mem.Grow(0)
	return uint64(pages) * 65536
}

// Close closes the instance and releases its memory. Closing twice is
// harmless.
func (in *Instance) Close(ctx context.Context) error {
	if in.closed {
		return nil
	}
	in.closed = true
	return in.mod.Close(ctx)
}

// usable returns ErrClosed for a closed or broken instance, or one whose
// Module was closed.
func (in *Instance) usable() error {
	if !in.closed && in.mod.IsClosed() {
		in.closed = true
	}
	switch {
	case in.broken:
		return fmt.Errorf("%w (broken by an earlier trap)", ErrClosed)
	case in.closed:
		return ErrClosed
	}
	return nil
}

// call calls f with up to two parameters and returns its first result. An
// error from wazero means the guest trapped or ran out of time: the instance
// is closed and marked broken.
func (in *Instance) call(ctx context.Context, export string, f wapi.Function, a, b uint64) (uint64, error) {
	in.stack[0], in.stack[1] = a, b
	if err := f.CallWithStack(ctx, in.stack[:]); err != nil {
		return 0, in.trap(export, err)
	}
	return in.stack[0], nil
}

// trap closes the instance after a trap in export and returns the error.
func (in *Instance) trap(export string, err error) error {
	in.broken = true
	if !in.closed {
		in.closed = true
		// The context may be done already; closing must still happen.
		in.mod.Close(context.Background())
	}
	in.outstanding = 0
	return fmt.Errorf("%w: %s: %w", ErrTrap, export, err)
}

// write copies b into a fresh guest buffer and returns its address; the
// empty input is passed as address 0, length 0.
func (in *Instance) write(ctx context.Context, b []byte) (uint32, error) {
	if len(b) == 0 {
		return 0, nil
	}
	ptr, err := in.allocate(ctx, len(b))
	if err != nil {
		return 0, err
	}
	in.outstanding++
	// Take the view only now: alloc may have grown the memory.
	if !in.mem.Write(ptr, b) {
		return 0, in.trap(abi.ExportAlloc, fmt.Errorf("returned buffer [%#x, +%d) lies outside memory", ptr, len(b)))
	}
	return ptr, nil
}

// allocate calls alloc for size bytes. A refusal (0) is a *GuestError.
func (in *Instance) allocate(ctx context.Context, size int) (uint32, error) {
	if uint64(size) > math.MaxUint32 {
		return 0, fmt.Errorf("%w: %d bytes do not fit in a 32-bit memory", ErrTooLarge, size)
	}
	// alloc and free are short and bounded; they run without the caller's
	// deadline, so that only the main call can time out.
	r, err := in.call(context.WithoutCancel(ctx), abi.ExportAlloc, in.alloc, uint64(size), 0)
	if err != nil {
		return 0, err
	}
	ptr := uint32(r)
	if ptr == 0 {
		return 0, &GuestError{Export: abi.ExportAlloc, Message: fmt.Sprintf("refused to allocate %d bytes", size)}
	}
	return ptr, nil
}

// release frees the guest buffer at ptr, counted in outstanding (0 is
// ignored).
func (in *Instance) release(ctx context.Context, ptr uint32) error {
	if ptr == 0 {
		return nil
	}
	if err := in.freeGuest(ctx, ptr); err != nil {
		return err
	}
	in.outstanding--
	return nil
}

// freeGuest calls free for ptr (0 is ignored).
func (in *Instance) freeGuest(ctx context.Context, ptr uint32) error {
	if ptr == 0 {
		return nil
	}
	_, err := in.call(context.WithoutCancel(ctx), abi.ExportFree, in.free, uint64(ptr), 0)
	return err
}

// result copies the payload of the packed result r out of guest memory,
// frees it, and returns it, or a *GuestError when it is an error message.
func (in *Instance) result(ctx context.Context, export string, r uint64) ([]byte, error) {
	ptr, n, isErr := abi.Unpack(r)
	if ptr != 0 {
		in.outstanding++
	}
	var payload []byte
	if n > 0 {
		// Read after the call: a view taken before would be stale if the
		// guest grew its memory.
		view, ok := in.mem.Read(ptr, n)
		if !ok {
			return nil, in.trap(export, fmt.Errorf("result [%#x, +%d) lies outside memory", ptr, n))
		}
		payload = bytes.Clone(view)
	}
	if err := in.release(ctx, ptr); err != nil {
		return nil, err
	}
	if isErr {
		return nil, &GuestError{Export: export, Message: string(payload)}
	}
	if payload == nil {
		payload = []byte{}
	}
	return payload, nil
}

// optionalExport returns the export name of optionalSigs, checked, after
// checking the instance is usable. A module without it gives an error
// wrapping ErrABI; the instance stays usable.
func (in *Instance) optionalExport(name string) (wapi.Function, error) {
	if err := in.usable(); err != nil {
		return nil, err
	}
	f := in.mod.ExportedFunction(name)
	if f == nil {
		return nil, fmt.Errorf("%w: no export %s (the module predates it)", ErrABI, name)
	}
	if err := checkSig(name, f.Definition(), optionalSigs[name]); err != nil {
		return nil, err
	}
	return f, nil
}
