package bundle

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"slices"
	"sort"
)

// Container layout constants; bundles/FORMAT.md §2–§3.
const (
	// Magic opens every bundle (FORMAT.md §2).
	Magic = "EDGRBNDL"
	// Major is the newest format version a reader reads (FORMAT.md §7):
	// majors OldestMajor to Major, any minor of them, skipping sections
	// it does not know. Encode writes MajorLean.Minor when it leaves
	// implied catalog columns out, else MajorPacked.Minor, or
	// MajorPacked.MinorPrior with a popularity prior.
	Major = MajorLean
	Minor = 0
	// MajorPacked is format 3, whose neighbour lists are packed (§8.5).
	MajorPacked = 3
	// MajorLean is format 4, which leaves out what a catalog's values
	// imply (§8.1, §8.2): a 3.x reader refuses it by its version, where
	// it would misread its ICOL and TITL sections.
	MajorLean = 4
	// OldestMajor is the oldest major version a reader reads: format 1,
	// whose catalog it decodes (v1.go).
	OldestMajor = 1
	// MinorSignedV1 is the minor of format 1 that introduced the signature
	// section: host/sign writes it, or the bundle's own minor when
	// higher, into every format-1 bundle it signs. Format 2 has SIGN from
	// its first minor.
	MinorSignedV1 = 1
	// MinorCompact is the minor of format 2 that introduced compact
	// bundles (compact.go); every reader of format 3 reads them.
	MinorCompact = 1
	// MinorPrior is the minor of format 3 that introduced the manifest's
	// model.pop_prior: Encode writes it for a bundle with a prior, and
	// Minor, byte for byte as before, for one without. A 3.0 reader
	// skips the key and orders the two-tower source by score alone, as
	// for a bundle without a prior.
	MinorPrior = 1

	headerSize = 32 // FORMAT.md §2
	entrySize  = 40 // FORMAT.md §3
	align      = 8  // sections start at multiples of 8 (FORMAT.md §4)

	// MaxSections bounds the section table (FORMAT.md §3).
	MaxSections = 64
	// MaxSectionBytes bounds one section's decoded size (FORMAT.md §3).
	MaxSectionBytes = 1 << 30
	// maxWindow bounds the zstd window a reader accepts (FORMAT.md §3).
	maxWindow = 8 << 20
	// MaxBundleBytes bounds a whole bundle's encoded size.
	MaxBundleBytes = 1<<31 - 1
	// MaxDecodedBytes bounds the sum of all sections' decoded sizes
	// (FORMAT.md §3): a reader refuses a table declaring more before it
	// decompresses anything.
	MaxDecodedBytes = 1 << 30
	// MaxZstdRatio bounds a compressed section's raw length to this many
	// times its stored length, plus ZstdRatioSlack (FORMAT.md §3): what a
	// small file can make a reader allocate stays proportional to its
	// size. The writer stores a section raw rather than exceed it.
	MaxZstdRatio = 256
	// ZstdRatioSlack is the raw length any compressed section may have,
	// whatever its stored length (FORMAT.md §3).
	ZstdRatioSlack = 1 << 20
)

// maxRawFor returns the largest raw length a compressed section of stored
// bytes may declare (MaxZstdRatio).
func maxRawFor(stored uint64) uint64 {
	return min(MaxZstdRatio*min(stored, MaxBundleBytes)+ZstdRatioSlack, MaxSectionBytes)
}

// Section flags (FORMAT.md §3).
const (
	FlagZstd uint32 = 1 << 0 // stored bytes are one zstd frame
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Section is one decoded section: its four-letter tag and its bytes after
// decompression.
type Section struct {
	Tag  string
	Data []byte
}

// Tag names one section kind (FORMAT.md §5).
const (
	TagManifest   = "MANI"
	TagVocab      = "VOCB"
	TagItems      = "ITEM"
	TagEmbeddings = "EMBD"
	TagHistory    = "HIST"
	TagQuery      = "QTWR"
	TagRanker     = "RANK" // optional
	// TagSignature names the optional signature section (FORMAT.md §5.9),
	// which must be the last entry of the table. This package only lays it
	// out; host/sign computes and checks it.
	TagSignature = "SIGN"
)

// encodeContainer writes sections (in the given order) into a bundle. A
// section is zstd-compressed when compress(tag) says so and compression
// makes it smaller. The output depends only on the inputs.
func encodeContainer(major, minor uint16, sections []Section, compress func(tag string) bool) ([]byte, error) {
	if len(sections) > MaxSections {
		return nil, fmt.Errorf("bundle: %d sections, more than %d", len(sections), MaxSections)
	}
	var enc *compressor
	defer enc.close()

	type stored struct {
		flags uint32
		data  []byte
	}
	st := make([]stored, len(sections))
	seen := map[string]bool{}
	for i, s := range sections {
		if len(s.Tag) != 4 {
			return nil, fmt.Errorf("bundle: section tag %q is not 4 bytes", s.Tag)
		}
		if seen[s.Tag] {
			return nil, fmt.Errorf("bundle: duplicate section %s", s.Tag)
		}
		seen[s.Tag] = true
		if len(s.Data) > MaxSectionBytes {
			return nil, fmt.Errorf("bundle: section %s is %d bytes, more than %d", s.Tag, len(s.Data), MaxSectionBytes)
		}
		st[i] = stored{data: s.Data}
		if compress != nil && compress(s.Tag) {
			if enc == nil {
				c, err := newCompressor()
				if err != nil {
					return nil, err
				}
				enc = c
			}
			if z := enc.compress(s.Data); len(z) < len(s.Data) && uint64(len(s.Data)) <= maxRawFor(uint64(len(z))) {
				st[i] = stored{flags: FlagZstd, data: z}
			}
		}
	}

	out := make([]Stored, len(sections))
	for i, s := range sections {
		out[i] = Stored{Entry: Entry{Tag: s.Tag, Flags: st[i].flags, Raw: uint64(len(s.Data))}, Data: st[i].data}
	}
	return layout(major, minor, out)
}

// Stored is one section as a bundle stores it: its table entry and its
// stored bytes (one zstd frame when Flags has FlagZstd).
type Stored struct {
	Entry
	Data []byte
}

// ReadStored validates the header and section table of b (ReadHeader) and
// the checksum of every section's stored bytes, and returns the sections in
// table order without decompressing them. Data aliases b.
func ReadStored(b []byte) (*Header, []Stored, error) {
	h, out, err := ReadStoredChecked(b)
	if err != nil {
		return nil, nil, err
	}
	for _, s := range out {
		if got := crc32.Checksum(s.Data, castagnoli); got != s.Checksum {
			return nil, nil, formatErr(s.Tag, "checksum mismatch (stored %08x, computed %08x)", s.Checksum, got)
		}
	}
	return h, out, nil
}

// ReadStoredChecked is ReadStored for bytes that ReadStored or Decode
// accepted in this process: it checks the header and the table but not
// the sections' checksums again, a pass over every byte (host/server
// checks a bundle once and then reads its signature this way).
func ReadStoredChecked(b []byte) (*Header, []Stored, error) {
	h, err := ReadHeader(b)
	if err != nil {
		return nil, nil, err
	}
	out := make([]Stored, len(h.Entries))
	for i, e := range h.Entries {
		out[i] = Stored{Entry: e, Data: b[e.Offset : e.Offset+e.Stored]}
	}
	return h, out, nil
}

// Relayout writes a bundle of format version major.minor holding sections
// in the given order with their tags, flags, raw lengths and stored bytes
// unchanged; offsets, padding, checksums and the header checksum are
// recomputed (FORMAT.md §2–§4). The Offset, Stored and Checksum fields of
// the entries are ignored. It is how a signature section is appended
// without touching the other sections' bytes.
func Relayout(major, minor uint16, sections []Stored) ([]byte, error) {
	if len(sections) > MaxSections {
		return nil, fmt.Errorf("bundle: %d sections, more than %d", len(sections), MaxSections)
	}
	seen := map[string]bool{}
	for _, s := range sections {
		switch {
		case len(s.Tag) != 4:
			return nil, fmt.Errorf("bundle: section tag %q is not 4 bytes", s.Tag)
		case seen[s.Tag]:
			return nil, fmt.Errorf("bundle: duplicate section %s", s.Tag)
		case s.Flags&^FlagZstd != 0:
			return nil, fmt.Errorf("bundle: section %s has unknown flags %#x", s.Tag, s.Flags)
		case s.Raw > MaxSectionBytes:
			return nil, fmt.Errorf("bundle: section %s declares %d bytes, more than %d", s.Tag, s.Raw, MaxSectionBytes)
		case s.Flags&FlagZstd == 0 && s.Raw != uint64(len(s.Data)):
			return nil, fmt.Errorf("bundle: uncompressed section %s declares %d raw bytes but holds %d", s.Tag, s.Raw, len(s.Data))
		case s.Flags&FlagZstd != 0 && s.Raw > maxRawFor(uint64(len(s.Data))):
			return nil, fmt.Errorf("bundle: compressed section %s declares %d raw bytes from %d stored, more than the compression ratio limit allows", s.Tag, s.Raw, len(s.Data))
		}
		seen[s.Tag] = true
	}
	return layout(major, minor, sections)
}

// Uncompressed returns b with every section this reader knows stored raw:
// b itself when none is compressed, else a new bundle of the same version
// whose compressed known sections are decompressed, as bounded as
// Decode's (FORMAT.md §3), and whose other sections' bytes are unchanged. It checks
// the header and the table, and the stored bytes' checksums when it
// decompresses, nothing else: a bundle it returns as it is stays for
// Decode to check (a second pass over the bytes, at 200 MB a tenth of a
// second, when its caller has just decoded it). It
// is how a host hands the module, which reads raw sections only
// (zstd_wasm.go), a bundle a writer compressed: any format 1 bundle, and
// format 2 bundles written before sections were stored raw. A signature
// section is carried over but no longer verifies: check it on b.
func Uncompressed(b []byte) ([]byte, error) {
	h, err := ReadHeader(b)
	if err != nil {
		return nil, err
	}
	known := knownFor(h.Major)
	if !slices.ContainsFunc(h.Entries, func(e Entry) bool { return e.Flags&FlagZstd != 0 && known(e.Tag) }) {
		return b, nil
	}
	_, sections, err := ReadStored(b)
	if err != nil {
		return nil, err
	}
	var dec *decompressor
	for i, s := range sections {
		if s.Flags&FlagZstd == 0 || !known(s.Tag) {
			// A section no reader of this version knows stays as it is,
			// never decompressed (FORMAT.md §3): the module skips it too.
			continue
		}
		if dec == nil {
			if dec, err = newDecompressor(s.Entry); err != nil {
				return nil, err
			}
			defer dec.close()
		}
		raw, err := dec.decompress(s.Entry, s.Data)
		if err != nil {
			return nil, err
		}
		sections[i].Flags, sections[i].Data = 0, raw
	}
	if dec == nil {
		return b, nil
	}
	return Relayout(h.Major, h.Minor, sections)
}

// layout writes the header, the table and the stored bytes of sections,
// whose tags, flags and raw lengths the caller has checked.
func layout(major, minor uint16, sections []Stored) ([]byte, error) {
	off := uint64(headerSize + entrySize*len(sections))
	off = alignUp(off)
	table := make([]byte, entrySize*len(sections))
	for i, s := range sections {
		e := table[i*entrySize:]
		copy(e[0:4], s.Tag)
		binary.LittleEndian.PutUint32(e[4:], s.Flags)
		binary.LittleEndian.PutUint64(e[8:], off)
		binary.LittleEndian.PutUint64(e[16:], uint64(len(s.Data)))
		binary.LittleEndian.PutUint64(e[24:], s.Raw)
		binary.LittleEndian.PutUint32(e[32:], crc32.Checksum(s.Data, castagnoli))
		off = alignUp(off + uint64(len(s.Data)))
	}
	if off > MaxBundleBytes+align {
		return nil, fmt.Errorf("bundle: %d bytes, more than %d", off, uint64(MaxBundleBytes))
	}
	var out bytes.Buffer
	out.Grow(int(off))
	hdr := make([]byte, headerSize)
	copy(hdr, Magic)
	binary.LittleEndian.PutUint16(hdr[8:], major)
	binary.LittleEndian.PutUint16(hdr[10:], minor)
	binary.LittleEndian.PutUint32(hdr[12:], uint32(len(sections)))
	binary.LittleEndian.PutUint32(hdr[20:], headerChecksum(hdr, table))
	out.Write(hdr)
	out.Write(table)
	for i := range sections {
		pad(&out)
		out.Write(sections[i].Data)
	}
	if uint64(out.Len()) > MaxBundleBytes {
		return nil, fmt.Errorf("bundle: %d bytes, more than %d", out.Len(), MaxBundleBytes)
	}
	return out.Bytes(), nil
}

func alignUp(n uint64) uint64 { return (n + align - 1) &^ (align - 1) }

func pad(b *bytes.Buffer) {
	for b.Len()%align != 0 {
		b.WriteByte(0)
	}
}

// headerChecksum is the CRC-32C of the header with its checksum field zeroed,
// followed by the section table (FORMAT.md §2).
func headerChecksum(hdr, table []byte) uint32 {
	var h [headerSize]byte
	copy(h[:], hdr)
	binary.LittleEndian.PutUint32(h[20:], 0)
	c := crc32.Update(0, castagnoli, h[:])
	return crc32.Update(c, castagnoli, table)
}

// Header is what the fixed header and section table say about a bundle.
type Header struct {
	Major, Minor uint16
	Entries      []Entry
}

// Entry is one row of the section table.
type Entry struct {
	Tag      string
	Flags    uint32
	Offset   uint64
	Stored   uint64 // bytes in the file
	Raw      uint64 // bytes after decompression
	Checksum uint32 // CRC-32C of the stored bytes
}

// Compressed reports whether the section is stored as a zstd frame
// (FlagZstd), which the module does not read in place.
func (e Entry) Compressed() bool { return e.Flags&FlagZstd != 0 }

// ReadHeader validates the fixed header and the section table of b, in the
// order FORMAT.md §6 gives: length, magic, version, table bounds, checksum,
// then every entry's bounds. It reads no section.
func ReadHeader(b []byte) (*Header, error) {
	if uint64(len(b)) > MaxBundleBytes {
		return nil, formatErr("", "bundle is %d bytes, more than the limit of %d", len(b), MaxBundleBytes)
	}
	if len(b) < headerSize {
		return nil, formatErr("", "truncated: %d bytes, a header alone is %d", len(b), headerSize)
	}
	if string(b[:8]) != Magic {
		return nil, formatErr("", "not an edgerec bundle (magic %q, want %q)", b[:8], Magic)
	}
	h := &Header{Major: binary.LittleEndian.Uint16(b[8:]), Minor: binary.LittleEndian.Uint16(b[10:])}
	if h.Major < OldestMajor || h.Major > Major {
		return nil, &UnsupportedError{Major: h.Major, Minor: h.Minor}
	}
	n := binary.LittleEndian.Uint32(b[12:])
	if n > MaxSections {
		return nil, formatErr("", "section table declares %d sections, more than %d", n, MaxSections)
	}
	end := uint64(headerSize) + uint64(n)*entrySize
	if end > uint64(len(b)) {
		return nil, formatErr("", "truncated: section table of %d entries needs %d bytes, bundle has %d", n, end, len(b))
	}
	table := b[headerSize:end]
	if got, want := headerChecksum(b[:headerSize], table), binary.LittleEndian.Uint32(b[20:]); got != want {
		return nil, formatErr("", "header checksum mismatch (stored %08x, computed %08x)", want, got)
	}
	if binary.LittleEndian.Uint32(b[16:]) != 0 || binary.LittleEndian.Uint64(b[24:]) != 0 {
		return nil, formatErr("", "reserved header fields are not zero")
	}
	dataEnd := end // end of the previous section's bytes
	var decoded uint64
	seen := map[string]bool{}
	for i := uint32(0); i < n; i++ {
		e := table[i*entrySize:]
		en := Entry{
			Tag:      string(e[0:4]),
			Flags:    binary.LittleEndian.Uint32(e[4:]),
			Offset:   binary.LittleEndian.Uint64(e[8:]),
			Stored:   binary.LittleEndian.Uint64(e[16:]),
			Raw:      binary.LittleEndian.Uint64(e[24:]),
			Checksum: binary.LittleEndian.Uint32(e[32:]),
		}
		switch {
		case seen[en.Tag]:
			return nil, formatErr(en.Tag, "duplicate section")
		case en.Flags&^FlagZstd != 0:
			return nil, formatErr(en.Tag, "unknown flags %#x", en.Flags)
		case binary.LittleEndian.Uint32(e[36:]) != 0:
			return nil, formatErr(en.Tag, "reserved field is not zero")
		case en.Offset != alignUp(dataEnd):
			return nil, formatErr(en.Tag, "offset %d, want %d: sections follow each other at 8-byte alignment", en.Offset, alignUp(dataEnd))
		case en.Stored > uint64(len(b)) || en.Offset > uint64(len(b))-en.Stored:
			return nil, formatErr(en.Tag, "truncated: section needs bytes %d..%d, bundle has %d", en.Offset, en.Offset+en.Stored, len(b))
		case en.Raw > MaxSectionBytes:
			return nil, formatErr(en.Tag, "declares %d decoded bytes, more than the limit of %d", en.Raw, MaxSectionBytes)
		case en.Flags&FlagZstd == 0 && en.Raw != en.Stored:
			return nil, formatErr(en.Tag, "uncompressed section declares %d raw bytes but stores %d", en.Raw, en.Stored)
		case en.Flags&FlagZstd != 0 && en.Raw > maxRawFor(en.Stored):
			return nil, formatErr(en.Tag, "declares %d decoded bytes from %d stored: more than the compression ratio limit of %d:1 (plus %d bytes)",
				en.Raw, en.Stored, MaxZstdRatio, ZstdRatioSlack)
		}
		for _, p := range b[dataEnd:en.Offset] {
			if p != 0 {
				return nil, formatErr(en.Tag, "padding before the section is not zero")
			}
		}
		if decoded += en.Raw; decoded > MaxDecodedBytes {
			return nil, formatErr(en.Tag, "sections declare more than %d decoded bytes in all", uint64(MaxDecodedBytes))
		}
		seen[en.Tag] = true
		dataEnd = en.Offset + en.Stored
		h.Entries = append(h.Entries, en)
	}
	last := uint64(end)
	if len(h.Entries) > 0 {
		e := h.Entries[len(h.Entries)-1]
		last = e.Offset + e.Stored
	}
	if last != uint64(len(b)) {
		return nil, formatErr("", "%d bytes follow the last section", uint64(len(b))-last)
	}
	return h, nil
}

// decodeContainer validates b and returns its sections in file order, the
// ones read(tag) wants decompressed, the others (sections this reader does
// not know) with their stored bytes and never decompressed; read nil wants
// all. With verify every checksum is checked. Uncompressed sections alias b.
func decodeContainer(b []byte, read func(tag string) bool, verify bool) (*Header, []Section, error) {
	h, err := ReadHeader(b)
	if err != nil {
		return nil, nil, err
	}
	var dec *decompressor
	out := make([]Section, 0, len(h.Entries))
	for _, e := range h.Entries {
		stored := b[e.Offset : e.Offset+e.Stored]
		if !verify {
			// DecodeVerified: the checksums were checked with the content.
		} else if got := crc32.Checksum(stored, castagnoli); got != e.Checksum {
			return nil, nil, formatErr(e.Tag, "checksum mismatch (stored %08x, computed %08x)", e.Checksum, got)
		}
		data := stored
		if e.Flags&FlagZstd != 0 && (read == nil || read(e.Tag)) {
			if dec == nil {
				if dec, err = newDecompressor(e); err != nil {
					return nil, nil, err
				}
				defer dec.close()
			}
			if data, err = dec.decompress(e, stored); err != nil {
				return nil, nil, err
			}
		}
		out = append(out, Section{Tag: e.Tag, Data: data})
	}
	return h, out, nil
}

// sortedTags returns the tags of sections in sorted order, for messages.
func sortedTags(s []Section) []string {
	t := make([]string, len(s))
	for i := range s {
		t[i] = s[i].Tag
	}
	sort.Strings(t)
	return t
}
