package host

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
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
	goBin, err := exec.LookPath("go")
	if err != nil {
		fmt.Fprintf(os.Stderr, "host tests build recommender.wasm and need the go command on PATH: %v\n", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "edgerec-host-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "recommender.wasm")
	cmd := exec.Command(goBin, "build", "-buildmode=c-shared", "-o", out, "github.com/edgerec/edgerec/wasm")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "building recommender.wasm (GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared ./wasm): %v\n", err)
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
