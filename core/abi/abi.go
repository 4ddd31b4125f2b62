// Package abi is the contract between recommender.wasm and its hosts: the
// names of the module's exports, the ABI version, and how a call's result is
// packed into one uint64. The guest (wasm/) and the Go host (host/) both
// import it; the JavaScript loader in web-demo/ mirrors it. wasm/ABI.md
// documents every export.
package abi

// Version is the ABI version. A host refuses a module whose version export
// returns another value. Bump it on any incompatible change to an export's
// signature or meaning.
const Version uint32 = 1

// Export names.
const (
	// ExportVersion: () → i32, the module's ABI version.
	ExportVersion = "edgerec_abi_version"
	// ExportAlloc: (size i32) → i32, a pointer to size bytes of guest memory
	// kept alive until freed; 0 when size is 0 or too large.
	ExportAlloc = "edgerec_alloc"
	// ExportFree: (ptr i32) → (), releases a buffer from alloc or a result.
	ExportFree = "edgerec_free"
	// ExportLoadBundle: (ptr i32, len i32) → i64 result; takes ownership of
	// the buffer; the result holds the msgpack manifest summary.
	ExportLoadBundle = "edgerec_load_bundle"
	// ExportLoadVerified: as ExportLoadBundle, for a bundle the host has
	// checked completely (core/bundle.Decode): the guest checks only what
	// keeps its reads within the bytes (bundle.DecodeVerified). Optional:
	// hosts fall back to ExportLoadBundle without it.
	ExportLoadVerified = "edgerec_load_verified"
	// ExportRecommend: (ptr i32, len i32) → i64 result; the buffer stays the
	// host's; the result holds the msgpack response.
	ExportRecommend = "edgerec_recommend"
	// ExportBloom: (ptr i32, len i32) → i64 result; the buffer stays the
	// host's; the input is a msgpack api.BloomOp (new, add or check), the
	// result holds the msgpack api.BloomResult. It needs no bundle.
	ExportBloom = "edgerec_bloom"
	// ExportCatalog: (ptr i32, len i32) → i64 result; the buffer stays the
	// host's; the input is a msgpack api.CatalogRequest (or empty for the
	// first page), the result holds the msgpack api.CatalogPage of the
	// loaded bundle.
	ExportCatalog = "edgerec_catalog"
	// ExportEmbed: (ptr i32, len i32) → i64 result; the buffer stays the
	// host's; the input is a msgpack request, the result the msgpack
	// api.Embedding of its query. Optional: hosts look it up when first
	// used, so modules without it still load.
	ExportEmbed = "edgerec_embed"
	// ExportTrace: () → i32, the address of the trace record
	// (api.TraceBytes bytes, layout in core/api/trace.go) that every
	// edgerec_recommend call overwrites: the call's item count and stage
	// timings, out of band. The record never moves and is never freed.
	// Optional: modules without it still load, and their calls have no
	// trace.
	ExportTrace = "edgerec_trace"
	// ExportInitialize is the reactor's initialization function, called once
	// after instantiation and before any other export.
	ExportInitialize = "_initialize"
)

// ErrorFlag marks a result whose payload is a UTF-8 error message.
const ErrorFlag uint64 = 1 << 31

// MaxAlloc is the largest buffer edgerec_alloc hands out (1 GiB); larger
// requests get 0.
const MaxAlloc = 1 << 30

// MaxPayload is the largest payload a result can describe.
const MaxPayload = 1<<31 - 1

// Pack packs a result: the pointer in the high 32 bits, the length in the low
// 31 bits, and ErrorFlag when the payload is an error message.
//
// Pack panics if n exceeds MaxPayload (a programmer error).
func Pack(ptr, n uint32, isErr bool) uint64 {
	if n > MaxPayload {
		panic("abi: payload too large")
	}
	r := uint64(ptr)<<32 | uint64(n)
	if isErr {
		r |= ErrorFlag
	}
	return r
}

// Unpack splits a result packed by Pack.
func Unpack(r uint64) (ptr, n uint32, isErr bool) {
	return uint32(r >> 32), uint32(r & MaxPayload), r&ErrorFlag != 0
}
