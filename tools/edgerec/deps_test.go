package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNoFixturesLinked: the edgerec binary links no test fixture (a
// package named like anntest, bundletest or bloomtest, whose generators
// exist for tests and whose bugs would then ship). The standard library is
// left out: it has internal packages of its own named so (internal/synctest).
func TestNoFixturesLinked(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	require.NoError(t, err, "go list -deps")
	deps := strings.Fields(string(out))
	require.Contains(t, deps, "github.com/edgerec/edgerec/host", "go list listed the binary's dependencies")
	for _, p := range deps {
		assert.False(t, strings.HasSuffix(p, "test"), "the edgerec binary links the test fixture %s", p)
	}
}
