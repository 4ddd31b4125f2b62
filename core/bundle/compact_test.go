package bundle

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/ann"
	"github.com/edgerec/edgerec/core/quant"
	"github.com/edgerec/edgerec/core/wire"
)

const goldenCompact = "testdata/v3.0-compact.bundle"

// testCompactBundle is testBundle in compact mode: its five items as
// 2-byte codes in two lists, with deterministic codebooks.
func testCompactBundle() *Bundle {
	b := testBundle()
	p := &quant.PQ{Dim: 4, M: 2, Codebooks: make([]float32, quant.PQCentroids*4)}
	for i := range p.Codebooks {
		p.Codebooks[i] = float32(i%17-8) / 64
	}
	ix := &ann.IVFPQ{PQ: p, Centroids: quant.NewInt8(2, 4), Offsets: []uint32{0, 2, 5},
		Codes: []byte{1, 2, 30, 40, 255, 0, 7, 7, 100, 200}, NProbe: 1}
	ix.Centroids.Set(0, []float32{0.5, -0.5, 0.5, -0.5})
	ix.Centroids.Set(1, []float32{-0.1, 0.7, 0.7, 0.1})
	ix.Prepare()
	b.Codes, b.Embeddings = ix, nil
	// The history rows (width 3) as 3-byte codes of one value each.
	hp := &quant.PQ{Dim: 3, M: 3, Codebooks: make([]float32, quant.PQCentroids*3)}
	for i := range hp.Codebooks {
		hp.Codebooks[i] = float32(i%13-6) / 32
	}
	b.History, b.HistoryCodes = nil, &quant.PQRows{PQ: hp, Codes: []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 250, 251, 252}}
	b.Manifest.Quantization = QuantIVFPQ
	return b
}

// TestGoldenCompact holds the encoding of a compact bundle to its golden
// file (go test ./core/bundle -update rewrites it).
func TestGoldenCompact(t *testing.T) {
	got, err := Encode(testCompactBundle())
	require.NoError(t, err)
	checkGolden(t, goldenCompact, got)
}

// TestCompactRoundTrip: the codes survive encoding in a raw section, both
// readers agree, and Vector reads them.
func TestCompactRoundTrip(t *testing.T) {
	want := testCompactBundle()
	data, err := Encode(want)
	require.NoError(t, err)
	h, err := ReadHeader(data)
	require.NoError(t, err)
	var tags []string
	for _, e := range h.Entries {
		tags = append(tags, e.Tag)
		if e.Tag == TagCompact {
			assert.Zero(t, e.Flags&FlagZstd, "IVPQ is used in place, never compressed")
		}
	}
	assert.Contains(t, tags, TagCompact)
	assert.NotContains(t, tags, TagEmbeddings)
	for _, dec := range []func([]byte) (*Bundle, error){Decode, DecodeVerified} {
		b, err := dec(data)
		require.NoError(t, err)
		require.True(t, b.Compact())
		assert.Nil(t, b.Embeddings)
		assert.Equal(t, want.Codes.Codes, b.Codes.Codes)
		assert.Equal(t, want.Codes.Offsets, b.Codes.Offsets)
		got, exp := make([]float32, 4), make([]float32, 4)
		for r := range 5 {
			b.Vector(got, r)
			want.Codes.Decode(exp, r)
			assert.Equal(t, exp, got, "row %d", r)
		}
		assert.Nil(t, b.History)
		assert.Equal(t, want.HistoryCodes.Codes, b.HistoryCodes.Codes)
		assert.Equal(t, want.HistoryCodes.PQ.Codebooks, b.HistoryCodes.PQ.Codebooks)
		assert.Same(t, b.HistoryCodes, b.HistoryRows())
	}
}

// TestCompactRejects: a bundle has one reading of its embeddings, the one
// its quantization names; anything else is a FormatError naming the
// section.
func TestCompactRejects(t *testing.T) {
	compact, err := Encode(testCompactBundle())
	require.NoError(t, err)
	full, err := Encode(testBundle())
	require.NoError(t, err)
	_, cs, err := decodeContainer(compact, nil, true)
	require.NoError(t, err)
	_, fs, err := decodeContainer(full, nil, true)
	require.NoError(t, err)
	section := func(ss []Section, tag string) Section {
		i := slices.IndexFunc(ss, func(s Section) bool { return s.Tag == tag })
		require.GreaterOrEqual(t, i, 0, tag)
		return ss[i]
	}
	manifest := func(q string) Section {
		m := testBundle().Manifest
		m.Quantization = q
		data, err := wire.Marshal(&m)
		require.NoError(t, err)
		return Section{Tag: TagManifest, Data: data}
	}
	swap := func(ss []Section, s Section) []Section {
		out := slices.Clone(ss)
		for i := range out {
			if out[i].Tag == s.Tag {
				out[i] = s
			}
		}
		return out
	}
	without := func(ss []Section, tag string) []Section {
		return slices.DeleteFunc(slices.Clone(ss), func(s Section) bool { return s.Tag == tag })
	}
	bigger := testCompactBundle().Codes
	bigger.Offsets = []uint32{0, 2, 6}
	bigger.Codes = append(slices.Clone(bigger.Codes), 1, 2)
	biggerData, err := bigger.MarshalBinary()
	require.NoError(t, err)
	// Since format 3.0 a full bundle may hold its history rows as codes.
	data, err := encodeContainer(Major, Minor, append(without(fs, TagHistory), section(cs, TagHistoryCodes)), nil)
	require.NoError(t, err)
	b, err := Decode(data)
	require.NoError(t, err)
	assert.True(t, b.History == nil && b.HistoryCodes != nil && b.Embeddings != nil)
	for _, c := range []struct {
		name, section string
		sections      []Section
		v20           bool // a 2.0 header
	}{
		{"ivfpq in a 2.0 bundle", TagManifest, cs, true},
		{"ivfpq without IVPQ", TagCompact, without(cs, TagCompact), false},
		{"ivfpq with EMBD too", TagEmbeddings, append(slices.Clone(cs), section(fs, TagEmbeddings)), false},
		{"int8 with IVPQ too", TagCompact, append(slices.Clone(fs), section(cs, TagCompact)), false},
		{"int8 naming IVPQ's bundle", TagEmbeddings, swap(cs, manifest(QuantInt8)), false},
		{"codes of six rows for five items", TagCompact, swap(cs, Section{Tag: TagCompact, Data: biggerData}), false},
		{"codes cut short", TagCompact, swap(cs, Section{Tag: TagCompact, Data: section(cs, TagCompact).Data[:100]}), false},
		{"an IVF index beside the codes", TagIndex, append(slices.Clone(cs), Section{Tag: TagIndex, Data: encodeIndex(testIndexBundle().Index)}), false},
		{"history codes beside HIST", TagHistoryCodes, append(slices.Clone(cs), section(fs, TagHistory)), false},
		{"history codes beside HIST in a full bundle", TagHistoryCodes, append(slices.Clone(fs), section(cs, TagHistoryCodes)), false},
		{"history codes in a full 2.0 bundle", TagHistoryCodes, append(without(fs, TagHistory), section(cs, TagHistoryCodes)), true},
		{"no history rows", TagHistory, without(cs, TagHistoryCodes), false},
		{"history codes of four rows", TagHistoryCodes, swap(cs, Section{Tag: TagHistoryCodes, Data: shortHistory(t)}), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			major, minor := uint16(Major), uint16(Minor)
			if c.v20 {
				major, minor = 2, 0
			}
			data, err := encodeContainer(major, minor, c.sections, nil)
			require.NoError(t, err)
			for _, dec := range []func([]byte) (*Bundle, error){Decode, DecodeVerified} {
				_, err := dec(data)
				var fe *FormatError
				require.True(t, errors.As(err, &fe), "want a FormatError, got %v", err)
				assert.Equal(t, c.section, fe.Section, "%v", err)
			}
		})
	}
}

// shortHistory is section HIPQ with a row missing.
func shortHistory(t *testing.T) []byte {
	h := *testCompactBundle().HistoryCodes
	h.Codes = h.Codes[:len(h.Codes)-3]
	return encodeHistoryCodes(&h)
}

// fuzzSection fuzzes section tag of the golden bundle at path: the
// fuzzed bytes replace it under valid checksums (the golden's version),
// both readers must return a bundle or an error and never panic, agree on
// what they accept, and an accepted bundle must survive use (use, with
// the bundle each reader returned) and encode → decode.
func fuzzSection(f *testing.F, path, tag string, use func(t *testing.T, b, v *Bundle)) {
	good, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	h, sections, err := decodeContainer(good, nil, true)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range sections {
		if s.Tag == tag {
			f.Add(bytes.Clone(s.Data))
			f.Add(bytes.Clone(s.Data[:len(s.Data)/2]))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ss := slices.Clone(sections)
		for i := range ss {
			if ss[i].Tag == tag {
				ss[i].Data = data
			}
		}
		raw, err := encodeContainer(h.Major, h.Minor, ss, nil)
		if err != nil {
			t.Fatal(err)
		}
		v, verr := DecodeVerified(bytes.Clone(raw))
		b, err := Decode(raw)
		if err != nil {
			return
		}
		if verr != nil {
			t.Fatalf("Decode accepts what DecodeVerified refuses: %v", verr)
		}
		use(t, b, v)
		again, err := Encode(b)
		if err != nil {
			t.Fatalf("decoded bundle does not re-encode: %v", err)
		}
		if _, err := Decode(again); err != nil {
			t.Fatalf("re-encoded bundle does not decode: %v", err)
		}
	})
}

// FuzzDecodeCompact fuzzes the compact golden's IVPQ section: accepted
// codes reconstruct, score and search every row.
func FuzzDecodeCompact(f *testing.F) {
	fuzzSection(f, goldenCompact, TagCompact, func(t *testing.T, b, v *Bundle) {
		x := make([]float32, b.Manifest.Dim)
		q := []float32{1, -1, 0.5, 0.25}
		sc := b.Codes.Scorer(q)
		for r := range b.Manifest.Items {
			b.Vector(x, r)
			v.Vector(x, r)
			sc.Score(r)
		}
		b.Codes.Search(nil, q, 3, 0, nil, nil)
	})
}

// FuzzDecodeHistoryCodes fuzzes the compact golden's HIPQ section:
// accepted codes pool into a query.
func FuzzDecodeHistoryCodes(f *testing.F) {
	fuzzSection(f, goldenCompact, TagHistoryCodes, func(t *testing.T, b, v *Bundle) {
		dst := make([]float32, b.Manifest.HistoryDim)
		for r := range b.Manifest.Items {
			b.HistoryRows().AddRow(dst, r, 0.5)
			v.HistoryRows().AddRow(dst, r, 0.5)
		}
	})
}
