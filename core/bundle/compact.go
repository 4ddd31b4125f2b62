package bundle

import (
	"github.com/edgerec/edgerec/core/ann"
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

// CodesNProbe returns the lists a search of the codes probes for a
// request asking for requested, bounded as Index.NProbeFor bounds it.
func (b *Bundle) CodesNProbe(requested int) int {
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
