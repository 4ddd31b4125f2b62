// Command wasm is recommender.wasm, the guest side of edgerec's module
// boundary: a WebAssembly reactor that exports the ABI named in core/abi and
// nothing else. Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o bin/recommender.wasm ./wasm
//
// The exports live in exports.go (wasip1 only); ABI.md documents each one,
// the packing of results, ownership of buffers, limits, and how to call the
// module from wazero, Node and a browser. All recommendation logic lives in
// core/pipeline; this package only moves bytes across the boundary.
package main

// main never runs: a c-shared reactor is initialized by its host calling
// _initialize, after which the host calls the exports.
func main() {}
