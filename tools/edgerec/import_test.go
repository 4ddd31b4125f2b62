package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/edgerec/edgerec/tools/importer"
	"github.com/edgerec/edgerec/tools/model"
)

// TestImportRoundTrip exports the model `edgerec train` made as a spec and
// safetensors/.npz weights, imports them with the command, and wants the
// same towers and vocabularies byte for byte, then a bundle built from the
// imported model that serves through the module like the original (the
// same bytes as the original's bundle built without its ranker).
func TestImportRoundTrip(t *testing.T) {
	data, modelDir, _ := pipelineOnce(t)
	m := mustModel(t, modelDir)
	dir := t.TempDir()
	spec, ts := importer.Export(m)
	sb, err := json.MarshalIndent(spec, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	specFile := filepath.Join(dir, "spec.json")
	os.WriteFile(specFile, sb, 0o644)
	os.WriteFile(filepath.Join(dir, "w.safetensors"), importer.EncodeSafetensors(ts), 0o644)
	os.WriteFile(filepath.Join(dir, "w.npz"), importer.EncodeNPZ(ts), 0o644)

	for _, w := range []string{"w.safetensors", "w.npz"} {
		out := filepath.Join(dir, "imported-"+w)
		if o := mustRun(t, "import", "--spec", specFile, "--weights", filepath.Join(dir, w), "--out", out); !strings.Contains(o, "wrote") {
			t.Errorf("import output %q", o)
		}
		for _, f := range []string{model.QueryFile, model.ItemFile, model.VocabFile} {
			a, _ := os.ReadFile(filepath.Join(modelDir, f))
			b, _ := os.ReadFile(filepath.Join(out, f))
			if !bytes.Equal(a, b) {
				t.Errorf("%s: %s differs from the original", w, f)
			}
		}
	}

	// The original without its ranker and the imported model build the
	// same bundle.
	noRanker := filepath.Join(dir, "no-ranker")
	m.Ranker = nil
	if err := model.Save(noRanker, m); err != nil {
		t.Fatal(err)
	}
	a, b := filepath.Join(dir, "a.bundle"), filepath.Join(dir, "b.bundle")
	mustRun(t, "bundle", "build", "--model", noRanker, "--data", data, "--out", a, "--version", "v")
	mustRun(t, "bundle", "build", "--model", filepath.Join(dir, "imported-w.npz"), "--data", data, "--out", b, "--version", "v")
	ab, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if !bytes.Equal(ab, bb) {
		t.Error("the imported model builds another bundle than the original")
	}
	ds := mustDataset(t, data)
	if out := mustRun(t, "recommend", "--bundle", b, "--wasm", wasmPath, "--data", data, "--user", ds.Users[7].ID, "--k", "5"); !regexp.MustCompile(`(?m)^\s+5\s+\S+\s+[0-9.]+\s+[a-z]+`).MatchString(out) {
		t.Errorf("recommend from the imported bundle did not list 5 items:\n%s", out)
	}

	// Errors: bad usage 2, a mismatch 1 with the tensor named.
	if code, _, _ := edgerec(t, "import", "--spec", specFile); code != 2 {
		t.Errorf("missing flags: exit %d, want 2", code)
	}
	delete(ts, "item.mlp.0.bias")
	os.WriteFile(filepath.Join(dir, "bad.safetensors"), importer.EncodeSafetensors(ts), 0o644)
	code, _, errOut := edgerec(t, "import", "--spec", specFile, "--weights", filepath.Join(dir, "bad.safetensors"), "--out", filepath.Join(dir, "bad"))
	if code != 1 || !strings.Contains(errOut, "missing tensor item.mlp.0.bias: expected shape") {
		t.Errorf("mismatch: exit %d\n%s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "bad")); err == nil {
		t.Error("a failed import wrote its model directory")
	}
}
