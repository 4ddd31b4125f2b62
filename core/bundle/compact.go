package bundle

import (
	"github.com/edgerec/edgerec/core/ann"
	"github.com/edgerec/edgerec/core/nn"
	"github.com/edgerec/edgerec/core/quant"
)

// A bundle's item embeddings come in one of two modes, which the
// manifest's quantization names (FORMAT.md §8.7):
//
//   - full ("int8"): section EMBD holds every item's int8 row (68 bytes at
//     dimension 64), searched exactly or through the IVF index INDX;
//   - compact ("ivfpq"): section IVPQ holds an inverted file of
//     product-quantization codes (ann.IVFPQ, 32 bytes an item at
//     dimension 64 with its defaults) and there is no EMBD or INDX: the
//     module searches the codes and reconstructs a row where it needs one.
const (
	QuantInt8  = "int8"
	QuantIVFPQ = "ivfpq"
)

// TagCompact names the section holding the compact mode's codes (§8.7).
const TagCompact = "IVPQ"

// TagHistoryCodes names the section in which a bundle may hold the query
// tower's history rows as product-quantization codes, in place of HIST's
// int8 rows (§8.7): a compact one since format 2.1, any since 3.0.
const TagHistoryCodes = "HIPQ"

// HistoryRows returns the rows the query tower pools over a user's
// history: HIST's int8 rows, or their codes (HIPQ).
func (b *Bundle) HistoryRows() nn.Rows {
	if b.HistoryCodes != nil {
		return b.HistoryCodes
	}
	return b.History
}

// encodeHistoryCodes lays out section HIPQ (§8.7): four uint32 — rows,
// width, M, 0 — the codebooks (float32, 256·width) and the codes (uint8,
// rows·M).
func encodeHistoryCodes(r *quant.PQRows) []byte {
	var w rawWriter
	w.u32(uint32(r.Len()))
	w.u32(uint32(r.PQ.Dim))
	w.u32(uint32(r.PQ.M))
	w.u32(0)
	putArray(&w, r.PQ.Codebooks)
	putArray(&w, r.Codes)
	return w.finish()
}

func decodeHistoryCodes(data []byte, n, dim int) (*quant.PQRows, error) {
	r := &rawReader{tag: TagHistoryCodes, b: data}
	rows, width, m, reserved := r.u32(), r.u32(), r.u32(), r.u32()
	if r.err == nil && (int64(rows) != int64(n) || int64(width) != int64(dim) || m < 1 || m > width || width%m != 0 || reserved != 0) {
		return nil, formatErr(TagHistoryCodes, "%d rows of width %d in %d subspaces for %d items of width %d (reserved %d)", rows, width, m, n, dim, reserved)
	}
	if r.err != nil {
		return nil, r.end()
	}
	p := &quant.PQ{Dim: dim, M: int(m), Codebooks: readArray[float32](r, quant.PQCentroids*dim, "codebooks")}
	out := &quant.PQRows{PQ: p, Codes: readArray[byte](r, n*int(m), "codes")}
	if err := r.end(); err != nil {
		return nil, err
	}
	if err := out.Validate(); err != nil {
		return nil, formatErr(TagHistoryCodes, "%v", err)
	}
	return out, nil
}

// Compact reports whether b is a compact bundle (its embeddings are the
// codes of b.Codes, and b.Embeddings is nil).
func (b *Bundle) Compact() bool { return b.Codes != nil }

// Vector writes item row's embedding into dst (len(dst) = Manifest.Dim):
// the int8 row decoded, or in a compact bundle the vector its codes stand
// for (ann.IVFPQ.Decode).
func (b *Bundle) Vector(dst []float32, row int) {
	if b.Codes != nil {
		b.Codes.Decode(dst, row)
		return
	}
	b.Embeddings.Decode(dst, row)
}

// CodesNProbe returns the lists a search of the codes for k rows probes
// when a request asks for requested: bounded as Index.NProbeFor bounds
// it, and every list for k of an eighth of the catalog or more (a compact
// bundle has no exact scan to fall back on; probing all costs about as
// much and is as exact as the codes are).
func (b *Bundle) CodesNProbe(requested, k int) int {
	if k >= b.Manifest.Items/8 {
		return b.Codes.Lists()
	}
	return nprobeFor(b.Codes.NProbe, b.Codes.Lists(), requested)
}

// decodeCompact reads section IVPQ: the layout of ann.IVFPQ.MarshalBinary,
// aliased, which DecodeIVFPQ checks whole (every count against the bytes,
// the offsets, the floats: a few kilobytes besides the codes, so the
// verified path checks it too).
func decodeCompact(data []byte, n, dim int) (*ann.IVFPQ, error) {
	ix, err := ann.DecodeIVFPQ(data)
	if err != nil {
		return nil, formatErr(TagCompact, "%v", err)
	}
	if ix.Rows() != n || ix.PQ.Dim != dim {
		return nil, formatErr(TagCompact, "codes of %d rows of dimension %d for %d items of dimension %d", ix.Rows(), ix.PQ.Dim, n, dim)
	}
	return ix, nil
}
