//go:build !wasm

// The zstd codec of sections stored compressed (FORMAT.md §3), native
// builds only: the WebAssembly module reads raw sections (zstd_wasm.go),
// since the decoder's package would bring crypto and math/big into the
// module and the module's size is what its compilation, and so every
// cold start, costs (RATIONALE.md, "The module reads raw sections").

package bundle

import (
	"bytes"
	"io"

	"github.com/klauspost/compress/zstd"
)

// compressor compresses sections; a nil one closes as a no-op.
type compressor struct{ enc *zstd.Encoder }

func newCompressor() (*compressor, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedBetterCompression),
		zstd.WithWindowSize(maxWindow))
	if err != nil {
		return nil, err
	}
	return &compressor{enc}, nil
}

func (c *compressor) compress(data []byte) []byte { return c.enc.EncodeAll(data, nil) }

func (c *compressor) close() {
	if c != nil {
		c.enc.Close()
	}
}

// decompressor decompresses sections, one at a time.
type decompressor struct{ dec *zstd.Decoder }

// newDecompressor returns a decompressor for the sections of a bundle,
// the first of them e.
func newDecompressor(Entry) (*decompressor, error) {
	// Concurrency 1 decodes synchronously: goroutines do not run between
	// exports of a wasm reactor (../shared/WASM-NOTES.md).
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxWindow(maxWindow), zstd.WithDecoderMaxMemory(MaxSectionBytes))
	if err != nil {
		return nil, err
	}
	return &decompressor{dec}, nil
}

func (d *decompressor) close() { d.dec.Close() }

// decompress returns the section of entry e from its stored bytes, which
// must be exactly one zstd frame (checkFrame) decompressing to exactly
// e.Raw bytes.
func (d *decompressor) decompress(e Entry, stored []byte) ([]byte, error) {
	dec := d.dec
	if err := checkFrame(e, stored); err != nil {
		return nil, err
	}
	// Stream exactly the declared size: a frame that claims more
	// cannot make us allocate more than the table said.
	if err := dec.Reset(bytes.NewReader(stored)); err != nil {
		return nil, formatErr(e.Tag, "zstd: %v", err)
	}
	// Grow the buffer as bytes come out rather than trusting the
	// declared size: a small hostile section cannot make us
	// allocate more than it really decompresses to.
	var buf bytes.Buffer
	buf.Grow(int(min(e.Raw, 16*e.Stored+4096)))
	n, err := io.CopyN(&buf, dec, int64(e.Raw))
	if err != nil {
		return nil, formatErr(e.Tag, "zstd: decompressed to %d bytes, fewer than the %d declared: %v", n, e.Raw, err)
	}
	var one [1]byte
	if n, err := dec.Read(one[:]); n != 0 || err != io.EOF {
		return nil, formatErr(e.Tag, "zstd: decompresses to more than the %d bytes declared", e.Raw)
	}
	return buf.Bytes(), nil
}

// checkFrame checks, before anything is decompressed, that stored is one
// zstd frame and nothing else (RFC 8878 §3.1.1: a frame header, blocks up
// to the one marked last, an optional 4-byte checksum): no skippable
// frame, no second frame, no trailing bytes, no dictionary, and a content
// size, when the frame declares one, equal to the raw length the table
// declares (FORMAT.md §3).
func checkFrame(e Entry, stored []byte) error {
	var h zstd.Header
	rest, err := h.DecodeAndStrip(stored)
	switch {
	case err != nil:
		return formatErr(e.Tag, "zstd: not one zstd frame: %v", err)
	case h.Skippable:
		return formatErr(e.Tag, "zstd: not one zstd frame: starts with a skippable frame")
	case h.DictionaryID != 0:
		return formatErr(e.Tag, "zstd: the frame needs dictionary %d; bundles use none", h.DictionaryID)
	case h.HasFCS && h.FrameContentSize != e.Raw:
		return formatErr(e.Tag, "zstd: the frame declares %d bytes, the section table %d", h.FrameContentSize, e.Raw)
	}
	for {
		if len(rest) < 3 {
			return formatErr(e.Tag, "zstd: truncated frame: a block header needs 3 bytes, %d left", len(rest))
		}
		bh := uint32(rest[0]) | uint32(rest[1])<<8 | uint32(rest[2])<<16
		last, kind, size := bh&1 != 0, (bh>>1)&3, int(bh>>3)
		rest = rest[3:]
		switch kind {
		case 1: // RLE: one byte repeated size times
			size = 1
		case 3:
			return formatErr(e.Tag, "zstd: reserved block type")
		}
		if size > len(rest) {
			return formatErr(e.Tag, "zstd: truncated frame: a block of %d bytes, %d left", size, len(rest))
		}
		rest = rest[size:]
		if last {
			break
		}
	}
	if h.HasCheckSum {
		if len(rest) < 4 {
			return formatErr(e.Tag, "zstd: truncated frame: its checksum is missing")
		}
		rest = rest[4:]
	}
	var next zstd.Header
	switch {
	case len(rest) == 0:
		return nil
	case next.Decode(rest) == nil:
		return formatErr(e.Tag, "zstd: the section holds more than one zstd frame; FORMAT.md §3 allows one")
	default:
		return formatErr(e.Tag, "zstd: %d bytes follow the zstd frame", len(rest))
	}
}
