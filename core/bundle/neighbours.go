package bundle

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/edgerec/edgerec/core/quant"
)

// PackedNeighbours are per-item neighbour lists as the module serves them
// and format 3 stores them (FORMAT.md §8.5): each entry an item row in as
// few bytes as the catalog needs (2 up to 65 536 items, 3 up to 2²⁴, else
// 4) and a binary16 weight times one scale for the whole table, where the
// plain lists (Neighbours) take 8 bytes an entry. A catalog's neighbour
// lists were its largest part after the item vectors; at ten neighbours an
// item a table costs 84 bytes an item in format 2, 44 or 54 here.
//
// Weights keep 11 significant bits: a neighbour's weight is a relative
// score summed over a history, and the rounding (at most 2⁻¹¹ of it)
// changes no order that a sum of float32 weights keeps to more than that.
// The zero value holds no lists.
type PackedNeighbours struct {
	offsets []uint32 // items+1 entries, or none
	rows    []byte   // width bytes per entry, little-endian
	width   int
	weights []uint16 // binary16
	scale   float32
}

// Items returns how many items the lists cover: the catalog's item count,
// or 0 when there are none.
func (l *PackedNeighbours) Items() int { return max(len(l.offsets)-1, 0) }

// Entries returns the number of neighbours over all lists.
func (l *PackedNeighbours) Entries() int { return len(l.weights) }

// Len returns the length of item i's list (0 when there are no lists).
func (l *PackedNeighbours) Len(i int) int {
	if len(l.offsets) == 0 {
		return 0
	}
	return int(l.offsets[i+1] - l.offsets[i])
}

// At returns the k-th neighbour of item i and its weight.
func (l *PackedNeighbours) At(i, k int) (int32, float32) {
	e := int(l.offsets[i]) + k
	return l.row(e), quant.FromHalf(l.weights[e]) * l.scale
}

// row returns entry e's item row.
func (l *PackedNeighbours) row(e int) int32 {
	b := l.rows[e*l.width : (e+1)*l.width]
	switch l.width {
	case 2:
		return int32(binary.LittleEndian.Uint16(b))
	case 3:
		return int32(b[0]) | int32(b[1])<<8 | int32(b[2])<<16
	}
	return int32(binary.LittleEndian.Uint32(b))
}

// Unpack returns the lists in their plain form, weights as served.
func (l *PackedNeighbours) Unpack() Neighbours {
	if len(l.offsets) == 0 {
		return Neighbours{}
	}
	out := Neighbours{Offsets: append([]uint32(nil), l.offsets...),
		Items: make([]int32, l.Entries()), Weights: make([]float32, l.Entries())}
	for e := range out.Items {
		out.Items[e], out.Weights[e] = l.row(e), quant.FromHalf(l.weights[e])*l.scale
	}
	return out
}

// The scale of packed weights is a normal float32 of at most 2¹⁰⁰, so
// that a weight (at most 65 504 times it) and any sum of them a request
// makes stay finite.
const (
	minScale = 0x1p-126
	maxScale = 0x1p100
)

// rowWidth is the bytes an item row takes in a catalog of n items.
func rowWidth(n int) int {
	switch {
	case n <= 1<<16:
		return 2
	case n <= 1<<24:
		return 3
	}
	return 4
}

// halfScale is the power of two that puts the largest weight magnitude
// of ws below 2¹⁵, well inside binary16's range (65 504), and at or above
// 2¹⁴, so that every weight down to 2⁻²⁸ of the largest is a normal
// binary16 with 11 significant bits (below, a weight is off by 2⁻³⁹ of
// the largest at most); 1 for no weights or all zero.
func halfScale(ws []float32) float32 {
	var m float64
	for _, w := range ws {
		m = max(m, math.Abs(float64(w)))
	}
	if m == 0 || math.IsInf(m, 0) || math.IsNaN(m) {
		return 1
	}
	_, exp := math.Frexp(m) // m = f·2^exp, f in [0.5, 1)
	return float32(math.Ldexp(1, exp-15))
}

// Pack packs plain lists for a catalog of n items: rows in rowWidth(n)
// bytes, weights as binary16 times a power-of-two scale. It refuses lists
// that do not match n items, rows out of range and weights that are not
// finite.
func Pack(l *Neighbours, n int) (PackedNeighbours, error) {
	if err := l.validate(n, "neighbour"); err != nil || len(l.Offsets) == 0 {
		return PackedNeighbours{}, err
	}
	p := PackedNeighbours{offsets: append([]uint32(nil), l.Offsets...), width: rowWidth(n), scale: halfScale(l.Weights)}
	p.rows = make([]byte, 0, p.width*len(l.Items))
	for _, it := range l.Items {
		p.rows = binary.LittleEndian.AppendUint32(p.rows, uint32(it))[:len(p.rows)+p.width]
	}
	p.weights = make([]uint16, len(l.Weights))
	for e, w := range l.Weights {
		p.weights[e] = quant.ToHalf(w / p.scale)
	}
	return p, nil
}

// validate checks that l holds no lists, or the lists of n items: offsets
// from 0 non-decreasing to the entry count, every row in [0, n), finite
// weights, a scale in [minScale, maxScale]; what names the lists in
// errors.
func (l *PackedNeighbours) validate(n int, what string) error {
	if len(l.offsets) == 0 {
		return nil
	}
	m := len(l.weights)
	if len(l.offsets) != n+1 || l.offsets[0] != 0 || int(l.offsets[n]) != m || len(l.rows) != m*l.width {
		return fmt.Errorf("%s lists do not match %d items", what, n)
	}
	if l.width != rowWidth(n) {
		return fmt.Errorf("%s lists hold rows in %d bytes, want %d for %d items", what, l.width, rowWidth(n), n)
	}
	if !(l.scale >= minScale && l.scale <= maxScale) {
		return fmt.Errorf("%s lists' weight scale %v is outside [2⁻¹²⁶, 2¹⁰⁰]", what, l.scale)
	}
	for i := 1; i <= n; i++ {
		if l.offsets[i] < l.offsets[i-1] {
			return fmt.Errorf("%s offsets decrease at item %d", what, i-1)
		}
	}
	for e, h := range l.weights {
		if it := l.row(e); it < 0 || int(it) >= n || h&0x7c00 == 0x7c00 {
			return fmt.Errorf("%s entry %d: item %d, weight %v", what, e, it, quant.FromHalf(h)*l.scale)
		}
	}
	return nil
}

// encodeNeighbours lays out packed lists (§8.5): the item count (0: no
// lists), the entry count, the row width, the scale's bits, then n+1
// uint32 offsets, the binary16 weights and the rows.
func encodeNeighbours(l *PackedNeighbours) []byte {
	var w rawWriter
	w.u32(uint32(l.Items()))
	w.u32(uint32(l.Entries()))
	if l.Items() == 0 {
		return w.finish()
	}
	w.u32(uint32(l.width))
	w.u32(math.Float32bits(l.scale))
	putArray(&w, l.offsets)
	putArray(&w, l.weights)
	putArray(&w, l.rows)
	return w.finish()
}

// listsHeader reads the two counts that open a §8.5 section in formats 2
// and 3: the item count, which must be n or 0, and the entries. It
// returns a nil reader when the section holds no lists, with the error of
// what follows them (nil for padding alone).
func listsHeader(tag string, data []byte, n int) (*rawReader, uint32, error) {
	r := &rawReader{tag: tag, b: data}
	items, entries := r.u32(), r.u32()
	if r.err == nil && items != 0 && int64(items) != int64(n) {
		return nil, 0, formatErr(tag, "lists of %d items for %d", items, n)
	}
	if items == 0 {
		return nil, 0, r.end()
	}
	return r, entries, nil
}

// decodeNeighbours reads §8.5's lists of a catalog of n items in place.
// It checks the lengths and the row width; validate checks the content.
func decodeNeighbours(tag string, data []byte, n int) (PackedNeighbours, error) {
	r, entries, err := listsHeader(tag, data, n)
	if r == nil {
		return PackedNeighbours{}, err
	}
	width, scale := int(r.u32()), math.Float32frombits(r.u32())
	if r.err == nil && width != rowWidth(n) {
		return PackedNeighbours{}, formatErr(tag, "rows of %d bytes, want %d for %d items", width, rowWidth(n), n)
	}
	l := PackedNeighbours{width: width, scale: scale,
		offsets: readArray[uint32](r, n+1, "offsets"),
		weights: readArray[uint16](r, int(entries), "weights")}
	if r.err == nil && uint64(entries)*uint64(width) > uint64(len(data)) {
		return PackedNeighbours{}, formatErr(tag, "%d entries of %d bytes overrun the section's %d bytes", entries, width, len(data))
	}
	l.rows = readArray[byte](r, int(entries)*width, "rows")
	return l, r.end()
}

// decodeNeighboursV2 reads format 2's plain lists (an int32 row and a
// float32 weight an entry, FORMAT.md §8.6) and packs them.
func decodeNeighboursV2(tag string, data []byte, n int) (PackedNeighbours, error) {
	r, entries, err := listsHeader(tag, data, n)
	if r == nil {
		return PackedNeighbours{}, err
	}
	l := Neighbours{
		Offsets: readArray[uint32](r, n+1, "offsets"),
		Items:   readArray[int32](r, int(entries), "items"),
		Weights: readArray[float32](r, int(entries), "weights"),
	}
	if err := r.end(); err != nil {
		return PackedNeighbours{}, err
	}
	p, err := Pack(&l, n)
	if err != nil {
		return PackedNeighbours{}, formatErr(tag, "%v", err)
	}
	return p, nil
}
