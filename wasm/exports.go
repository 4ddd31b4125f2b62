//go:build wasip1

package main

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"unsafe"

	"github.com/edgerec/edgerec/core/abi"
	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bloom"
	"github.com/edgerec/edgerec/core/pipeline"
	"github.com/edgerec/edgerec/core/wire"
)

// maxAlloc is the largest buffer edgerec_alloc hands out (abi.MaxAlloc).
// A host should keep its inputs well below its memory limit: the Go
// runtime cannot recover from running out of memory and the instance
// traps.
const maxAlloc = abi.MaxAlloc

var (
	// pinned keeps every buffer the host may read or write reachable, keyed
	// by its address in linear memory, until edgerec_free (or, for a bundle,
	// edgerec_load_bundle) releases it.
	pinned = make(map[uint32][]byte)

	// current answers requests; nil until a bundle loads.
	current *pipeline.Recommender

	// faultHook, nil in every release build, is set by faults.go in a
	// module built with -tags edgerec_faults: the host's fault tests use it
	// to make the guest trap or run long on request, or answer with the
	// request's bytes as it received them (a non-nil result).
	faultHook func(raw []byte, req *api.Request) []byte
)

// abiVersion returns abi.Version; hosts call it first and refuse any other
// value.
//
//go:wasmexport edgerec_abi_version
func abiVersion() uint32 { return abi.Version }

// alloc returns the address of size zeroed bytes that stay put and reachable
// until free. It returns 0 when size is 0 or more than maxAlloc.
//
//go:wasmexport edgerec_alloc
func alloc(size uint32) (ptr uint32) {
	if size == 0 || size > maxAlloc {
		return 0
	}
	defer func() {
		if recover() != nil {
			ptr = 0
		}
	}()
	return pin(make([]byte, size))
}

// free releases a buffer returned by alloc or a result. An unknown pointer,
// 0 included, is ignored, so a double free is harmless as long as the
// address was not handed out again in between.
//
//go:wasmexport edgerec_free
func free(ptr uint32) { delete(pinned, ptr) }

// loadBundle takes ownership of the buffer at ptr (always, even on error),
// loads the n bytes as a bundle and, on success, replaces the current
// recommender and returns its msgpack summary. On error the current
// recommender stays.
//
//go:wasmexport edgerec_load_bundle
func loadBundle(ptr, n uint32) (result uint64) { return load(ptr, n, pipeline.Load) }

// loadVerified is loadBundle for a bundle the host has checked completely
// (bundle.Decode): the guest checks only what keeps its reads within the
// bytes (pipeline.LoadVerified).
//
//go:wasmexport edgerec_load_verified
func loadVerified(ptr, n uint32) (result uint64) { return load(ptr, n, pipeline.LoadVerified) }

func load(ptr, n uint32, loader func([]byte) (*pipeline.Recommender, error)) (result uint64) {
	defer recoverResult(&result)
	b, err := buffer(ptr, n, true)
	if err != nil {
		return errResult(err.Error())
	}
	rec, err := loader(b)
	if err != nil {
		return errResult(err.Error())
	}
	if rec == nil {
		return errResult("internal error: pipeline.Load returned no recommender")
	}
	summary, err := wire.Marshal(rec.Summary())
	if err != nil {
		return errResult("encode summary: " + err.Error())
	}
	current = rec
	limitMemory()
	return okResult(summary)
}

// memoryHeadroom is the least the heap may grow past its live part after
// a load before the collector runs; limitMemory gives a large bundle a
// sixteenth of what the instance holds.
const memoryHeadroom = 4 << 20

// limitMemory sets the runtime's memory limit a little above what it holds
// now that a bundle is loaded: the bundle and what the pipeline keeps. A
// linear memory never shrinks, and by default the collector runs only when
// the heap doubles, which the bundle dominates: an instance serving a
// 250 MB bundle would grow by 250 MB of garbage. With the limit it grows by
// at most the headroom, whatever the bundle's size (TestMemoryFlatUnderLoad
// in host; edgerec bench prints the memory after load and after the run).
//
// The headroom is 4 MiB or a sixteenth of what the instance holds,
// whichever is more: over a bundle of hundreds of MiB, 4 MiB kept the
// heap at its live size with a collection every few requests, yet the
// linear memory grew with every request, for good (wasm/MEASUREMENTS.md).
func limitMemory() {
	runtime.GC() // what a previous bundle left is garbage now
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	// Sys − HeapReleased is what the memory limit is compared against
	// (runtime/debug.SetMemoryLimit), read without linking runtime/metrics.
	held := int64(m.Sys - m.HeapReleased)
	debug.SetMemoryLimit(held + max(memoryHeadroom, held/16))
}

// recommend decodes the n-byte msgpack request at ptr, which stays the
// host's, runs it against the current recommender and returns the msgpack
// response.
//
//go:wasmexport edgerec_recommend
func recommend(ptr, n uint32) (result uint64) {
	defer recoverResult(&result)
	// The request's strings are copies; its consumed filter is read in the
	// host's buffer, which stays unchanged through the call, and nothing
	// refers to it after (a copy would be up to 512 KiB of garbage a call).
	api.ClearTrace(trace[:])
	var raw []byte
	decode := func(b []byte) (*api.Request, error) {
		raw = b
		return api.DecodeRequestViews(b)
	}
	result = answer(ptr, n, decode, func(rec *pipeline.Recommender, req *api.Request) ([]byte, error) {
		if faultHook != nil {
			if out := faultHook(raw, req); out != nil {
				return out, nil
			}
		}
		// Once a host has asked for the trace record, the stage timings
		// go into it on every call, so the timer runs whether or not the
		// request asked for debug; the debug section goes into the
		// response only when asked.
		debug := req.Debug
		req.Debug = debug || tracing
		resp, err := rec.RecommendValid(req) // DecodeRequestViews validated it
		if err != nil {
			return nil, err
		}
		if resp == nil {
			return nil, errors.New("internal error: Recommend returned no response")
		}
		if tracing {
			api.PutTrace(trace[:], resp)
		}
		if !debug {
			resp.Debug = nil
		}
		return api.EncodeResponse(resp)
	})
	if n > bigRequest {
		runtime.GC()
	}
	return result
}

// bigRequest is the request size past which a call collects after it
// answers. Such a request (a consumed filter of hundreds of KiB) leaves
// garbage in blocks as large, and a few in a row outgrow the heap's
// headroom before the collector runs: the linear memory would grow for
// good. The collection costs the call a few ms (edgerec bench's
// adversarial rows); smaller requests never pay it.
const bigRequest = 128 << 10

var (
	// trace is the record edgerec_trace points at: the last recommend
	// call's item count and stage timings (api.PutTrace). A global array
	// lives in the module's data, so its address never changes and a host
	// may read it after every call without calling in.
	trace [api.TraceBytes]byte
	// tracing is set once a host has asked where the record is: only then
	// does every call time its stages (a host that never reads the record,
	// such as the JS loader, does not pay for the clock reads).
	tracing bool
)

// traceAddr returns the address of the trace record and turns the record
// on for the instance's later recommend calls.
//
//go:wasmexport edgerec_trace
func traceAddr() uint32 {
	tracing = true
	return uint32(uintptr(unsafe.Pointer(&trace)))
}

// answer runs an export that reads the loaded bundle: it decodes the
// n-byte input at ptr, which stays the host's, with decode, and returns
// what run makes of it, or the first error.
func answer[T any](ptr, n uint32, decode func([]byte) (T, error), run func(*pipeline.Recommender, T) ([]byte, error)) uint64 {
	b, err := buffer(ptr, n, false)
	if err != nil {
		return errResult(err.Error())
	}
	req, err := decode(b)
	if err != nil {
		return errResult(err.Error())
	}
	rec := current
	if rec == nil {
		return errResult("no bundle loaded")
	}
	out, err := run(rec, req)
	if err != nil {
		return errResult(err.Error())
	}
	return okResult(out)
}

// bloomOp runs the n-byte msgpack api.BloomOp at ptr, which stays the
// host's, and returns the msgpack api.BloomResult: a consumed-items filter made,
// added to, or checked, so that a browser need not reimplement the hashing.
// It does not use the bundle.
//
//go:wasmexport edgerec_bloom
func bloomOp(ptr, n uint32) (result uint64) {
	defer recoverResult(&result)
	b, err := buffer(ptr, n, false)
	if err != nil {
		return errResult(err.Error())
	}
	// ApplyBytes copies what it keeps out of b (msgpack allocates every
	// string and byte slice) and returns a fresh slice.
	out, err := bloom.ApplyBytes(b)
	if err != nil {
		return errResult(err.Error())
	}
	return okResult(out)
}

// catalog decodes the n-byte msgpack api.CatalogRequest at ptr (n 0: the
// first page), which stays the host's, and returns that page of the loaded
// bundle's catalog as a msgpack api.CatalogPage, so that a browser can show
// titles and categories without decoding the bundle itself.
//
//go:wasmexport edgerec_catalog
func catalog(ptr, n uint32) (result uint64) {
	defer recoverResult(&result)
	return answer(ptr, n, api.DecodeCatalogRequest, func(rec *pipeline.Recommender, req *api.CatalogRequest) ([]byte, error) {
		return api.EncodeCatalogPage(rec.Catalog(req))
	})
}

// pin keeps b reachable under its address and returns the address. b must
// not be empty.
func pin(b []byte) uint32 {
	ptr := uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
	pinned[ptr] = b
	return ptr
}

// buffer returns the first n bytes of the pinned buffer at ptr; own unpins
// it (ownership passes to the guest). ptr 0 with n 0 is the empty input.
func buffer(ptr, n uint32, own bool) ([]byte, error) {
	if ptr == 0 && n == 0 {
		return nil, nil
	}
	b, ok := pinned[ptr]
	if !ok {
		return nil, fmt.Errorf("pointer %#x was not returned by %s or was freed", ptr, abi.ExportAlloc)
	}
	if own {
		delete(pinned, ptr)
	}
	if uint64(n) > uint64(len(b)) {
		return nil, fmt.Errorf("length %d exceeds the %d-byte buffer at %#x", n, len(b), ptr)
	}
	return b[:n:n], nil
}

// okResult pins payload, which must be a fresh allocation that nothing else
// refers to, and packs it as a success.
func okResult(payload []byte) uint64 { return result(payload, false) }

// errResult packs msg as an error result.
func errResult(msg string) uint64 {
	if msg == "" {
		msg = "unknown error"
	}
	return result([]byte(msg), true)
}

func result(payload []byte, isErr bool) uint64 {
	if len(payload) == 0 {
		return abi.Pack(0, 0, isErr)
	}
	if uint64(len(payload)) > abi.MaxPayload {
		return errResult(fmt.Sprintf("result of %d bytes exceeds the limit of %d", len(payload), abi.MaxPayload))
	}
	return abi.Pack(pin(payload), uint32(len(payload)), isErr)
}

// recoverResult turns a panic in an export into an error result, so that a
// bug or bad input never kills the instance. It must be deferred directly.
func recoverResult(result *uint64) {
	if r := recover(); r != nil {
		*result = errResult(fmt.Sprintf("internal error: %v", r))
	}
}
