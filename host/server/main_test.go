package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgerec/edgerec/host"
	"github.com/edgerec/edgerec/wasm/wasmtest"
)

var (
	// testWasm is recommender.wasm built with -tags edgerec_faults
	// (wasm/faults.go): a request with user_id "fault:exit", "fault:oom"
	// or "fault:spin:MS" makes the guest trap or compute that long.
	testWasm []byte
	// fastModule is testWasm compiled without Options.Interruptible,
	// slowModule with it.
	fastModule, slowModule *host.Module
	testCacheDir           = filepath.Join(os.TempDir(), "edgerec-server-test-wazero-cache")
)

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "edgerec-server-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// The fault-injecting module (wasm/faults.go).
	out, err := wasmtest.Build(dir, "edgerec_faults")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if testWasm, err = host.LoadModuleFile(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx := context.Background()
	// 64 MiB per instance: enough for the test bundles, and fault:oom
	// reaches the limit quickly.
	opts := host.Options{CacheDir: testCacheDir, MemoryLimitPages: 1024}
	if fastModule, err = host.Compile(ctx, testWasm, opts); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer fastModule.Close(ctx)
	opts.Interruptible = true
	if slowModule, err = host.Compile(ctx, testWasm, opts); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer slowModule.Close(ctx)
	return m.Run()
}
