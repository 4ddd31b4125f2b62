package bundle

import (
	"encoding/binary"
	"math"

	"github.com/edgerec/edgerec/core/ann"
	"github.com/edgerec/edgerec/core/quant"
)

// TagIndex names the optional section holding an approximate-search index
// over the embeddings (FORMAT.md §5.7).
const TagIndex = "INDX"

// Index kinds (FORMAT.md §5.7). A reader skips an index of a kind it does
// not know and searches exactly.
const (
	// IndexIVF is an inverted file whose lists are runs of EMBD rows.
	IndexIVF = 1
)

// Index layout constants (FORMAT.md §5.7).
const (
	indexHeaderSize = 32
	// MaxIndexLists bounds the lists of an IVF index.
	MaxIndexLists = ann.MaxLists
)

// Index is an inverted-file index over the bundle's embeddings (section
// INDX, FORMAT.md §5.7). The bundle's rows are grouped by list: list l is
// rows Offsets[l] … Offsets[l+1]−1 of EMBD (and of every other per-item
// column), so the index stores no item ids and no copy of the codes.
type Index struct {
	// Offsets has one entry per list plus one: 0, non-decreasing, ending at
	// the number of items.
	Offsets []uint32
	// Centroids holds one int8-coded unit centroid per list (the layout of
	// §5.4).
	Centroids *quant.Int8
	// NProbe is how many lists a search probes unless a request says
	// otherwise (1 … lists).
	NProbe int
	// Recall is the recall@100 against an exact scan that the builder
	// measured at NProbe on its sample queries (informational; 0 unknown).
	Recall float32
}

// Lists returns the number of lists.
func (x *Index) Lists() int { return len(x.Offsets) - 1 }

// MaxNProbeFactor bounds a request's nprobe to this multiple of the
// bundle's default, so that one request cannot turn the index into a full
// scan (tens of milliseconds in the module at a million items).
const MaxNProbeFactor = 4

// NProbeFor returns the lists a search probes for a request asking for
// requested: the default NProbe for requested ≤ 0, else requested clamped
// to MaxNProbeFactor·NProbe and to the number of lists.
func (x *Index) NProbeFor(requested int) int {
	return nprobeFor(x.NProbe, x.Lists(), requested)
}

// nprobeFor is NProbeFor for an index of lists lists whose default is def.
func nprobeFor(def, lists, requested int) int {
	if requested <= 0 {
		return def
	}
	return min(requested, MaxNProbeFactor*def, lists)
}

// IVF returns the searchable index over items, the bundle's embeddings. It
// allocates nothing but the struct.
func (x *Index) IVF(items *quant.Int8) *ann.IVF {
	return &ann.IVF{Items: items, Centroids: x.Centroids, Offsets: x.Offsets, NProbe: x.NProbe}
}

// encodeIndex lays out an IVF index (FORMAT.md §5.7): the 32-byte header,
// the offsets, zero padding to a multiple of 8, and the centroid matrix as
// in §5.4.
func encodeIndex(x *Index) []byte {
	l := x.Lists()
	off := alignUp(uint64(indexHeaderSize + 4*(l+1)))
	cent := encodeInt8(x.Centroids)
	out := make([]byte, off+uint64(len(cent)))
	binary.LittleEndian.PutUint32(out[0:], IndexIVF)
	binary.LittleEndian.PutUint32(out[4:], uint32(l))
	binary.LittleEndian.PutUint32(out[8:], uint32(x.Centroids.Dim))
	binary.LittleEndian.PutUint32(out[12:], uint32(x.NProbe))
	binary.LittleEndian.PutUint32(out[16:], math.Float32bits(x.Recall))
	for i, o := range x.Offsets {
		binary.LittleEndian.PutUint32(out[indexHeaderSize+4*i:], o)
	}
	copy(out[off:], cent)
	return out
}

// decodeIndex reads the layout of encodeIndex for a bundle of items rows of
// dim codes, checking every length before it allocates. It returns nil and
// no error for an index of a kind this reader does not know. The centroid
// codes alias data.
func decodeIndex(data []byte, items, dim int) (*Index, error) {
	if len(data) < indexHeaderSize {
		return nil, formatErr(TagIndex, "%d bytes, the header alone is %d", len(data), indexHeaderSize)
	}
	kind := binary.LittleEndian.Uint32(data[0:])
	if kind != IndexIVF {
		return nil, nil
	}
	l := uint64(binary.LittleEndian.Uint32(data[4:]))
	d := uint64(binary.LittleEndian.Uint32(data[8:]))
	nprobe := uint64(binary.LittleEndian.Uint32(data[12:]))
	recall := math.Float32frombits(binary.LittleEndian.Uint32(data[16:]))
	switch {
	case l < 1 || l > MaxIndexLists:
		return nil, formatErr(TagIndex, "%d lists, want 1…%d", l, MaxIndexLists)
	case d != uint64(dim):
		return nil, formatErr(TagIndex, "centroids of dimension %d, embeddings of %d", d, dim)
	case nprobe < 1 || nprobe > l:
		return nil, formatErr(TagIndex, "default nprobe %d outside 1…%d", nprobe, l)
	case !(recall >= 0 && recall <= 1):
		return nil, formatErr(TagIndex, "recall %v outside [0, 1]", recall)
	}
	for _, b := range data[20:indexHeaderSize] {
		if b != 0 {
			return nil, formatErr(TagIndex, "reserved header bytes are not zero")
		}
	}
	off := alignUp(indexHeaderSize + 4*(l+1))
	codes := l * d
	want := off + (codes+3)&^3 + 4*l
	if uint64(len(data)) != want {
		return nil, formatErr(TagIndex, "%d bytes, an index of %d lists of dimension %d needs %d", len(data), l, d, want)
	}
	for _, b := range data[indexHeaderSize+4*(l+1) : off] {
		if b != 0 {
			return nil, formatErr(TagIndex, "padding after the offsets is not zero")
		}
	}
	x := &Index{Offsets: make([]uint32, l+1), NProbe: int(nprobe), Recall: recall}
	for i := range x.Offsets {
		x.Offsets[i] = binary.LittleEndian.Uint32(data[indexHeaderSize+4*i:])
	}
	var err error
	if x.Centroids, err = decodeInt8(TagIndex, data[off:], int(l), dim, true); err != nil {
		return nil, err
	}
	if err := x.validate(items, dim); err != nil {
		return nil, err
	}
	return x, nil
}

// validate checks x against a bundle of items rows of dim codes.
func (x *Index) validate(items, dim int) error {
	if x.Centroids == nil || len(x.Offsets) < 2 {
		return formatErr(TagIndex, "index without lists")
	}
	ix := ann.IVF{Items: &quant.Int8{Rows: items, Dim: dim}, Centroids: x.Centroids, Offsets: x.Offsets, NProbe: x.NProbe}
	if err := ix.Validate(); err != nil {
		return formatErr(TagIndex, "%v", err)
	}
	if err := x.Centroids.Validate(); err != nil {
		return formatErr(TagIndex, "centroids: %v", err)
	}
	if !(x.Recall >= 0 && x.Recall <= 1) {
		return formatErr(TagIndex, "recall %v outside [0, 1]", x.Recall)
	}
	return nil
}
