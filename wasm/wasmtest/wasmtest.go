// Package wasmtest builds recommender.wasm from the working tree for the
// tests of the packages that run it (the host, the edge node, the
// command, the simulation, the PyTorch round trip). Only tests import it.
package wasmtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Build builds the module (GOOS=wasip1 GOARCH=wasm go build
// -buildmode=c-shared ./wasm, with tags when given) into dir and returns
// its path. The go command's build cache makes a rebuild of an unchanged
// tree fast.
func Build(dir string, tags ...string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("building recommender.wasm needs the go command on PATH: %w", err)
	}
	out := filepath.Join(dir, "recommender.wasm")
	args := []string{"build"}
	for _, t := range tags {
		args = append(args, "-tags", t)
	}
	args = append(args, "-buildmode=c-shared", "-o", out, "github.com/edgerec/edgerec/wasm")
	cmd := exec.Command(goBin, args...)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building recommender.wasm (GOOS=wasip1 GOARCH=wasm go %v): %w\n%s", args, err, b)
	}
	return out, nil
}
