package bundle_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/pipeline"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goldenName is how a released version's golden file is named:
// vMAJOR.MINOR.bundle, or vMAJOR.MINOR-VARIANT.bundle for a variant (one
// with optional sections, say).
var goldenName = regexp.MustCompile(`^v(\d+)\.(\d+)(-[a-z0-9-]+)?\.bundle$`)

// TestCompatibilityPolicy holds the goldens and bundles/FORMAT.md §7 to
// each other and to the reader the module runs:
//
//   - every golden is named for the version its header declares;
//   - every released version (a row of the §7 table) has a golden, and
//     every golden's version is a row;
//   - every golden loads into the serving pipeline (pipeline.Load, what
//     recommender.wasm runs) and answers a request.
func TestCompatibilityPolicy(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.bundle")
	spec, err := os.ReadFile("../../bundles/FORMAT.md")
	if err != nil {
		t.Fatal(err)
	}
	sec7 := string(spec)
	if i := strings.Index(sec7, "## §7"); i >= 0 {
		sec7 = sec7[i:]
	} else {
		t.Fatal("FORMAT.md has no §7")
	}
	released := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\| (\d+\.\d+) \|`).FindAllStringSubmatch(sec7, -1) {
		released[m[1]] = true
	}
	if len(released) == 0 {
		t.Fatal("FORMAT.md §7 lists no released version")
	}
	have := map[string]bool{}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			m := goldenName.FindStringSubmatch(name)
			if m == nil {
				t.Fatalf("golden %s is not named vMAJOR.MINOR[-variant].bundle", name)
			}
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			h, err := bundle.ReadHeader(data)
			if err != nil {
				t.Fatal(err)
			}
			v := fmt.Sprintf("%d.%d", h.Major, h.Minor)
			if v != m[1]+"."+m[2] {
				t.Errorf("%s declares format %s", name, v)
			}
			have[v] = true
			if !released[v] {
				t.Errorf("%s: version %s is not in the FORMAT.md §7 table", name, v)
			}
			rec, err := pipeline.Load(data)
			if err != nil {
				t.Fatalf("the serving pipeline refuses %s: %v", name, err)
			}
			resp, err := rec.Recommend(&api.Request{K: 3, Context: api.Context{Age: 40}})
			if err != nil || len(resp.Items) == 0 {
				t.Fatalf("%s answers %v, %v", name, resp, err)
			}
		})
	}
	for v := range released {
		if !have[v] {
			t.Errorf("released version %s (FORMAT.md §7) has no golden in testdata", v)
		}
	}
}

// TestOlderParamsTurnSlimOff: bundles written before the slim source
// (format 1.0 and 1.1) carry six-entry params; the reader fills slim's
// weight and depth with 0, which turns the source off, and their rankers
// (on the six-source features) still load.
func TestOlderParamsTurnSlimOff(t *testing.T) {
	for _, name := range []string{"v1.0.bundle", "v1.0-ivf.bundle", "v1.1-signed.bundle"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", name))
			require.NoError(t, err)
			b, err := bundle.Decode(data)
			require.NoError(t, err)
			require.NotNil(t, b.Pipeline)
			for _, p := range append([]bundle.Params{b.Pipeline.Defaults}, armParams(b.Pipeline.Arms)...) {
				assert.Zero(t, p.Weights[api.SourceSlim])
				assert.Zero(t, p.Depth[api.SourceSlim])
			}
			assert.Zero(t, b.Pipeline.Slim.Items())
			if b.Ranker != nil {
				assert.NotContains(t, b.Ranker.Features, "slim_score")
			}
		})
	}
}

func armParams(arms []bundle.Arm) []bundle.Params {
	var out []bundle.Params
	for _, a := range arms {
		out = append(out, a.Params)
	}
	return out
}
