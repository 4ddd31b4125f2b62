package importer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgerec/edgerec/core/feature"
)

// SpecFormat and SpecVersion identify a tower spec.
const (
	SpecFormat  = "edgerec-tower-spec"
	SpecVersion = 1
)

// Limits on a spec, checked before anything is built from it.
const (
	maxVocab  = 1 << 26 // values in one vocabulary (the bundle's item limit)
	maxWidth  = 1 << 14 // an embedding or layer width (nn limits)
	maxBounds = 1 << 16 // quantile bounds of one numeric feature
)

// Spec describes a two-tower model trained elsewhere in terms of what
// core/tower runs, so that its weights can be matched by name and shape.
// README.md ("Importing towers") documents every field with an example;
// the JSON keys are the tags below.
type Spec struct {
	Format  string `json:"format"`  // SpecFormat
	Version int    `json:"version"` // SpecVersion
	// Name names the model (the bundle's model.name).
	Name string `json:"name"`
	// Data names the training data (the bundle's model.data).
	Data string `json:"data,omitempty"`
	// TrainedAt is the training time in Unix seconds (> 0). The bundle's
	// default creation time and version derive from it, so that a rebuild
	// gives the same bytes.
	TrainedAt int64 `json:"trained_at"`
	// Temperature is the softmax temperature used in training (> 0); the
	// bundle records it.
	Temperature float32 `json:"temperature"`
	// PopPrior is the popularity prior the bundle ranks the two-tower
	// source with (0 to 1; omitted, 0: none): edgerec train chooses one on
	// its validation split (tools/train/CONFIG.md, pop_prior).
	PopPrior float32 `json:"pop_prior,omitempty"`
	// Dim is the width of both towers' output embeddings.
	Dim int `json:"dim"`
	// Items lists the item ids the model was trained on: item Items[i] is
	// row i+1 of the id table; row 0 stands for an unknown item.
	Items Vocab `json:"items"`
	// Categories lists the item categories: category i is row i+1 of the
	// category table, row 0 unknown.
	Categories Vocab      `json:"categories"`
	Query      QuerySpec  `json:"query"`
	Item       ItemSpec   `json:"item"`
	Source     SourceInfo `json:"source,omitempty"`
}

// SourceInfo records where the model came from (free text, kept in the
// model directory's manifest).
type SourceInfo struct {
	Framework string `json:"framework,omitempty"` // e.g. "pytorch 2.3"
	Script    string `json:"script,omitempty"`
}

// Vocab is a list of distinct non-empty strings, given inline (Values) or
// as a UTF-8 text file with one value per line (File, relative to the
// spec's directory).
type Vocab struct {
	Values []string `json:"values,omitempty"`
	File   string   `json:"file,omitempty"`
}

// QuerySpec describes the query tower (core/tower.Query). Its input is, in
// order: one pooled vector of the history items' id embeddings per decay,
// the seed item's id embedding (when Seed), one embedding per field, and
// [q, q², √q] per numeric feature; then Cross cross layers, Layers, and L2
// normalization.
type QuerySpec struct {
	// Prefix starts every tensor name of the tower; default "query.".
	Prefix *string `json:"prefix,omitempty"`
	// MaxHistory is how many of the newest history items are pooled (1…4096).
	MaxHistory int `json:"max_history"`
	// Decays gives one pooled history vector per entry, each in (0, 1]: the
	// i-th newest of n items weighs dⁱ, normalized to sum 1 (1 = plain mean).
	Decays []float32 `json:"decays"`
	// Seed adds the id embedding of the seed item (or else the newest
	// history item).
	Seed     bool          `json:"seed"`
	Fields   []FieldSpec   `json:"fields,omitempty"`
	Numerics []NumericSpec `json:"numerics,omitempty"`
	// Cross is the number of DCN-v2 cross layers (0…8).
	Cross  int         `json:"cross,omitempty"`
	Layers []LayerSpec `json:"layers"`
}

// ItemSpec describes the item tower (core/tower.Item). Its input is, in
// order: the item's id embedding, the mean of its category embeddings, the
// mean of its hashed title-token embeddings (when TokenBuckets > 0), and
// [q, q², √q] per numeric feature; then Cross cross layers, Layers, and L2.
type ItemSpec struct {
	// Prefix starts every tensor name of the tower; default "item.".
	Prefix      *string `json:"prefix,omitempty"`
	IDDim       int     `json:"id_dim"`
	CategoryDim int     `json:"category_dim"`
	// TokenBuckets is the number of hash buckets of title tokens
	// (feature.HashTokens: lower-cased runs of letters and digits, 32-bit
	// FNV-1a modulo buckets, plus 1; distinct rows, mean-pooled); 0 turns
	// the text input off.
	TokenBuckets int           `json:"token_buckets,omitempty"`
	TokenDim     int           `json:"token_dim,omitempty"`
	Numerics     []NumericSpec `json:"numerics,omitempty"`
	Cross        int           `json:"cross,omitempty"`
	Layers       []LayerSpec   `json:"layers"`
}

// FieldSpec is a categorical input of the query tower: Name (see
// core/feature: region, device, gender, age_bucket, weekday, hour, or any
// name looked up in the request's context.attrs), its vocabulary (value i
// is row i+1, row 0 unknown) and the embedding width.
type FieldSpec struct {
	Name   string `json:"name"`
	Vocab  Vocab  `json:"vocab"`
	Dim    int    `json:"dim"`
	Tensor string `json:"tensor,omitempty"` // default PREFIX + "fields." + Name + ".weight"
}

// NumericSpec is a numeric input normalized by its quantile bounds (finite,
// strictly increasing): q is the interpolated rank of the value among the
// bounds, and the tower sees [q, q², √q]. Query names: age, history_len
// (ln(1 + pooled history items)); item names: price, age_days (ln(1 + days
// since release at the bundle's creation time)).
type NumericSpec struct {
	Name   string    `json:"name"`
	Bounds []float32 `json:"bounds"`
}

// LayerSpec is a dense layer y = act(W·x + b) with W of shape [out, in]
// (PyTorch nn.Linear's layout); in is the previous layer's out.
type LayerSpec struct {
	Out        int    `json:"out"`
	Activation string `json:"activation"`       // "relu" or "linear"
	Tensor     string `json:"tensor,omitempty"` // default PREFIX + "mlp." + index; ".weight" and ".bias" are appended
}

// DecodeSpec decodes and validates a spec. Unknown keys are errors (a typo
// must not silently drop a feature). Vocabularies given as files are left
// for LoadSpec to read.
func DecodeSpec(data []byte) (*Spec, error) {
	var s Spec
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, &FormatError{Msg: "spec: " + err.Error()}
	}
	if dec.More() {
		return nil, &FormatError{Msg: "spec: trailing data after the JSON object"}
	}
	if err := s.validate(); err != nil {
		return nil, &FormatError{Msg: "spec: " + err.Error()}
	}
	return &s, nil
}

// LoadSpec reads a spec file, reads the vocabulary files it names
// (relative to its directory) and validates it.
func LoadSpec(path string) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := DecodeSpec(data)
	if err != nil {
		if fe, ok := err.(*FormatError); ok {
			fe.File = path
		}
		return nil, err
	}
	dir := filepath.Dir(path)
	vocabs := []*Vocab{&s.Items, &s.Categories}
	for i := range s.Query.Fields {
		vocabs = append(vocabs, &s.Query.Fields[i].Vocab)
	}
	for _, v := range vocabs {
		if v.File == "" {
			continue
		}
		p := v.File
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if v.Values, err = readLines(p); err != nil {
			return nil, fmt.Errorf("spec %s: vocabulary file: %w", path, err)
		}
		v.File = ""
	}
	if err := s.validate(); err != nil {
		return nil, &FormatError{File: path, Msg: "spec: " + err.Error()}
	}
	return s, nil
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if len(out) == maxVocab {
			return nil, fmt.Errorf("%s has more than %d lines", path, maxVocab)
		}
		out = append(out, strings.TrimRight(sc.Text(), "\r"))
	}
	return out, sc.Err()
}

// validate checks everything that does not need the weights. Vocabularies
// still given as files are not checked.
func (s *Spec) validate() error {
	switch {
	case s.Format != SpecFormat:
		return fmt.Errorf("format is %q, want %q", s.Format, SpecFormat)
	case s.Version != SpecVersion:
		return fmt.Errorf("version %d is not supported (this edgerec reads version %d)", s.Version, SpecVersion)
	case s.Name == "":
		return fmt.Errorf("name is empty")
	case s.TrainedAt <= 0:
		return fmt.Errorf("trained_at = %d, want the training time in Unix seconds", s.TrainedAt)
	case !(s.Temperature > 0) || math.IsInf(float64(s.Temperature), 0):
		return fmt.Errorf("temperature = %v, want > 0", s.Temperature)
	case !(s.PopPrior >= 0 && s.PopPrior <= 1):
		return fmt.Errorf("pop_prior = %v, want 0…1", s.PopPrior)
	case s.Dim <= 0 || s.Dim > 4096:
		return fmt.Errorf("dim = %d, want 1…4096", s.Dim)
	}
	if err := s.Items.validate("items"); err != nil {
		return err
	}
	if err := s.Categories.validate("categories"); err != nil {
		return err
	}
	q := &s.Query
	if q.MaxHistory <= 0 || q.MaxHistory > 4096 {
		return fmt.Errorf("query.max_history = %d, want 1…4096", q.MaxHistory)
	}
	if len(q.Decays) > 8 {
		return fmt.Errorf("query.decays has %d entries, at most 8", len(q.Decays))
	}
	for _, d := range q.Decays {
		if !(d > 0 && d <= 1) {
			return fmt.Errorf("query.decays: %v is not in (0, 1]", d)
		}
	}
	if len(q.Fields) > 64 {
		return fmt.Errorf("query.fields has %d entries, at most 64", len(q.Fields))
	}
	names := map[string]bool{}
	for i, f := range q.Fields {
		if f.Name == "" || names[f.Name] {
			return fmt.Errorf("query.fields[%d]: name %q is empty or repeated", i, f.Name)
		}
		names[f.Name] = true
		if err := f.Vocab.validate("query.fields[" + f.Name + "].vocab"); err != nil {
			return err
		}
		if f.Dim <= 0 || f.Dim > maxWidth {
			return fmt.Errorf("query.fields[%s].dim = %d, want 1…%d", f.Name, f.Dim, maxWidth)
		}
	}
	if err := validateNumerics("query", q.Numerics); err != nil {
		return err
	}
	it := &s.Item
	switch {
	case it.IDDim <= 0 || it.IDDim > 4096:
		return fmt.Errorf("item.id_dim = %d, want 1…4096", it.IDDim)
	case it.CategoryDim <= 0 || it.CategoryDim > maxWidth:
		return fmt.Errorf("item.category_dim = %d, want 1…%d", it.CategoryDim, maxWidth)
	case it.TokenBuckets < 0 || it.TokenBuckets > 1<<20:
		return fmt.Errorf("item.token_buckets = %d, want 0…%d", it.TokenBuckets, 1<<20)
	case it.TokenBuckets > 0 && (it.TokenDim <= 0 || it.TokenDim > maxWidth):
		return fmt.Errorf("item.token_dim = %d, want 1…%d with token buckets", it.TokenDim, maxWidth)
	case it.TokenBuckets == 0 && it.TokenDim != 0:
		return fmt.Errorf("item.token_dim = %d without token_buckets", it.TokenDim)
	}
	if err := validateNumerics("item", it.Numerics); err != nil {
		return err
	}
	for _, t := range []struct {
		name   string
		cross  int
		layers []LayerSpec
	}{{"query", q.Cross, q.Layers}, {"item", it.Cross, it.Layers}} {
		if t.cross < 0 || t.cross > 8 {
			return fmt.Errorf("%s.cross = %d, want 0…8", t.name, t.cross)
		}
		if len(t.layers) == 0 || len(t.layers) > 16 {
			return fmt.Errorf("%s.layers has %d layers, want 1…16", t.name, len(t.layers))
		}
		for i, l := range t.layers {
			if l.Out <= 0 || l.Out > maxWidth {
				return fmt.Errorf("%s.layers[%d].out = %d, want 1…%d", t.name, i, l.Out, maxWidth)
			}
			if _, err := activation(l.Activation); err != nil {
				return fmt.Errorf("%s.layers[%d]: %w", t.name, i, err)
			}
		}
		if out := t.layers[len(t.layers)-1].Out; out != s.Dim {
			return fmt.Errorf("%s.layers: the last layer gives %d outputs, dim is %d", t.name, out, s.Dim)
		}
	}
	if in := s.queryInput(); in > maxWidth {
		return fmt.Errorf("query tower input is %d wide, more than %d", in, maxWidth)
	}
	if in := s.itemInput(); in > maxWidth {
		return fmt.Errorf("item tower input is %d wide, more than %d", in, maxWidth)
	}
	if s.Query.Cross > 0 && s.queryInput() > 1<<12 || s.Item.Cross > 0 && s.itemInput() > 1<<12 {
		return fmt.Errorf("cross layers over an input wider than %d", 1<<12)
	}
	// A tower without input would be a constant: refuse it here rather than
	// as a layer of width 0 after the weights were read.
	if s.queryInput() == 0 {
		return fmt.Errorf("the query tower has no input: give it decays, seed, fields or numerics")
	}
	if s.itemInput() == 0 {
		return fmt.Errorf("the item tower has no input: give it an id_dim, a category_dim, tokens or numerics")
	}
	return nil
}

func (v *Vocab) validate(what string) error {
	if v.File != "" {
		if len(v.Values) > 0 {
			return fmt.Errorf("%s: give values or file, not both", what)
		}
		return nil
	}
	if len(v.Values) > maxVocab {
		return fmt.Errorf("%s: %d values, more than %d", what, len(v.Values), maxVocab)
	}
	seen := make(map[string]bool, len(v.Values))
	for i, s := range v.Values {
		if s == "" {
			return fmt.Errorf("%s: value %d is empty (row 0 already stands for unknown)", what, i)
		}
		if seen[s] {
			return fmt.Errorf("%s: value %q appears twice (rows would shift)", what, s)
		}
		seen[s] = true
	}
	return nil
}

func validateNumerics(tower string, ns []NumericSpec) error {
	if len(ns) > 64 {
		return fmt.Errorf("%s.numerics has %d entries, at most 64", tower, len(ns))
	}
	for i, n := range ns {
		if n.Name == "" {
			return fmt.Errorf("%s.numerics[%d] has no name", tower, i)
		}
		if len(n.Bounds) > maxBounds {
			return fmt.Errorf("%s.numerics[%s] has %d bounds, at most %d", tower, n.Name, len(n.Bounds), maxBounds)
		}
		q := feature.Quantiles{Bounds: n.Bounds}
		if !q.Valid() {
			return fmt.Errorf("%s.numerics[%s]: bounds must be finite and strictly increasing", tower, n.Name)
		}
	}
	return nil
}

func activation(s string) (uint8, error) {
	switch s {
	case "linear", "":
		return 0, nil
	case "relu":
		return 1, nil
	}
	return 0, fmt.Errorf("activation %q is not supported (want relu or linear)", s)
}

// queryInput returns the width of the query tower's input.
func (s *Spec) queryInput() int {
	n := s.Item.IDDim * len(s.Query.Decays)
	if s.Query.Seed {
		n += s.Item.IDDim
	}
	for _, f := range s.Query.Fields {
		n += f.Dim
	}
	return n + feature.PowerWidth*len(s.Query.Numerics)
}

// itemInput returns the width of the item tower's input.
func (s *Spec) itemInput() int {
	n := s.Item.IDDim + s.Item.CategoryDim + feature.PowerWidth*len(s.Item.Numerics)
	if s.Item.TokenBuckets > 0 {
		n += s.Item.TokenDim
	}
	return n
}
