package main

import (
	"context"
	"os"
	"path/filepath"

	"github.com/edgerec/edgerec/host"
)

// findModule resolves --wasm: the flag, else recommender.wasm next to the
// running binary, else bin/recommender.wasm.
func findModule(flagPath string) (string, error) {
	if flagPath != "" {
		return flagPath, nil
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "recommender.wasm")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return filepath.Join("bin", "recommender.wasm"), nil
}

// readModule resolves --wasm (findModule) and reads the module, checking
// that it is WebAssembly.
func readModule(flagPath string) (path string, wasm []byte, err error) {
	if path, err = findModule(flagPath); err != nil {
		return "", nil, err
	}
	wasm, err = host.LoadModuleFile(path)
	return path, wasm, err
}

// openInstance compiles wasm with the on-disk compilation cache and
// instantiates it; closing releases both.
func openInstance(ctx context.Context, wasm []byte) (inst *host.Instance, closeAll func(), err error) {
	return openInstanceWith(ctx, wasm, host.Options{CacheDir: host.DefaultCacheDir()})
}

// openInstanceWith is openInstance with the given host options.
func openInstanceWith(ctx context.Context, wasm []byte, opts host.Options) (inst *host.Instance, closeAll func(), err error) {
	mod, err := host.Compile(ctx, wasm, opts)
	if err != nil {
		return nil, nil, err
	}
	if inst, err = mod.Instantiate(ctx); err != nil {
		mod.Close(ctx)
		return nil, nil, err
	}
	return inst, func() { inst.Close(ctx); mod.Close(ctx) }, nil
}
