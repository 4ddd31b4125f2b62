package bundletest

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"hash/crc32"
	"math"

	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/nn"
	"github.com/edgerec/edgerec/core/wire"
	"github.com/klauspost/compress/zstd"
)

// Hostile is a crafted bundle: sound checksums around content that a
// reader must refuse, or must read without the work or memory the crafted
// part asks for.
type Hostile struct {
	Name string
	Data []byte
	// Want is a phrase of the refusal's message; "" means a reader accepts
	// the bundle (what is crafted is in a part it must skip).
	Want string
}

// Hostiles returns crafted bundles made from Random(n, dim, seed), one per
// attack the bundle readers guard against: non-finite weights, zstd frames
// that are not exactly one frame of the declared size, a table declaring a
// decompression far beyond what the stored bytes can hold, and unknown
// sections that a reader must skip without decompressing. They are made by
// code rather than kept as files so that they follow the format.
func Hostiles(n, dim int, seed uint64) []Hostile {
	b := Random(n, dim, seed)
	good := mustEncode(b)
	var out []Hostile
	add := func(name, want string, data []byte) { out = append(out, Hostile{Name: name, Data: data, Want: want}) }

	nanRanker := *b.Ranker
	nanRanker.MLP.Layers = cloneLayers(nanRanker.MLP.Layers)
	nanRanker.MLP.Layers[0].W[3] = float32(math.NaN())
	add("NaN in a ranker weight", "section RANK: tensor mlp.layers[0].w holds NaN",
		withRaw(good, bundle.TagRanker, mustMarshal(&nanRanker)))

	infQuery := b.Query
	infQuery.Cross = append(infQuery.Cross[:0:0], infQuery.Cross...)
	infQuery.Cross[0].W = append([]float32(nil), infQuery.Cross[0].W...)
	infQuery.Cross[0].W[5] = float32(math.Inf(1))
	add("infinity in a query tower cross layer", "section QTWR: tensor cross[0].w holds +Inf",
		withRaw(good, bundle.TagQuery, mustMarshal(&infQuery)))

	nanField := b.Query
	nanField.Fields = append(nanField.Fields[:0:0], nanField.Fields...)
	nanField.Fields[0].Table.Data = append([]float32(nil), nanField.Fields[0].Table.Data...)
	nanField.Fields[0].Table.Data[1] = float32(math.NaN())
	add("NaN in a query tower field table", "section QTWR: tensor fields[region].table holds NaN",
		withRaw(good, bundle.TagQuery, mustMarshal(&nanField)))

	nanBias := b.Query
	nanBias.MLP.Layers = cloneLayers(nanBias.MLP.Layers)
	nanBias.MLP.Layers[1].B[0] = float32(math.Inf(-1))
	add("infinity in a query tower bias", "section QTWR: tensor mlp.layers[1].b holds -Inf",
		withRaw(good, bundle.TagQuery, mustMarshal(&nanBias)))

	manifest := mustMarshal(&b.Manifest)
	half := len(manifest) / 2
	two := append(compress(manifest[:half]), compress(manifest[half:])...)
	add("two concatenated zstd frames", "more than one zstd frame",
		withStored(good, bundle.TagManifest, two, uint64(len(manifest))))

	skip := append([]byte{0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 'p', 'a', 'd', '!'}, compress(manifest)...)
	add("a skippable frame before the frame", "not one zstd frame",
		withStored(good, bundle.TagManifest, skip, uint64(len(manifest))))

	// A frame under 256 bytes need not declare its size: make it longer.
	fcs := compress(append(bytes.Clone(manifest), make([]byte, 300)...))
	add("frame content size other than the table's", "frame declares",
		withStored(good, bundle.TagManifest, fcs, uint64(len(manifest))))

	add("truncated frame", "zstd",
		withStored(good, bundle.TagManifest, compress(manifest)[:len(compress(manifest))-3], uint64(len(manifest))))

	// A kilobyte of zeros declaring a gigabyte: no reader may try.
	add("a gigabyte declared by a small section", "compression ratio",
		declare(withStored(good, bundle.TagIDs, compress(make([]byte, 1<<10)), 1<<10), bundle.TagIDs, bundle.MaxSectionBytes))

	// 64 MiB of zeros is a few kilobytes of zstd; declared truthfully it
	// is still refused, unknown section or not.
	bomb := compressedZeros(64 << 20)
	add("decompression bomb in an unknown section", "compression ratio",
		declare(withExtra(good, "XTRA", bomb, uint64(len(bomb))), "XTRA", 64<<20))

	// An unknown section whose stored bytes are not zstd at all: a reader
	// that skips it without decompressing accepts the bundle.
	junk := sha256.Sum256([]byte("not a frame"))
	add("unknown compressed section that is not zstd", "", withExtra(good, "XTRA", junk[:], 4096))
	return out
}

// cloneLayers deep-copies dense layers, so that a crafted change leaves
// the bundle Hostiles started from intact.
func cloneLayers(l []nn.Dense) []nn.Dense {
	out := append([]nn.Dense(nil), l...)
	for i := range out {
		out[i].W = append([]float32(nil), out[i].W...)
		out[i].B = append([]float32(nil), out[i].B...)
	}
	return out
}

func mustEncode(b *bundle.Bundle) []byte {
	data, err := bundle.Encode(b)
	if err != nil {
		panic(err)
	}
	return data
}

func mustMarshal(v any) []byte {
	data, err := wire.Marshal(v)
	if err != nil {
		panic(err)
	}
	return data
}

// compress returns data as one zstd frame.
func compress(data []byte) []byte {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	if err != nil {
		panic(err)
	}
	defer enc.Close()
	return enc.EncodeAll(data, nil)
}

// compressedZeros returns n zero bytes as one zstd frame, streamed so that
// the zeros are never in memory at once.
func compressedZeros(n int) []byte {
	var buf sliceWriter
	enc, err := zstd.NewWriter(&buf, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<20))
	if err != nil {
		panic(err)
	}
	zeros := make([]byte, 1<<20)
	for range n / len(zeros) {
		if _, err := enc.Write(zeros); err != nil {
			panic(err)
		}
	}
	if err := enc.Close(); err != nil {
		panic(err)
	}
	return buf
}

type sliceWriter []byte

func (w *sliceWriter) Write(p []byte) (int, error) { *w = append(*w, p...); return len(p), nil }

// withRaw returns data with section tag's bytes replaced by raw, stored
// uncompressed, under valid checksums.
func withRaw(data []byte, tag string, raw []byte) []byte {
	return edit(data, 0, func(s []bundle.Stored) []bundle.Stored {
		for i := range s {
			if s[i].Tag == tag {
				s[i].Flags, s[i].Data, s[i].Raw = 0, raw, uint64(len(raw))
			}
		}
		return s
	})
}

// withStored returns data with section tag stored as the given zstd bytes
// declaring raw decompressed bytes, under valid checksums.
func withStored(data []byte, tag string, stored []byte, raw uint64) []byte {
	return edit(data, 0, func(s []bundle.Stored) []bundle.Stored {
		for i := range s {
			if s[i].Tag == tag {
				s[i].Flags, s[i].Data, s[i].Raw = bundle.FlagZstd, stored, raw
			}
		}
		return s
	})
}

// withExtra returns data with an extra zstd section of a tag no reader
// knows, under a newer minor version.
func withExtra(data []byte, tag string, stored []byte, raw uint64) []byte {
	return edit(data, max(bundle.Minor, bundle.MinorPrior)+1, func(s []bundle.Stored) []bundle.Stored {
		return append(s, bundle.Stored{Entry: bundle.Entry{Tag: tag, Flags: bundle.FlagZstd, Raw: raw}, Data: stored})
	})
}

// declare sets the raw length section tag declares in data's table, and
// fixes the header checksum (FORMAT.md §2–§3): the writer refuses to lay
// out a table that declares more than the ratio limit.
func declare(data []byte, tag string, raw uint64) []byte {
	data = bytes.Clone(data)
	n := int(binary.LittleEndian.Uint32(data[12:]))
	const header, entry = 32, 40
	for i := range n {
		e := data[header+i*entry:]
		if string(e[:4]) == tag {
			binary.LittleEndian.PutUint64(e[24:], raw)
		}
	}
	binary.LittleEndian.PutUint32(data[20:], 0)
	c := crc32.Update(0, crc32.MakeTable(crc32.Castagnoli), data[:header+n*entry])
	binary.LittleEndian.PutUint32(data[20:], c)
	return data
}

// edit lays data out again with its sections changed by f, at the minor
// version of data or minor, whichever is newer.
func edit(data []byte, minor uint16, f func([]bundle.Stored) []bundle.Stored) []byte {
	h, sections, err := bundle.ReadStored(data)
	if err != nil {
		panic(err)
	}
	out, err := bundle.Relayout(h.Major, max(h.Minor, minor), f(sections))
	if err != nil {
		panic(err)
	}
	return out
}
