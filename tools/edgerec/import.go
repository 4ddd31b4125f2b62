package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/edgerec/edgerec/tools/importer"
	"github.com/edgerec/edgerec/tools/model"
)

func runImport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("import", "import --spec SPEC --weights FILE --out MODELDIR [--ignore-extra]", `
Import two towers trained elsewhere (PyTorch, TensorFlow, JAX) into a model
directory that 'edgerec bundle build --model MODELDIR' takes like one from
'edgerec train'. SPEC is a tower spec (JSON; README.md "Importing towers"
and tools/importer document it) naming the architecture, vocabularies and
quantile bounds; FILE holds the weights as safetensors or NumPy .npz,
matched to the spec by tensor name. Every missing, extra or mis-shaped
tensor is reported with its expected and actual shape, and nothing is
written.`)
	specFile := fs.String("spec", "", "tower spec (JSON)")
	weights := fs.String("weights", "", "weights file: .safetensors or .npz")
	out := fs.String("out", "", "model directory to write (created if missing)")
	ignoreExtra := fs.Bool("ignore-extra", false, "accept tensors the spec does not use (optimizer state, buffers)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "spec", "weights", "out"); err != nil {
		return err
	}
	spec, err := importer.LoadSpec(*specFile)
	if err != nil {
		return err
	}
	ts, err := importer.ReadWeights(*weights)
	if err != nil {
		return err
	}
	sum, err := fileDigest(*weights)
	if err != nil {
		return err
	}
	m, err := importer.Import(spec, ts, importer.Options{IgnoreExtra: *ignoreExtra, Record: map[string]any{
		"imported": map[string]string{
			"spec": filepath.Base(*specFile), "weights": filepath.Base(*weights), "weights_sha256": sum,
			"framework": spec.Source.Framework, "script": spec.Source.Script,
		}}})
	if err != nil {
		return err
	}
	if err := model.Save(*out, m); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: model %q, %d items, %d categories, query tower %d→%d (%d fields, %d numerics), item tower %d→%d, %d tensors\n",
		*out, m.Manifest.Name, len(m.Vocab.Items.Values), len(m.Vocab.Categories.Values),
		m.Query.InputDim(), m.Query.Dim(), len(m.Query.Fields), len(m.Query.Numerics), m.Item.InputDim(), m.Item.Dim(), len(ts))
	return nil
}

func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
