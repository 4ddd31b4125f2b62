package bundle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/feature"
	"github.com/edgerec/edgerec/core/nn"
	"github.com/edgerec/edgerec/core/quant"
	"github.com/edgerec/edgerec/core/rank"
	"github.com/edgerec/edgerec/core/tower"
	"github.com/edgerec/edgerec/core/wire"
)

var update = flag.Bool("update", false, "rewrite the golden bundles in testdata")

// golden is what Encode writes for testBundle: format 3.0.
const golden = "testdata/v3.0.bundle"

// goldenV2 is testBundle as the format-2 writer wrote it, every section
// raw. testdata/v2.0.bundle holds the same bundle as that writer stored
// it before sections were all raw, its msgpack sections compressed; it
// stays, with the other released goldens, for the readers that decompress
// (native ones: the host hands the module such a bundle through
// Uncompressed).
const goldenV2 = "testdata/v2.0-raw.bundle"

// goldenZstd is the newest golden whose sections are partly compressed.
const goldenZstd = "testdata/v2.0.bundle"

// goldenV1 is the newest golden of format 1: testBundle as the format-1
// writer wrote it.
const goldenV1 = "testdata/v1.2.bundle"

// testBundle builds a small, fully deterministic bundle: 5 items, dim 4.
func testBundle() *Bundle {
	b := &Bundle{
		Vocab: Vocab{
			Categories: *feature.NewVocab([]string{"drama", "comedy"}),
			Licensing:  *feature.NewVocab([]string{"eu"}),
		},
		Items: Items{
			IDs:             NewStrings([]string{"a", "b", "c", "d", "e"}),
			Titles:          NewStrings([]string{"Alpha", "Beta", "Gamma", "Delta", "Epsilon"}),
			CategoryOffsets: []uint32{0, 1, 2, 4, 4, 5},
			Categories:      []int32{1, 2, 1, 2, 1},
			Released:        []int64{0, 100, 200, 300, 400},
			Available:       []bool{true, true, false, true, true},
			AgeRating:       []uint8{0, 13, 0, 18, 0},
			RegionOffsets:   []uint32{0, 0, 1, 1, 1, 1},
			Regions:         []int32{1},
			Popularity:      []float32{2.5, 1, 0, 3, 0.5},
			Recent:          []float32{1, 0, 0, 2, 0},
			Known:           []bool{true, true, false, true, true},
		},
		Embeddings: quant.NewInt8(5, 4),
		History:    quant.NewInt8(5, 3),
	}
	val := func(i int) float32 { return float32((i*37)%11-5) / 7 }
	for i := 0; i < 5; i++ {
		b.Embeddings.Set(i, []float32{val(i), val(i + 1), val(i + 2), val(i + 3)})
		b.History.Set(i, []float32{val(2 * i), val(2*i + 1), val(2*i + 5)})
	}
	table := func(rows, dim, seed int) nn.Table {
		t := nn.NewTable(rows, dim)
		for i := range t.Data {
			t.Data[i] = val(i + seed)
		}
		return t
	}
	b.Query = tower.Query{HistoryDim: 3, MaxHistory: 10, Decays: []float32{1}, Seed: true, Fields: []tower.Field{
		{Name: feature.Region, Vocab: *feature.NewVocab([]string{"eu", "us"}), Table: table(3, 2, 1)},
		{Name: feature.Gender, Vocab: *feature.NewVocab([]string{"f", "m"}), Table: table(3, 2, 3)},
	}, Numerics: []tower.Numeric{{Name: feature.Age, Quantiles: feature.Quantiles{Bounds: []float32{18, 30, 60}}}}}
	in := b.Query.InputDim()
	b.Query.MLP = nn.MLP{Layers: []nn.Dense{
		{In: in, Out: 6, W: table(6, in, 5).Data, B: table(1, 6, 6).Data, Act: nn.ReLU},
		{In: 6, Out: 4, W: table(4, 6, 7).Data, B: table(1, 4, 8).Data, Act: nn.Linear},
	}}
	nf := len(rank.Features)
	b.Ranker = &rank.Model{Depth: 3, Features: rank.Features, Mean: table(1, nf, 9).Data, Std: make([]float32, nf),
		MLP: nn.MLP{Layers: []nn.Dense{{In: nf, Out: 1, W: table(1, nf, 10).Data, B: []float32{0.5}}}}}
	for i := range b.Ranker.Std {
		b.Ranker.Std[i] = 1 + float32(i)/10
	}
	b.Pipeline = &Pipeline{
		Covisit: mustPack(testCovisit(), 5),
		Slim:    mustPack(testSlim(), 5),
		Popular: []RegionList{{Region: "", Items: []int32{3, 0, 1}, Scores: []float32{9, 5, 1}}},
		Trending: []RegionList{{Region: "", Items: []int32{4, 3}, Scores: []float32{2, 1}},
			{Region: "eu", Items: []int32{1}, Scores: []float32{1}}},
		FreshDays: 30,
		Rules:     Rules{Exclude: []int32{2}, Pinned: []Pin{{Item: 4, Position: 0}}, Boosted: []Boost{{Item: 1, Amount: 0.5}}},
		Defaults:  DefaultParams(),
		Arms:      []Arm{{Name: "a", Weight: 1, Params: DefaultParams()}, {Name: "b", Weight: 2, Params: DefaultParams()}},
	}
	b.Manifest = Manifest{Format: FormatName, Version: "test-1", Created: 1767225600, Items: 5, Dim: 4,
		HistoryDim: 3, Quantization: "int8", Metric: "dot", Builder: "bundle_test",
		Model: Model{Name: "twotower", TrainedAt: 1767225600, Temperature: 0.05, Data: "handmade"}}
	return b
}

func TestGolden(t *testing.T) {
	got, err := Encode(testBundle())
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, golden, got)
}

// checkGolden holds got to the golden file at path, which -update
// rewrites first: a difference means the format changed, which takes a
// new version and a new golden file (FORMAT.md §7).
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./core/bundle -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the encoding differs from %s (%d vs %d bytes); if the change is intended, bump the format version and add a new golden file", path, len(got), len(want))
	}
}

// goldenPrior is what Encode writes for testBundle with a popularity
// prior: format 3.1.
const goldenPrior = "testdata/v3.1-prior.bundle"

// TestGoldenPrior holds the bundle with a popularity prior to its golden
// file, format 3.1, and to its prior read back; without the prior the
// same bundle is 3.0 (TestGolden).
func TestGoldenPrior(t *testing.T) {
	b := testBundle()
	b.Manifest.Model.PopPrior = 0.05
	got, err := Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, goldenPrior, got)
	h, err := ReadHeader(got)
	if err != nil {
		t.Fatal(err)
	}
	if h.Major != MajorPacked || h.Minor != MinorPrior {
		t.Errorf("a bundle with a prior is format %d.%d, want %d.%d", h.Major, h.Minor, MajorPacked, MinorPrior)
	}
	back, err := Decode(got)
	if err != nil {
		t.Fatal(err)
	}
	if back.Manifest.Model.PopPrior != 0.05 {
		t.Errorf("popularity prior read back as %v", back.Manifest.Model.PopPrior)
	}
	for _, bad := range []float32{-0.1, 1.5, float32(math.NaN())} {
		b.Manifest.Model.PopPrior = bad
		if _, err := Encode(b); err == nil {
			t.Errorf("a prior of %v was written", bad)
		}
	}
}

// TestReleasedGoldensLoad holds every golden bundle of a released format
// version to still decode.
func TestReleasedGoldensLoad(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.bundle")
	if len(files) == 0 {
		t.Fatal("no golden bundles in testdata")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			b, err := Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			if b.Manifest.Items != b.Items.Len() || b.Manifest.Items == 0 {
				t.Errorf("manifest declares %d items, the columns hold %d", b.Manifest.Items, b.Items.Len())
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	want := testBundle()
	data, err := Encode(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Encode(got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, again) {
		t.Error("encode → decode → encode changed the bytes")
	}
	if got.Manifest != want.Manifest {
		t.Errorf("manifest: got %+v, want %+v", got.Manifest, want.Manifest)
	}
	for i := range want.Embeddings.Codes {
		if got.Embeddings.Codes[i] != want.Embeddings.Codes[i] {
			t.Fatalf("embedding code %d differs", i)
		}
	}
	if got.Vocab.Licensing.Index("eu") != 1 || got.Items.RegionsOf(1)[0] != 1 {
		t.Error("licensing vocabulary or regions lost")
	}
}

func mustEncode(t *testing.T, b *Bundle) []byte {
	t.Helper()
	data, err := Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestCorrupt checks that damaged bundles are refused with the right error.
func TestCorrupt(t *testing.T) {
	good := mustEncode(t, testBundle())
	h, err := ReadHeader(good)
	if err != nil {
		t.Fatal(err)
	}
	mod := func(f func(b []byte) []byte) []byte {
		return f(bytes.Clone(good))
	}
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "truncated"},
		{"header only", good[:headerSize], "truncated"},
		{"cut in table", good[:headerSize+entrySize+3], "truncated"},
		{"cut in last section", good[:len(good)-1], "truncated"},
		{"trailing bytes", append(bytes.Clone(good), 0), "follow the last section"},
		{"bad magic", mod(func(b []byte) []byte { b[0] = 'X'; return b }), "not an edgerec bundle"},
		{"table bit flip", mod(func(b []byte) []byte { b[headerSize+9] ^= 1; return b }), "header checksum"},
		{"section bit flip", mod(func(b []byte) []byte { b[h.Entries[2].Offset+3] ^= 0x10; return b }), "checksum mismatch"},
		{"too many sections", mod(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[12:], 1000); return b }), "more than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.data)
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("Decode: %v, want a *FormatError", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
	t.Run("every truncation", func(t *testing.T) {
		for n := 0; n < len(good); n += 1 + n/50 {
			if _, err := Decode(good[:n]); err == nil {
				t.Fatalf("Decode accepted the first %d of %d bytes", n, len(good))
			}
		}
	})
}

func TestUnsupportedVersion(t *testing.T) {
	data := mustEncode(t, testBundle())
	binary.LittleEndian.PutUint16(data[8:], Major+1)
	binary.LittleEndian.PutUint16(data[10:], 0)
	_, err := Decode(data)
	var ue *UnsupportedError
	if !errors.As(err, &ue) || ue.Major != Major+1 {
		t.Fatalf("Decode of major %d: %v, want *UnsupportedError", Major+1, err)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("%d.0", Major+1)) || !strings.Contains(err.Error(), fmt.Sprintf("%d.x to %d.x", OldestMajor, Major)) {
		t.Errorf("error %q should name both versions", err)
	}
}

// TestNewerMinorSkipsUnknownSections: a minor version may add optional
// sections, which this reader skips.
func TestNewerMinorSkipsUnknownSections(t *testing.T) {
	b := testBundle()
	_, sections, err := decodeContainer(mustEncode(t, b), nil, true)
	if err != nil {
		t.Fatal(err)
	}
	sections = append(sections, Section{Tag: "XTRA", Data: []byte("from the future")})
	data, err := encodeContainer(Major, Minor+1, sections, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(data)
	if err != nil {
		t.Fatalf("Decode of minor %d with an extra section: %v", Minor+1, err)
	}
	if got.Manifest.Version != b.Manifest.Version {
		t.Error("manifest lost")
	}
}

func TestSemanticChecks(t *testing.T) {
	cases := []struct {
		name string
		mod  func(b *Bundle)
		want string
	}{
		{"duplicate id", func(b *Bundle) { b.Items.IDs = NewStrings([]string{"a", "a", "c", "d", "e"}) }, "appears twice"},
		{"empty id", func(b *Bundle) { b.Items.IDs = NewStrings([]string{"a", "b", "", "d", "e"}) }, "empty id"},
		{"category out of vocab", func(b *Bundle) { b.Items.Categories[0] = 9 }, "outside the vocabulary"},
		{"offsets decrease", func(b *Bundle) { b.Items.CategoryOffsets[2] = 0 }, "decrease"},
		{"dim mismatch", func(b *Bundle) { b.Manifest.Dim = 5 }, "declares"},
		{"field table size", func(b *Bundle) { b.Query.Fields[0].Vocab.Add("asia") }, "field region"},
		{"popularity column", func(b *Bundle) { b.Items.Popularity = b.Items.Popularity[:2] }, "columns disagree"},
		{"NaN popularity", func(b *Bundle) { b.Items.Popularity[1] = float32(math.NaN()) }, "popularity"},
		{"slim of another catalog", func(b *Bundle) { b.Pipeline.Slim = mustPack(&Neighbours{Offsets: make([]uint32, 4)}, 3) }, "slim lists do not match"},
		{"slim weight negative", func(b *Bundle) { b.Pipeline.Defaults.Weights[api.SourceSlim] = -1 }, "weight of source slim"},
		{"arm without weight", func(b *Bundle) { b.Pipeline.Arms[0].Weight = 0 }, "arm"},
		{"bad lambda", func(b *Bundle) { b.Pipeline.Defaults.MMRLambda = 2 }, "mmr_lambda"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := testBundle()
			tc.mod(b)
			_, err := Encode(b)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Encode: %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

// withSection returns the golden test bundle with one section's bytes
// replaced, under valid checksums.
func withSection(t *testing.T, tag string, data []byte) []byte {
	t.Helper()
	_, sections, err := decodeContainer(mustEncode(t, testBundle()), nil, true)
	if err != nil {
		t.Fatal(err)
	}
	for i := range sections {
		if sections[i].Tag == tag {
			sections[i].Data = data
		}
	}
	out, err := encodeContainer(Major, Minor, sections, func(string) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// withSectionV1 returns the format-1 golden with one section's bytes
// replaced, under valid checksums.
func withSectionV1(t *testing.T, tag string, data []byte) []byte {
	t.Helper()
	golden, err := os.ReadFile(goldenV1)
	require.NoError(t, err)
	h, sections, err := decodeContainer(golden, nil, true)
	require.NoError(t, err)
	for i := range sections {
		if sections[i].Tag == tag {
			sections[i].Data = data
		}
	}
	out, err := encodeContainer(h.Major, h.Minor, sections, func(string) bool { return true })
	require.NoError(t, err)
	return out
}

// TestHostileSizes: inputs crafted to make the reader allocate far more
// than their size are refused early, with little allocation.
func TestHostileSizes(t *testing.T) {
	huge := testBundle().Manifest
	huge.Items = 1 << 62
	hugeManifest, err := wire.Marshal(&huge)
	if err != nil {
		t.Fatal(err)
	}
	// Format 1's ITEM {"ids": [nil × 2M]}: 2 MB that would decode to 32
	// MB of strings.
	nils := append([]byte{0x81, 0xa3, 'i', 'd', 's', 0xdd, 0x00, 0x20, 0x00, 0x00}, bytes.Repeat([]byte{0xc0}, 1<<21)...)
	// IDS declaring a blob of 2 GiB.
	var w rawWriter
	w.u32(5)
	w.u32(1<<31 - 1)
	putArray(&w, []uint32{0, 1, 2, 3, 4, 5})
	hugeBlob := w.finish()
	// A table entry that declares 512 MiB raw for a small zstd section.
	zstdGolden, err := os.ReadFile(goldenZstd)
	require.NoError(t, err)
	declared := withRaw(t, zstdGolden, 1<<29)
	// A table whose sections declare more than MaxDecodedBytes in all,
	// each within the compression ratio: 4 MiB stored (never decompressed:
	// the table is refused first) declaring MaxSectionBytes.
	_, stored, err := ReadStored(mustEncode(t, testBundle()))
	if err != nil {
		t.Fatal(err)
	}
	stored = append(stored, Stored{Entry: Entry{Tag: "XTRA", Flags: FlagZstd, Raw: MaxSectionBytes}, Data: make([]byte, 4<<20)})
	total, err := Relayout(Major, Minor+1, stored)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"items 2^62", withSection(t, TagManifest, hugeManifest), "out of range"},
		{"2M nil ids (format 1)", withSectionV1(t, TagItems, nils), "more than the limit"},
		{"2 GiB of ids", withSection(t, TagIDs, hugeBlob), "overrun"},
		{"512 MiB declared", declared, "compression ratio"},
		{"total over the limit", total, "in all"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := Decode(tc.data)
			runtime.ReadMemStats(&after)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Decode: %v, want an error mentioning %q", err, tc.want)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
				t.Errorf("Decode allocated %d MiB before refusing", alloc>>20)
			}
		})
	}
}

// withRaw sets the declared raw size of data's first compressed section and
// fixes the header checksum.
func withRaw(t *testing.T, data []byte, raw uint64) []byte {
	t.Helper()
	data = bytes.Clone(data)
	h, err := ReadHeader(data)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range h.Entries {
		if e.Flags&FlagZstd != 0 {
			binary.LittleEndian.PutUint64(data[headerSize+i*entrySize+24:], raw)
			break
		}
	}
	binary.LittleEndian.PutUint32(data[20:], headerChecksum(data[:headerSize], data[headerSize:headerSize+len(h.Entries)*entrySize]))
	return data
}

// TestWriterKeepsTheRatio: a section that compresses beyond MaxZstdRatio
// is stored raw, so that the writer never lays out what readers refuse.
func TestWriterKeepsTheRatio(t *testing.T) {
	zeros := make([]byte, 4<<20)
	data, err := encodeContainer(Major, Minor, []Section{{Tag: "ZERO", Data: zeros}, {Tag: "TEXT", Data: bytes.Repeat([]byte("abcd"), 1000)}},
		func(string) bool { return true })
	require.NoError(t, err)
	h, err := ReadHeader(data)
	require.NoError(t, err)
	assert.Zero(t, h.Entries[0].Flags, "4 MiB of zeros compress beyond the ratio limit: stored raw")
	assert.Equal(t, FlagZstd, h.Entries[1].Flags, "a section within the ratio is compressed")
}
