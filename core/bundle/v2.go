package bundle

import (
	"fmt"
	"unsafe"

	"github.com/edgerec/edgerec/core/quant"
	"github.com/edgerec/edgerec/core/rank"
	"github.com/edgerec/edgerec/core/wire"
)

// Format 2 (FORMAT.md §8) lays out everything the module serves from as
// it is used: the item columns, ids and titles, the id table, the orders
// the sources walk and the neighbour lists are little-endian arrays that a
// reader uses in place, so that loading a bundle decodes, sorts and builds
// nothing per item. Only small sections stay msgpack: the manifest, the
// vocabularies, the towers, the ranker and PIPE's lists, rules and
// parameters.

// UsedInPlace reports whether a reader of format 2 and later uses the
// section tag's raw bytes in place (the arrays of §5 and §8) rather than
// decoding them into its heap (the msgpack sections, and any it does not
// know): the sections stored raw, never compressed, and what a host
// counts when it sizes the memory a load needs.
func UsedInPlace(tag string) bool {
	switch tag {
	case TagEmbeddings, TagHistory, TagIndex, TagCompact, TagHistoryCodes,
		TagIDs, TagTitles, TagIDIndex, TagColumns, TagOrders, TagCovisit, TagSlim:
		return true
	}
	return false
}

// Raw sections of format 2.
const (
	TagIDs     = "IDS " // item ids (§8.1)
	TagTitles  = "TITL" // item titles (§8.1)
	TagIDIndex = "IDIX" // id → row table (§8.3)
	TagColumns = "ICOL" // the other item columns (§8.2)
	TagOrders  = "ORDR" // the sources' orders (§8.4)
	TagCovisit = "COVI" // co-visitation lists (§8.5)
	TagSlim    = "SLIM" // slim lists (§8.5)
)

// encodeV2 returns the sections of b in format 2, in table order.
func encodeV2(b *Bundle, ids IDIndex, lay catalogLayout) ([]Section, error) {
	var sections []Section
	add := func(tag string, v any) error {
		data, err := wire.Marshal(v)
		if err != nil {
			return fmt.Errorf("bundle: encoding %s: %w", tag, err)
		}
		sections = append(sections, Section{Tag: tag, Data: data})
		return nil
	}
	raw := func(tag string, data []byte) { sections = append(sections, Section{Tag: tag, Data: data}) }
	it := &b.Items
	if err := add(TagManifest, &b.Manifest); err != nil {
		return nil, err
	}
	if err := add(TagVocab, &b.Vocab); err != nil {
		return nil, err
	}
	raw(TagIDs, encodeStrings(it.IDs))
	titles := it.Titles
	switch {
	case lay.noTitles:
		titles = Strings{} // §8.1: a bundle without titles stores none
	case titles.Len() == 0:
		titles = NewStrings(make([]string, it.Len())) // format 3 stores N, empty
	}
	raw(TagTitles, encodeStrings(titles))
	raw(TagIDIndex, encodeIDIndex(ids))
	raw(TagColumns, encodeColumns(it, lay))
	if b.Codes != nil {
		data, err := b.Codes.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("bundle: encoding %s: %w", TagCompact, err)
		}
		raw(TagCompact, data)
	} else {
		raw(TagEmbeddings, encodeInt8(b.Embeddings))
	}
	if b.HistoryCodes != nil {
		raw(TagHistoryCodes, encodeHistoryCodes(b.HistoryCodes))
	} else {
		raw(TagHistory, encodeInt8(b.History))
	}
	if err := add(TagQuery, &b.Query); err != nil {
		return nil, err
	}
	if b.Ranker != nil {
		if err := add(TagRanker, b.Ranker); err != nil {
			return nil, err
		}
	}
	if p := b.Pipeline; p != nil {
		if err := add(TagPipeline, p); err != nil {
			return nil, err
		}
		raw(TagCovisit, encodeNeighbours(&p.Covisit))
		raw(TagSlim, encodeNeighbours(&p.Slim))
	}
	o := newOrders(it)
	raw(TagOrders, encodeOrders(&o))
	if b.Index != nil {
		raw(TagIndex, encodeIndex(b.Index))
	}
	return sections, nil
}

// knownFor returns whether a reader of a bundle of the given major
// version reads a section (knownV1 or knownV2).
func knownFor(major uint16) func(tag string) bool {
	if major == 1 {
		return knownV1
	}
	return knownV2
}

// knownV2 reports whether Decode reads a section of format 2.
func knownV2(tag string) bool {
	switch tag {
	case TagManifest, TagVocab, TagQuery, TagRanker, TagPipeline:
		return true
	}
	return UsedInPlace(tag)
}

// decodeV2 reads the sections of a format-2 bundle into b, whose
// manifest, vocabularies and matrices are read already.
func decodeV2(b *Bundle, major uint16, byTag map[string][]byte) error {
	for _, tag := range []string{TagIDs, TagTitles, TagIDIndex, TagColumns, TagOrders} {
		if _, ok := byTag[tag]; !ok {
			return formatErr(tag, "required section missing")
		}
	}
	n := b.Manifest.Items
	it := &b.Items
	var err error
	if it.IDs, err = decodeStrings(TagIDs, byTag[TagIDs], n, false); err != nil {
		return err
	}
	lean := major >= MajorLean // §8.1–§8.2: implied columns may be left out
	if it.Titles, err = decodeStrings(TagTitles, byTag[TagTitles], n, lean); err != nil {
		return err
	}
	if it.index, err = decodeIDIndex(byTag[TagIDIndex]); err != nil {
		return err
	}
	if err := decodeColumns(byTag[TagColumns], n, it, lean); err != nil {
		return err
	}
	if b.Orders, err = decodeOrders(byTag[TagOrders], n); err != nil {
		return err
	}
	if err := wire.UnmarshalLimit(byTag[TagQuery], &b.Query, maxWeights); err != nil {
		return formatErr(TagQuery, "%v", err)
	}
	if data, ok := byTag[TagRanker]; ok {
		b.Ranker = &rank.Model{}
		if err := wire.UnmarshalLimit(data, b.Ranker, maxWeights); err != nil {
			return formatErr(TagRanker, "%v", err)
		}
	}
	if data, ok := byTag[TagPipeline]; ok {
		// Without the neighbour lists, PIPE's lists are the region lists,
		// the rules and the arms: bounded by the catalog, not per item.
		w, err := decodePipeline(data, 4*(n+1)+1<<16)
		if err != nil {
			return err
		}
		p := &w.Pipeline
		if len(w.Covisit.Offsets)+len(w.Slim.Offsets) > 0 {
			return formatErr(TagPipeline, "neighbour lists belong in sections %s and %s since format 2", TagCovisit, TagSlim)
		}
		// Format 2 stored the lists plain; a reader packs them as format 3
		// stores them, so that a bundle serves alike before and after
		// edgerec bundle upgrade.
		decodeLists := decodeNeighbours
		if major == 2 {
			decodeLists = decodeNeighboursV2
		}
		for _, nb := range []struct {
			tag string
			l   *PackedNeighbours
		}{{TagCovisit, &p.Covisit}, {TagSlim, &p.Slim}} {
			if data, ok := byTag[nb.tag]; ok {
				if *nb.l, err = decodeLists(nb.tag, data, n); err != nil {
					return err
				}
			}
		}
		b.Pipeline = p
	}
	return nil
}

// encodeStrings lays out a string column (§8.1): the count, the blob's
// length, n+1 uint32 offsets, the blob.
func encodeStrings(s Strings) []byte {
	var w rawWriter
	w.u32(uint32(s.Len()))
	w.u32(uint32(len(s.blob)))
	offsets := s.offsets
	if offsets == nil {
		offsets = []uint32{0}
	}
	putArray(&w, offsets)
	putArray(&w, s.blob)
	return w.finish()
}

// decodeStrings reads n strings, or none when orNone (titles, from
// format 4).
func decodeStrings(tag string, data []byte, n int, orNone bool) (Strings, error) {
	r := &rawReader{tag: tag, b: data}
	count, blob := r.u32(), r.u32()
	if r.err == nil && int64(count) != int64(n) && !(orNone && count == 0) {
		return Strings{}, formatErr(tag, "%d strings for %d items", count, n)
	}
	if count == 0 {
		n = 0
	}
	s := Strings{offsets: readArray[uint32](r, n+1, "offsets"), blob: readArray[byte](r, int(blob), "blob")}
	if err := r.end(); err != nil {
		return Strings{}, err
	}
	if err := s.check(); err != nil {
		return Strings{}, formatErr(tag, "%v", err)
	}
	return s, nil
}

// encodeIDIndex lays out the id table (§8.3): the slot count, the longest
// probe, the slots.
func encodeIDIndex(x IDIndex) []byte {
	var w rawWriter
	w.u32(uint32(len(x.slots)))
	w.u32(x.maxProbe)
	putArray(&w, x.slots)
	return w.finish()
}

func decodeIDIndex(data []byte) (IDIndex, error) {
	r := &rawReader{tag: TagIDIndex, b: data}
	slots, probe := r.u32(), r.u32()
	if r.err == nil && (slots > 1<<28) {
		return IDIndex{}, formatErr(TagIDIndex, "%d slots", slots)
	}
	x := IDIndex{maxProbe: probe, slots: readArray[uint32](r, int(slots), "slots")}
	return x, r.end()
}

// Flags of ICOL's header (§8.2, from format 4): the category or region
// offsets are left out, implied by their values.
const (
	impliedCategories = 1 << iota
	impliedRegions
	knownColumnFlags = impliedCategories | impliedRegions
)

// encodeColumns lays out the item columns (§8.2), leaving out the list
// offsets lay says their values imply.
func encodeColumns(it *Items, lay catalogLayout) []byte {
	n := it.Len()
	var flags uint32
	if lay.impliedCategories {
		flags |= impliedCategories
	}
	if lay.impliedRegions {
		flags |= impliedRegions
	}
	var w rawWriter
	w.u32(uint32(n))
	w.u32(uint32(len(it.Categories)))
	w.u32(uint32(len(it.Regions)))
	w.u32(flags)
	putArray(&w, it.Released)
	putArray(&w, it.Popularity)
	putArray(&w, it.Recent)
	if flags&impliedCategories == 0 {
		putArray(&w, explicit(it.CategoryOffsets, it.Categories, n))
	}
	putArray(&w, it.Categories)
	if flags&impliedRegions == 0 {
		putArray(&w, explicit(it.RegionOffsets, it.Regions, n))
	}
	putArray(&w, it.Regions)
	putArray(&w, it.AgeRating)
	putArray(&w, boolBytes(it.Available))
	putArray(&w, boolBytes(it.Known))
	return w.finish()
}

// explicit returns a list's offsets, computed when they are implied
// (nil in a decoded lean bundle: none, or one entry an item).
func explicit(offsets []uint32, values []int32, n int) []uint32 {
	if offsets != nil {
		return offsets
	}
	off := make([]uint32, n+1)
	if len(values) != 0 {
		for i := range off {
			off[i] = uint32(i)
		}
	}
	return off
}

// decodeColumns reads the item columns; flags are allowed when lean
// (format 4 on).
func decodeColumns(data []byte, n int, it *Items, lean bool) error {
	r := &rawReader{tag: TagColumns, b: data}
	count, cats, regs, flags := r.u32(), r.u32(), r.u32(), r.u32()
	if r.err == nil && (int64(count) != int64(n) || flags != 0 && !lean || flags&^knownColumnFlags != 0) {
		return formatErr(TagColumns, "columns of %d items for %d (flags %#x)", count, n, flags)
	}
	// An implied list holds no entry or one an item (checked here, not
	// only by validate, which DecodeVerified skips).
	for _, l := range []struct {
		flag  uint32
		count uint32
		what  string
	}{{impliedCategories, cats, "categories"}, {impliedRegions, regs, "regions"}} {
		if r.err == nil && flags&l.flag != 0 && !impliedLen(int(l.count), n) {
			return formatErr(TagColumns, "%d %s for %d items without offsets (want none or one each)", l.count, l.what, n)
		}
	}
	it.Released = readArray[int64](r, n, "released")
	it.Popularity = readArray[float32](r, n, "popularity")
	it.Recent = readArray[float32](r, n, "recent")
	it.CategoryOffsets = nil
	if flags&impliedCategories == 0 {
		it.CategoryOffsets = readArray[uint32](r, n+1, "category offsets")
	}
	it.Categories = readArray[int32](r, int(cats), "categories")
	it.RegionOffsets = nil
	if flags&impliedRegions == 0 {
		it.RegionOffsets = readArray[uint32](r, n+1, "region offsets")
	}
	it.Regions = readArray[int32](r, int(regs), "regions")
	it.AgeRating = readArray[uint8](r, n, "age rating")
	available := readArray[uint8](r, n, "available")
	known := readArray[uint8](r, n, "known")
	if err := r.end(); err != nil {
		return err
	}
	var err error
	if it.Available, err = bools(available, "available"); err != nil {
		return err
	}
	it.Known, err = bools(known, "known")
	return err
}

// boolBytes returns b as bytes 0 and 1.
func boolBytes(b []bool) []uint8 {
	out := make([]uint8, len(b))
	for i, v := range b {
		if v {
			out[i] = 1
		}
	}
	return out
}

// bools returns a column of bytes as bools, in place: each byte must be 0
// or 1, the only bytes a Go bool may hold.
func bools(s []uint8, what string) ([]bool, error) {
	for i, v := range s {
		if v > 1 {
			return nil, formatErr(TagColumns, "%s of item %d is %d, not 0 or 1", what, i, v)
		}
	}
	if len(s) == 0 {
		return []bool{}, nil
	}
	return unsafe.Slice((*bool)(unsafe.Pointer(&s[0])), len(s)), nil
}

// encodeOrders lays out the orders (§8.4).
func encodeOrders(o *Orders) []byte {
	var w rawWriter
	w.u32(uint32(len(o.Popularity)))
	w.u32(uint32(len(o.Release)))
	w.u32(uint32(len(o.Tail)))
	w.u32(0)
	putArray(&w, o.Popularity)
	putArray(&w, o.Release)
	putArray(&w, o.Tail)
	return w.finish()
}

func decodeOrders(data []byte, n int) (Orders, error) {
	r := &rawReader{tag: TagOrders, b: data}
	pop, rel, tail, reserved := r.u32(), r.u32(), r.u32(), r.u32()
	if r.err == nil && (int64(pop) != int64(min(n, PopularOrderRows)) || int64(rel) > int64(n) || int64(tail) > int64(n) || reserved != 0) {
		return Orders{}, formatErr(TagOrders, "orders of %d, %d and %d rows for %d items (reserved %d)", pop, rel, tail, n, reserved)
	}
	o := Orders{
		Popularity: readArray[int32](r, int(pop), "popularity order"),
		Release:    readArray[int32](r, int(rel), "release order"),
		Tail:       readArray[int32](r, int(tail), "tail"),
	}
	return o, r.end()
}

// decodeInt8 reads an int8 matrix (§5.4) in place: codes and scales
// alias data (the scales are copied when data is not aligned).
func decodeInt8(tag string, data []byte, rows, dim int, verify bool) (*quant.Int8, error) {
	if uint64(rows)*uint64(dim) > uint64(len(data)) {
		return nil, formatErr(tag, "%d bytes, fewer than a %d×%d int8 matrix's codes", len(data), rows, dim)
	}
	r := &rawReader{tag: tag, b: data}
	codes := readArray[int8](r, rows*dim, "codes")
	scales := readArray[float32](r, rows, "scales")
	if err := r.end(); err != nil {
		return nil, err
	}
	m := &quant.Int8{Rows: rows, Dim: dim, Codes: codes, Scales: scales}
	if !verify {
		return m, nil
	}
	if err := m.Validate(); err != nil {
		return nil, formatErr(tag, "%v", err)
	}
	return m, nil
}
