package bundle

import (
	"bytes"
	"encoding/binary"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/edgerec/edgerec/core/wire"
)

// goldenLean is what Encode writes for leanBundle: format 4.0, which
// leaves out the implied category and region offsets and the titles.
const goldenLean = "testdata/v4.0-lean.bundle"

// leanBundle is testBundle with one category per item, no region
// licensing and no titles: every part that format 4 can leave out.
func leanBundle() *Bundle {
	b := testBundle()
	it := &b.Items
	n := it.Len()
	it.Categories = it.Categories[:0:0]
	it.CategoryOffsets = []uint32{0}
	for i := range n {
		it.Categories = append(it.Categories, int32(i%b.Vocab.Categories.Size()))
		it.CategoryOffsets = append(it.CategoryOffsets, uint32(i+1))
	}
	it.Regions, it.RegionOffsets = nil, make([]uint32, n+1)
	it.Titles = NewStrings(make([]string, n))
	return b
}

// TestGoldenLean holds the lean bundle to its golden file, format 4.0,
// and reads back what it left out: each item's category, no regions, no
// titles; it re-encodes byte for byte. testBundle, whose lists and
// titles are explicit, stays 3.0 (TestGolden).
func TestGoldenLean(t *testing.T) {
	want := leanBundle()
	data := mustEncode(t, want)
	checkGolden(t, goldenLean, data)
	h, err := ReadHeader(data)
	if err != nil {
		t.Fatal(err)
	}
	if h.Major != MajorLean || h.Minor != Minor {
		t.Errorf("a lean bundle is format %d.%d, want %d.%d", h.Major, h.Minor, MajorLean, Minor)
	}
	got, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	it := &got.Items
	if it.CategoryOffsets != nil || it.RegionOffsets != nil || it.Titles.Len() != 0 {
		t.Errorf("offsets or titles stored: %d category, %d region offsets, %d titles", len(it.CategoryOffsets), len(it.RegionOffsets), it.Titles.Len())
	}
	for i := range it.Len() {
		if !slices.Equal(it.CategoriesOf(i), want.Items.CategoriesOf(i)) || len(it.RegionsOf(i)) != 0 || it.Title(i) != "" {
			t.Errorf("item %d: categories %v (want %v), regions %v, title %q", i, it.CategoriesOf(i), want.Items.CategoriesOf(i), it.RegionsOf(i), it.Title(i))
		}
	}
	if again := mustEncode(t, got); !bytes.Equal(again, data) {
		t.Error("decode → encode changed the bytes")
	}
	full := mustEncode(t, testBundle())
	cols := func(b []byte) int {
		h, err := ReadHeader(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range h.Entries {
			if e.Tag == TagColumns {
				return int(e.Raw)
			}
		}
		t.Fatal("no ICOL")
		return 0
	}
	// 5 items: two offset arrays of 6 uint32, less the extra category
	// entries and the single region of testBundle, to the 8-byte padding.
	if cols(data) >= cols(full) {
		t.Errorf("ICOL %d bytes lean, %d with its offsets", cols(data), cols(full))
	}
}

// TestLeanRefusals: what only format 4 may leave out is refused in a
// format-3 bundle, and an implied list must have none or one value per
// item, by both readers.
func TestLeanRefusals(t *testing.T) {
	lean := mustEncode(t, leanBundle())
	h, sections, err := decodeContainer(lean, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	relayout := func(major, minor uint16, f func(tag string, data []byte) []byte) []byte {
		ss := slices.Clone(sections)
		for i := range ss {
			ss[i].Data = f(ss[i].Tag, bytes.Clone(ss[i].Data))
		}
		out, err := encodeContainer(major, minor, ss, nil)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	same := func(_ string, d []byte) []byte { return d }
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"lean as 3.1", relayout(MajorPacked, MinorPrior, same), "0 strings for 5 items"},
		{"lean columns as 3.1", relayout(MajorPacked, MinorPrior, func(tag string, d []byte) []byte {
			if tag == TagTitles {
				return encodeStrings(NewStrings([]string{"a", "b", "c", "d", "e"}))
			}
			return d
		}), "flags 0x3"},
		{"unknown flag", relayout(h.Major, h.Minor, func(tag string, d []byte) []byte {
			if tag == TagColumns {
				binary.LittleEndian.PutUint32(d[12:], 1<<5|impliedCategories|impliedRegions)
			}
			return d
		}), "flags"},
		{"implied categories, two values", relayout(h.Major, h.Minor, func(tag string, d []byte) []byte {
			if tag == TagColumns {
				binary.LittleEndian.PutUint32(d[4:], 2) // C = 2 for 5 items
			}
			return d
		}), "2 categories for 5 items without offsets"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Decode: %v, want an error naming %q", err, tc.want)
			}
			_, err = DecodeVerified(tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("DecodeVerified: %v, want an error naming %q", err, tc.want)
			}
		})
	}
	// Titles without strings are refused before format 4.
	full := mustEncode(t, testBundle())
	h2, sec2, err := decodeContainer(full, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	for i := range sec2 {
		if sec2[i].Tag == TagTitles {
			sec2[i].Data = encodeStrings(Strings{})
		}
	}
	for _, minor := range []uint16{Minor, MinorPrior} {
		data, err := encodeContainer(h2.Major, minor, sec2, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(data); err == nil || !strings.Contains(err.Error(), "0 strings for 5 items") {
			t.Errorf("3.%d without titles: %v", minor, err)
		}
	}
}

// FuzzDecodeLeanColumns and FuzzDecodeLeanTitles fuzz the lean golden's
// ICOL and TITL sections: what Decode accepts reads every item's lists
// and title, and re-encodes.
func FuzzDecodeLeanColumns(f *testing.F) { fuzzSection(f, goldenLean, TagColumns, readLean) }

func FuzzDecodeLeanTitles(f *testing.F) { fuzzSection(f, goldenLean, TagTitles, readLean) }

func readLean(t *testing.T, b, v *Bundle) {
	for i := range b.Manifest.Items {
		if !slices.Equal(b.Items.CategoriesOf(i), v.Items.CategoriesOf(i)) || !slices.Equal(b.Items.RegionsOf(i), v.Items.RegionsOf(i)) ||
			b.Items.Title(i) != v.Items.Title(i) {
			t.Fatalf("item %d: the two readers disagree", i)
		}
	}
}

// TestV1RefusesMissingOffsets: format 1 stores every offset; a 1.x
// catalog without them is refused, not read as format 4's implied lists.
func TestV1RefusesMissingOffsets(t *testing.T) {
	good, err := os.ReadFile(goldenV1)
	if err != nil {
		t.Fatal(err)
	}
	h, sections, err := decodeContainer(good, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, drop := range []string{"categories", "regions"} {
		ss := slices.Clone(sections)
		for i := range ss {
			if ss[i].Tag != TagItems {
				continue
			}
			var v itemsV1
			if err := wire.Unmarshal(ss[i].Data, &v); err != nil {
				t.Fatal(err)
			}
			if drop == "categories" {
				v.CategoryOffsets = nil
				v.Categories = v.Categories[:len(v.IDs)] // one an item: what format 4 would imply
			} else {
				v.RegionOffsets, v.Regions = nil, nil
			}
			if ss[i].Data, err = wire.Marshal(&v); err != nil {
				t.Fatal(err)
			}
		}
		data, err := encodeContainer(h.Major, h.Minor, ss, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(data); err == nil || !strings.Contains(err.Error(), "offsets missing") {
			t.Errorf("a 1.x catalog without %s offsets: %v", drop, err)
		}
	}
}

// TestEncodeMaxFormat3: a lean bundle written for format-3 modules stores
// every column, and reads back as the same catalog; decoded and written
// again by Encode it is lean again.
func TestEncodeMaxFormat3(t *testing.T) {
	lean, err := Decode(mustEncode(t, leanBundle()))
	if err != nil {
		t.Fatal(err)
	}
	data, err := EncodeMax(lean, MajorPacked)
	if err != nil {
		t.Fatal(err)
	}
	h, err := ReadHeader(data)
	if err != nil {
		t.Fatal(err)
	}
	if h.Major != MajorPacked {
		t.Fatalf("format %d.%d, want %d.x", h.Major, h.Minor, MajorPacked)
	}
	got, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	it := &got.Items
	if it.CategoryOffsets == nil || it.RegionOffsets == nil || it.Titles.Len() != it.Len() {
		t.Fatal("format 3 left columns out")
	}
	for i := range it.Len() {
		if !slices.Equal(it.CategoriesOf(i), lean.Items.CategoriesOf(i)) || len(it.RegionsOf(i)) != 0 || it.Title(i) != "" {
			t.Errorf("item %d differs", i)
		}
	}
	if again := mustEncode(t, got); !bytes.Equal(again, mustEncode(t, leanBundle())) {
		t.Error("Encode of the format-3 copy is not the lean golden's bytes")
	}
	if _, err := EncodeMax(lean, 2); err == nil {
		t.Error("EncodeMax wrote format 2")
	}
}
