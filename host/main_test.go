package host

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/edgerec/edgerec/wasm/wasmtest"
)

var (
	// testWasm is recommender.wasm built from ./wasm by TestMain.
	testWasm []byte
	// testModule is testWasm compiled once for all tests.
	testModule *Module
	// testCacheDir is shared by test runs so that only the first compiles
	// cold.
	testCacheDir = filepath.Join(os.TempDir(), "edgerec-host-test-wazero-cache")
)

// TestMain builds recommender.wasm from the working tree (the Go build cache
// makes rebuilds fast) and compiles it once.
func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "edgerec-host-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	out, err := wasmtest.Build(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if testWasm, err = LoadModuleFile(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx := context.Background()
	if testModule, err = Compile(ctx, testWasm, Options{CacheDir: testCacheDir}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer testModule.Close(ctx)
	defer func() {
		if m, err := interruptibleModule(); err == nil {
			m.Close(ctx)
		}
	}()
	return m.Run()
}

// newTestInstance instantiates testModule and closes the instance when the
// test ends.
func newTestInstance(tb testing.TB) *Instance {
	tb.Helper()
	ctx := context.Background()
	in, err := testModule.Instantiate(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { in.Close(ctx) })
	return in
}

// interruptibleModule compiles testWasm with Options.Interruptible once.
var interruptibleModule = sync.OnceValues(func() (*Module, error) {
	return Compile(context.Background(), testWasm, Options{CacheDir: testCacheDir, Interruptible: true})
})

// newInterruptibleInstance instantiates interruptibleModule with the given
// call timeout.
func newInterruptibleInstance(tb testing.TB, timeout time.Duration) *Instance {
	tb.Helper()
	m, err := interruptibleModule()
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	in, err := m.Instantiate(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	in.callTimeout = timeout
	tb.Cleanup(func() { in.Close(ctx) })
	return in
}
