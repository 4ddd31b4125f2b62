package importer

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/edgerec/edgerec/core/feature"
	"github.com/edgerec/edgerec/core/vec"
	"github.com/edgerec/edgerec/core/wire"
)

// testSpec returns a small valid spec exercising every input kind.
func testSpec() *Spec {
	return &Spec{
		Format: SpecFormat, Version: SpecVersion, Name: "t", TrainedAt: 1_700_000_000, Temperature: 0.05, Dim: 4,
		Items:      Vocab{Values: []string{"a", "b", "c"}},
		Categories: Vocab{Values: []string{"x", "y"}},
		Query: QuerySpec{MaxHistory: 5, Decays: []float32{1, 0.5}, Seed: true,
			Fields:   []FieldSpec{{Name: "region", Vocab: Vocab{Values: []string{"eu", "us"}}, Dim: 2}},
			Numerics: []NumericSpec{{Name: "age", Bounds: []float32{10, 30, 60}}},
			Cross:    1,
			Layers:   []LayerSpec{{Out: 6, Activation: "relu"}, {Out: 4, Activation: "linear"}}},
		Item: ItemSpec{IDDim: 3, CategoryDim: 2, TokenBuckets: 7, TokenDim: 2,
			Numerics: []NumericSpec{{Name: "price", Bounds: []float32{1, 2, 5}}},
			Layers:   []LayerSpec{{Out: 4}}},
	}
}

// testTensors returns random tensors with every name and shape s needs.
func testTensors(s *Spec, seed uint64) Tensors {
	r := rand.New(rand.NewPCG(seed, 2))
	ts := Tensors{}
	add := func(name string, shape ...int) {
		n := 1
		for _, d := range shape {
			n *= d
		}
		t := &Tensor{Shape: shape, Data: make([]float32, n)}
		for i := range t.Data {
			t.Data[i] = float32(r.NormFloat64() * 0.3)
		}
		ts[name] = t
	}
	qin, iin := s.queryInput(), s.itemInput()
	add("item.ids.weight", len(s.Items.Values)+1, s.Item.IDDim)
	add("item.categories.weight", len(s.Categories.Values)+1, s.Item.CategoryDim)
	if s.Item.TokenBuckets > 0 { // no buckets, no token table (Import)
		add("item.tokens.weight", s.Item.TokenBuckets+1, s.Item.TokenDim)
	}
	for _, f := range s.Query.Fields {
		add("query.fields."+f.Name+".weight", len(f.Vocab.Values)+1, f.Dim)
	}
	for l := 0; l < s.Query.Cross; l++ {
		add("query.cross."+itoa(l)+".weight", qin, qin)
		add("query.cross."+itoa(l)+".bias", qin)
	}
	in := qin
	for l, ly := range s.Query.Layers {
		add("query.mlp."+itoa(l)+".weight", ly.Out, in)
		add("query.mlp."+itoa(l)+".bias", ly.Out)
		in = ly.Out
	}
	in = iin
	for l, ly := range s.Item.Layers {
		add("item.mlp."+itoa(l)+".weight", ly.Out, in)
		add("item.mlp."+itoa(l)+".bias", ly.Out)
		in = ly.Out
	}
	return ts
}

func itoa(i int) string { return string(rune('0' + i)) }

// TestImportComputes checks that the imported towers compute what the
// tensors say, against reference loops written here from the spec's
// documented semantics.
func TestImportComputes(t *testing.T) {
	s := testSpec()
	ts := testTensors(s, 1)
	m, err := Import(s, ts, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Item "b" (row 2), categories x and y, title "Hello world", price 3.
	cats := []int32{1, 2}
	toks := m.Item.Tokenize("Hello world")
	raw := feature.Item{Price: 3}
	got := m.Item.Embed(m.Item.NewScratch(), m.Item.Prepare(m.Vocab.Items.Index("b"), cats, toks, &raw))

	// Reference: input = id row ‖ mean category rows ‖ mean token rows ‖ powers(q).
	row := func(name string, r, dim int) []float32 { return ts[name].Data[r*dim : (r+1)*dim] }
	var x []float32
	x = append(x, row("item.ids.weight", 2, 3)...)
	c := make([]float32, 2)
	for _, ci := range cats {
		vec.Axpy(c, 0.5, row("item.categories.weight", int(ci), 2))
	}
	x = append(x, c...)
	tk := make([]float32, 2)
	for _, ti := range toks {
		vec.Axpy(tk, 1/float32(len(toks)), row("item.tokens.weight", int(ti), 2))
	}
	x = append(x, tk...)
	q := float32(0.5 + 0.5/3) // price 3 between bounds 2 and 5: (1 + 1/3)/2
	x = append(x, q, q*q, float32(math.Sqrt(float64(q))))
	w, b := ts["item.mlp.0.weight"].Data, ts["item.mlp.0.bias"].Data
	want := make([]float32, 4)
	for o := range want {
		want[o] = b[o]
		for i := range x {
			want[o] += w[o*len(x)+i] * x[i]
		}
	}
	vec.L2Normalize(want)
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-6 {
			t.Fatalf("item embedding %v, reference %v", got, want)
		}
	}
	if m.Query.InputDim() != s.queryInput() || m.Query.Dim() != 4 || len(m.Query.Cross) != 1 || m.Query.MLP.Layers[0].Act != 1 {
		t.Errorf("query tower shape: in %d, out %d, cross %d", m.Query.InputDim(), m.Query.Dim(), len(m.Query.Cross))
	}
	if m.Manifest.TrainedAt != s.TrainedAt || m.Manifest.Items != 3 || m.Vocab.Items.Index("c") != 3 {
		t.Errorf("manifest %+v", m.Manifest)
	}
}

func TestMismatch(t *testing.T) {
	s := testSpec()
	ts := testTensors(s, 1)
	delete(ts, "item.mlp.0.bias")
	ts["query.mlp.0.weight"] = &Tensor{Shape: []int{6, 5}, Data: make([]float32, 30)}
	ts["optimizer.step"] = &Tensor{Shape: []int{1}, Data: []float32{3}}
	_, err := Import(s, ts, Options{})
	var me *MismatchError
	if !errors.As(err, &me) {
		t.Fatalf("error %v, want a *MismatchError", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"missing tensor item.mlp.0.bias: expected shape [4]",
		// input: 2 history pools and the seed of 3, region 2, age 3 = 14
		"tensor query.mlp.0.weight: expected shape [6, 14], got [6, 5]",
		"extra tensor optimizer.step (shape [1])",
		"--ignore-extra",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if len(me.Problems) != 3 {
		t.Errorf("%d problems, want 3", len(me.Problems))
	}
	// Extra tensors alone are accepted with IgnoreExtra.
	ts = testTensors(s, 1)
	ts["optimizer.step"] = &Tensor{Shape: []int{1}, Data: []float32{3}}
	if _, err := Import(s, ts, Options{}); err == nil {
		t.Error("extra tensor accepted without IgnoreExtra")
	}
	if _, err := Import(s, ts, Options{IgnoreExtra: true}); err != nil {
		t.Errorf("IgnoreExtra: %v", err)
	}
}

func TestSpecErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*Spec)
		want   string
	}{
		{"format", func(s *Spec) { s.Format = "x" }, "format"},
		{"version", func(s *Spec) { s.Version = 2 }, "version 2"},
		{"trained_at", func(s *Spec) { s.TrainedAt = 0 }, "trained_at"},
		{"temperature", func(s *Spec) { s.Temperature = 0 }, "temperature"},
		{"pop_prior", func(s *Spec) { s.PopPrior = 1.5 }, "pop_prior"},
		{"duplicate item", func(s *Spec) { s.Items.Values = []string{"a", "a"} }, "appears twice"},
		{"empty item", func(s *Spec) { s.Items.Values = []string{""} }, "empty"},
		{"decay", func(s *Spec) { s.Query.Decays = []float32{1.5} }, "(0, 1]"},
		{"bounds", func(s *Spec) { s.Item.Numerics[0].Bounds = []float32{3, 1} }, "strictly increasing"},
		{"activation", func(s *Spec) { s.Item.Layers[0].Activation = "gelu" }, "gelu"},
		{"last layer", func(s *Spec) { s.Item.Layers[0].Out = 5 }, "last layer gives 5"},
		{"no layers", func(s *Spec) { s.Query.Layers = nil }, "query.layers has 0"},
		{"field dim", func(s *Spec) { s.Query.Fields[0].Dim = 0 }, "dim = 0"},
		{"token dim", func(s *Spec) { s.Item.TokenDim = 0 }, "token_dim"},
		{"repeated field", func(s *Spec) { s.Query.Fields = append(s.Query.Fields, s.Query.Fields[0]) }, "repeated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testSpec()
			tc.mutate(s)
			err := s.validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := DecodeSpec([]byte(`{"format": "edgerec-tower-spec", "versoin": 1}`)); err == nil || !strings.Contains(err.Error(), "versoin") {
		t.Errorf("unknown key: %v", err)
	}
}

func TestLoadSpecVocabFile(t *testing.T) {
	dir := t.TempDir()
	s := testSpec()
	s.Items = Vocab{File: "items.txt"}
	b, err := jsonMarshal(s)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "spec.json"), b, 0o644)
	os.WriteFile(filepath.Join(dir, "items.txt"), []byte("a\nb\nc\n"), 0o644)
	got, err := LoadSpec(filepath.Join(dir, "spec.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.Items.Values, ",") != "a,b,c" {
		t.Errorf("items %v", got.Items.Values)
	}
	if _, err := Import(got, testTensors(testSpec(), 1), Options{}); err != nil {
		t.Error(err)
	}
	os.Remove(filepath.Join(dir, "items.txt"))
	if _, err := LoadSpec(filepath.Join(dir, "spec.json")); err == nil || !strings.Contains(err.Error(), "items.txt") {
		t.Errorf("missing vocabulary file: %v", err)
	}
}

// TestWeightFormats: the same tensors through safetensors and .npz import
// to identical towers; f64 and f16 arrays convert exactly; Fortran order
// is transposed.
func TestWeightFormats(t *testing.T) {
	s := testSpec()
	ts := testTensors(s, 3)
	var towers [][]byte
	for _, enc := range [][]byte{EncodeSafetensors(ts), EncodeNPZ(ts)} {
		got, err := DecodeWeights(enc)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Import(s, got, Options{})
		if err != nil {
			t.Fatal(err)
		}
		q, _ := wire.Marshal(&m.Query)
		i, _ := wire.Marshal(&m.Item)
		towers = append(towers, append(q, i...))
	}
	if !bytes.Equal(towers[0], towers[1]) {
		t.Error("safetensors and npz give different towers")
	}

	// A hand-written f8, Fortran-ordered 2×3 array [[1,2,3],[4,5,6]].
	hdr := "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }"
	npy := append([]byte("\x93NUMPY\x01\x00"), byte(len(hdr)), 0)
	npy = append(npy, hdr...)
	for _, v := range []float64{1, 4, 2, 5, 3, 6} {
		npy = appendF64(npy, v)
	}
	tn, err := DecodeNPY(npy)
	if err != nil {
		t.Fatal(err)
	}
	if shapeString(tn.Shape) != "[2, 3]" || !slices.Equal(tn.Data, []float32{1, 2, 3, 4, 5, 6}) {
		t.Errorf("fortran f8: %v %v", tn.Shape, tn.Data)
	}
	for h, want := range map[uint16]float32{0x3c00: 1, 0xc000: -2, 0x3555: 0.33325195, 0x0001: 5.9604645e-08, 0x7bff: 65504} {
		if got := halfToFloat(h); got != want {
			t.Errorf("halfToFloat(%#x) = %v, want %v", h, got, want)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	good := EncodeSafetensors(Tensors{"w": {Shape: []int{2}, Data: []float32{1, 2}}})
	for name, tc := range map[string]struct {
		data []byte
		want string
	}{
		"empty":           {nil, "neither safetensors"},
		"short":           {good[:5], "neither"},
		"truncated data":  {good[:len(good)-1], "outside the"},
		"header too long": {append([]byte{0xff, 0xff, 0xff, 0, 0, 0, 0, 0}, good[8:]...), "header length"},
		"bad dtype":       {stWith(`{"w":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}`, 8), "dtype \"I64\""},
		"size mismatch":   {stWith(`{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, 8), "want 12"},
		"overlap":         {stWith(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 8), "overlap"},
		"nan":             {stWithData(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, []byte{0, 0, 0xc0, 0x7f}), "finite"},
		"huge shape":      {stWith(`{"w":{"dtype":"F32","shape":[100000,100000],"data_offsets":[0,8]}}`, 8), "elements"},
		"npz garbage":     {[]byte("PK\x03\x04garbage"), "zip"},
	} {
		_, err := DecodeWeights(tc.data)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", name, err, tc.want)
		}
	}
}

func stWith(header string, dataBytes int) []byte { return stWithData(header, make([]byte, dataBytes)) }

func stWithData(header string, data []byte) []byte {
	b := []byte{byte(len(header)), byte(len(header) >> 8), 0, 0, 0, 0, 0, 0}
	return append(append(b, header...), data...)
}

func appendF64(b []byte, v float64) []byte {
	u := math.Float64bits(v)
	for i := 0; i < 8; i++ {
		b = append(b, byte(u>>(8*i)))
	}
	return b
}
