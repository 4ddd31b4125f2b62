package bloom

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden filter and test vectors in testdata")

// Golden files of format version 1: a small filter and, for implementations
// in other languages, the hashes and positions of its ids.
const (
	golden  = "testdata/v1-small.erbf"
	vectors = "testdata/v1-vectors.json"
)

// goldenMembers are added to the golden filter; goldenOthers are not. They
// cover ASCII, multi-byte UTF-8 and a one-byte id.
var (
	goldenMembers = []string{"item-1", "item-2", "tt0111161", "café", "日本語", "a"}
	goldenOthers  = []string{"item-3", "b", "cafe", "tt0111162", "🎬"}
)

// goldenFilter is New(10, 0.01) (m = 128, k = 9) with goldenMembers.
func goldenFilter(tb testing.TB) *Filter {
	tb.Helper()
	f, err := New(10, 0.01)
	if err != nil {
		tb.Fatal(err)
	}
	for _, id := range goldenMembers {
		f.Add(id)
	}
	return f
}

// vectorFile is the layout of testdata/v1-vectors.json.
type vectorFile struct {
	Comment    string   `json:"comment"`
	Expected   int      `json:"expected"`
	FPRate     float64  `json:"fp_rate"`
	M          int      `json:"m"`
	K          int      `json:"k"`
	Members    []vector `json:"members"`
	NonMembers []vector `json:"non_members"`
	FilterHex  string   `json:"filter_hex"`
}

type vector struct {
	ID         string   `json:"id"`
	UTF8Hex    string   `json:"utf8_hex"`
	H          string   `json:"h"` // hex, after fmix64
	H1         uint64   `json:"h1"`
	H2         uint64   `json:"h2"`
	Positions  []uint64 `json:"positions"`
	MayContain bool     `json:"may_contain"`
}

func makeVectors(tb testing.TB) []byte {
	f := goldenFilter(tb)
	b, err := f.MarshalBinary()
	if err != nil {
		tb.Fatal(err)
	}
	vf := vectorFile{
		Comment:  "core/bloom format version 1: New(10, 0.01) with the members added; see core/bloom/doc.go. Regenerate with go test ./core/bloom -update.",
		Expected: 10, FPRate: 0.01, M: f.M(), K: f.K(),
		FilterHex: hex.EncodeToString(b),
	}
	vec := func(id string) vector {
		h1, h2 := hash(id)
		return vector{ID: id, UTF8Hex: hex.EncodeToString([]byte(id)), H: fmt.Sprintf("%016x", sum64(id)),
			H1: h1, H2: h2, Positions: refPositions(id, f.M(), f.K()), MayContain: f.MayContain(id)}
	}
	for _, id := range goldenMembers {
		vf.Members = append(vf.Members, vec(id))
	}
	for _, id := range goldenOthers {
		vf.NonMembers = append(vf.NonMembers, vec(id))
	}
	out, err := json.MarshalIndent(vf, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	return append(out, '\n')
}

func TestGolden(t *testing.T) {
	got, err := goldenFilter(t).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	gotVectors := makeVectors(t)
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(vectors, gotVectors, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range []struct {
		file string
		got  []byte
	}{{golden, got}, {vectors, gotVectors}} {
		want, err := os.ReadFile(g.file)
		if err != nil {
			t.Fatalf("%v (run go test ./core/bloom -update to create it)", err)
		}
		if !bytes.Equal(g.got, want) {
			t.Errorf("%s differs (%d vs %d bytes); the hashing or the format changed: that breaks every filter clients hold. If intended, bump Version and add new golden files", g.file, len(g.got), len(want))
		}
	}
}

// TestReleasedGoldensLoad holds every golden filter in testdata to decode
// and to contain the golden members.
func TestReleasedGoldensLoad(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.erbf")
	if len(files) == 0 {
		t.Fatal("no golden filters in testdata")
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		f, err := Decode(b)
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		for _, id := range goldenMembers {
			if !f.MayContain(id) {
				t.Errorf("%s: member %q not contained", file, id)
			}
		}
	}
}

func TestVectorsHash(t *testing.T) {
	// The h column is the full 64-bit hash; check it against h1 and h2.
	var vf vectorFile
	b, err := os.ReadFile(vectors)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &vf); err != nil {
		t.Fatal(err)
	}
	for _, v := range append(vf.Members, vf.NonMembers...) {
		var h uint64
		if _, err := fmt.Sscanf(v.H, "%x", &h); err != nil {
			t.Fatal(err)
		}
		if h&0xffffffff != v.H1 || h>>32|1 != v.H2 {
			t.Errorf("%q: h = %s does not give h1 = %d, h2 = %d", v.ID, v.H, v.H1, v.H2)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, np := range []struct {
		n int
		p float64
	}{{1, 0.5}, {10, 0.01}, {1000, 0.001}, {437000, 0.01}} {
		f, err := New(np.n, np.p)
		if err != nil {
			t.Fatal(err)
		}
		for i := range min(np.n, 5000) {
			f.Add(fmt.Sprint(i))
		}
		b, err := f.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != Size(f.M()) {
			t.Errorf("n=%d: %d bytes, want Size(m) = %d", np.n, len(b), Size(f.M()))
		}
		g, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if g.M() != f.M() || g.K() != f.K() {
			t.Errorf("n=%d: decoded m, k = %d, %d, want %d, %d", np.n, g.M(), g.K(), f.M(), f.K())
		}
		again, _ := g.MarshalBinary()
		if !bytes.Equal(again, b) {
			t.Errorf("n=%d: decode → encode changed the bytes", np.n)
		}
		// AppendBinary appends after existing bytes.
		pre := []byte("prefix")
		app, err := f.AppendBinary(pre)
		if err != nil || !bytes.Equal(app[:6], pre) || !bytes.Equal(app[6:], b) {
			t.Errorf("n=%d: AppendBinary did not append the serialized filter", np.n)
		}
	}
}

// build serializes a filter with the given header fields and bits and a
// correct checksum, so that each test can break one field at a time.
func build(version, k byte, reserved uint16, m uint32, words int) []byte {
	b := []byte(Magic)
	b = append(b, version, k)
	b = binary.LittleEndian.AppendUint16(b, reserved)
	b = binary.LittleEndian.AppendUint32(b, m)
	for i := range words {
		b = binary.LittleEndian.AppendUint64(b, uint64(i)*0x9e3779b97f4a7c15)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// TestDecodeErrors breaks each check of Decode in turn; each must be
// refused with a *FormatError whose message names the problem.
func TestDecodeErrors(t *testing.T) {
	good := build(1, 7, 0, 128, 2)
	if _, err := Decode(good); err != nil {
		t.Fatalf("the unbroken input is refused: %v", err)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 0x10
		return b
	}
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "0 bytes, shorter than the 12-byte header"},
		{"short header", good[:11], "11 bytes, shorter"},
		{"magic", append([]byte("ERBG"), good[4:]...), `magic "ERBG", want "ERBF"`},
		{"not a filter", []byte("<html><body>hello</body></html>"), "magic"},
		{"version 0", build(0, 7, 0, 128, 2), "format version 0 is not supported"},
		{"version 2", build(2, 7, 0, 128, 2), "format version 2 is not supported (this reader reads version 1)"},
		{"k = 0", build(1, 0, 0, 128, 2), "k = 0 hash functions, want 1 to 30"},
		{"k = 31", build(1, 31, 0, 128, 2), "k = 31"},
		{"k = 255", build(1, 255, 0, 128, 2), "k = 255"},
		{"reserved", build(1, 7, 0x0100, 128, 2), "reserved bytes 0x00 0x01, want zero"},
		{"m = 0", build(1, 7, 0, 0, 0), "m = 0 bits"},
		{"m = 32", build(1, 7, 0, 32, 0), "m = 32 bits"},
		{"m not a multiple of 64", build(1, 7, 0, 130, 2), "m = 130 bits, want a multiple of 64"},
		{"m too large", build(1, 7, 0, MaxBits+64, 0), fmt.Sprintf("m = %d bits", MaxBits+64)},
		{"m = 2³²−64", build(1, 7, 0, 1<<32-64, 0), "m = 4294967232 bits"},
		{"too short for m", build(1, 7, 0, 192, 2), "32 bytes, want exactly 40 for m = 192 bits"},
		{"too long for m", build(1, 7, 0, 64, 2), "32 bytes, want exactly 24 for m = 64 bits"},
		{"trailing byte", append(bytes.Clone(good), 0), "33 bytes, want exactly 32"},
		{"bits damaged", flip(HeaderSize + 3), "checksum"},
		{"checksum damaged", flip(len(good) - 1), "checksum"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Decode(tc.in)
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("Decode = %v, %v; want a *FormatError", f, err)
			}
			if f != nil {
				t.Error("Decode returned a filter with its error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "bloom: malformed filter: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

// TestDecodeDamage: every truncation and every single-bit flip of the golden
// filter is refused (CRC-32C detects every single-bit error).
func TestDecodeDamage(t *testing.T) {
	good, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	var fe *FormatError
	for n := range len(good) {
		if _, err := Decode(good[:n]); !errors.As(err, &fe) {
			t.Fatalf("first %d of %d bytes: %v, want a *FormatError", n, len(good), err)
		}
	}
	for i := range 8 * len(good) {
		b := bytes.Clone(good)
		b[i/8] ^= 1 << (i % 8)
		if _, err := Decode(b); !errors.As(err, &fe) {
			t.Fatalf("bit %d flipped: %v, want a *FormatError", i, err)
		}
	}
}

func TestUnmarshalBinary(t *testing.T) {
	f := goldenFilter(t)
	want, _ := f.MarshalBinary()
	if err := f.UnmarshalBinary([]byte("junk")); err == nil {
		t.Fatal("UnmarshalBinary accepted junk")
	}
	if got, _ := f.MarshalBinary(); !bytes.Equal(got, want) {
		t.Error("a failed UnmarshalBinary changed the filter")
	}
	var g Filter
	if err := g.UnmarshalBinary(want); err != nil {
		t.Fatal(err)
	}
	if got, _ := g.MarshalBinary(); !bytes.Equal(got, want) {
		t.Error("UnmarshalBinary into the zero Filter does not round-trip")
	}
	// Decode copies: changing the input afterwards changes nothing.
	in := bytes.Clone(want)
	h, _ := Decode(in)
	clear(in)
	if got, _ := h.MarshalBinary(); !bytes.Equal(got, want) {
		t.Error("the decoded filter refers to its input")
	}
}

func TestMarshalZero(t *testing.T) {
	var zero Filter
	if _, err := zero.MarshalBinary(); err == nil {
		t.Error("the zero Filter serialized")
	}
}

// TestView: a View of a filter's bytes answers MayContain and
// EstimatedFPRate exactly as the decoded filter does, over filters of
// every fill, and reads the bytes in place.
func TestView(t *testing.T) {
	for _, n := range []int{1, 100, 5000} {
		f, err := New(1000, 0.01)
		require.NoError(t, err)
		for i := range n {
			f.Add(fmt.Sprint("added-", i))
		}
		b, err := f.MarshalBinary()
		require.NoError(t, err)
		v, err := NewView(b)
		require.NoError(t, err)
		assert.Equal(t, f.M(), v.M())
		assert.Equal(t, f.EstimatedFPRate(), v.EstimatedFPRate())
		for i := range 2 * n {
			id := fmt.Sprint("added-", i)
			require.Equal(t, f.MayContain(id), v.MayContain(id), id)
		}
		assert.Same(t, &b[HeaderSize], &v.bits[0], "a view reads the bytes in place")
	}
	_, err := NewView([]byte("ERBF"))
	var fe *FormatError
	assert.ErrorAs(t, err, &fe)
}
