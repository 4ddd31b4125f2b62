package bundle

import (
	"bytes"
	"os"
	"slices"
	"testing"
)

// FuzzDecodeBundle feeds arbitrary bytes to Decode: it must return a bundle
// or an error, never panic, and a bundle it accepts must re-encode to bytes
// that decode again.
func FuzzDecodeBundle(f *testing.F) {
	good, err := os.ReadFile(golden)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(good[:headerSize])
	f.Add([]byte(Magic))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Decode(bytes.Clone(data))
		if err != nil {
			return
		}
		again, err := Encode(b)
		if err != nil {
			t.Fatalf("decoded bundle does not re-encode: %v", err)
		}
		if _, err := Decode(again); err != nil {
			t.Fatalf("re-encoded bundle does not decode: %v", err)
		}
	})
}

// FuzzDecodeVerified feeds arbitrary bytes to DecodeVerified, which
// skips the checksums and the content checks: it must return a bundle or
// an error and never panic, and whatever Decode accepts it accepts, to the
// same content.
func FuzzDecodeVerified(f *testing.F) {
	for _, name := range []string{golden, goldenV1, goldenIndex, goldenCompact} {
		good, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(good)
		f.Add(good[:len(good)/2])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := DecodeVerified(bytes.Clone(data))
		full, ferr := Decode(bytes.Clone(data))
		if ferr != nil {
			return
		}
		if err != nil {
			t.Fatalf("Decode accepts what DecodeVerified refuses: %v", err)
		}
		a, err1 := Encode(v)
		b, err2 := Encode(full)
		if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
			t.Fatalf("the two readers disagree (%v, %v)", err1, err2)
		}
	})
}

// FuzzDecodeSection replaces one section of the golden bundle with fuzzed
// bytes under valid checksums, so that the fuzzer reaches the section
// decoders and the semantic checks behind the CRCs.
func FuzzDecodeSection(f *testing.F) {
	// The goldens of both formats: format 2's raw sections and format 1's
	// msgpack catalog.
	type file struct {
		h        *Header
		sections []Section
	}
	var files []file
	for _, name := range []string{golden, goldenV1} {
		good, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		h, sections, err := decodeContainer(good, nil, true)
		if err != nil {
			f.Fatal(err)
		}
		for i, s := range sections {
			f.Add(uint8(len(files)), uint8(i), bytes.Clone(s.Data))
			f.Add(uint8(len(files)), uint8(i), bytes.Clone(s.Data[:len(s.Data)/2]))
		}
		files = append(files, file{h, sections})
	}
	f.Fuzz(func(t *testing.T, which, section uint8, data []byte) {
		fl := files[int(which)%len(files)]
		ss := slices.Clone(fl.sections)
		i := int(section) % len(ss)
		ss[i] = Section{Tag: ss[i].Tag, Data: data}
		enc, err := encodeContainer(fl.h.Major, fl.h.Minor, ss, nil)
		if err != nil {
			return
		}
		b, err := Decode(enc)
		if err != nil {
			return
		}
		if _, err := Encode(b); err != nil {
			t.Fatalf("decoded bundle does not re-encode: %v", err)
		}
	})
}
