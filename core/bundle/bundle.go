// Package bundle reads and writes edgerec bundles: the single file that
// carries everything recommender.wasm serves from — manifest, item ids and
// metadata, quantized item embeddings, the query tower and the
// vocabularies. bundles/FORMAT.md is the byte-level specification.
//
// Decode validates in the order bundles/FORMAT.md §6 gives and returns a
// *FormatError for corrupt input and an *UnsupportedError for a valid bundle
// of a major version this package does not read. No input makes it panic or
// allocate more than the sizes the section table declares and bounds.
package bundle

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/edgerec/edgerec/core/ann"
	"github.com/edgerec/edgerec/core/feature"
	"github.com/edgerec/edgerec/core/quant"
	"github.com/edgerec/edgerec/core/rank"
	"github.com/edgerec/edgerec/core/tower"
	"github.com/edgerec/edgerec/core/wire"
)

// FormatName is the Manifest.Format of every bundle.
const FormatName = "edgerec-bundle"

// Limits (FORMAT.md §5).
const (
	// MaxItems bounds a bundle's catalog.
	MaxItems = 1 << 26
	// maxListsPerItem bounds, per item, the length of any list in VOCB and
	// ITEM (e.g. an item's categories and regions together).
	maxListsPerItem = 16
	// maxWeights bounds any list in QTWR and RANK.
	maxWeights = 1 << 24
	// maxNeighbours bounds, per item, the length of any list in PIPE.
	maxNeighbours = 64
)

// FormatError reports a corrupt bundle. Typically this indicates a truncated
// download or a damaged file; rebuild or re-fetch the bundle.
type FormatError struct {
	Section string // four-letter tag, or "" for the header and table
	Reason  string
}

func (e *FormatError) Error() string {
	if e.Section == "" {
		return "bundle: corrupt: " + e.Reason
	}
	return "bundle: corrupt section " + e.Section + ": " + e.Reason
}

func formatErr(section, format string, args ...any) error {
	return &FormatError{Section: section, Reason: fmt.Sprintf(format, args...)}
}

// UnsupportedError reports a well-formed bundle of a major version this
// reader does not understand.
type UnsupportedError struct {
	Major, Minor uint16
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("bundle: format version %d.%d is not supported (this reader reads %d.x to %d.x); rebuild the bundle with a matching edgerec", e.Major, e.Minor, OldestMajor, Major)
}

// Manifest describes a bundle (section MANI, FORMAT.md §5.1). Its JSON
// keys are the section's (bundle inspect --json prints it).
type Manifest struct {
	Format       string `msgpack:"format" json:"format"`             // always FormatName
	Version      string `msgpack:"version" json:"version"`           // the bundle's version label
	Created      int64  `msgpack:"created" json:"created"`           // Unix seconds
	Items        int    `msgpack:"items" json:"items"`               // rows in ITEM, EMBD and HIST
	Dim          int    `msgpack:"dim" json:"dim"`                   // item and query embedding width
	HistoryDim   int    `msgpack:"history_dim" json:"history_dim"`   // width of the HIST rows
	Quantization string `msgpack:"quantization" json:"quantization"` // "int8"
	Model        Model  `msgpack:"model" json:"model"`               // what trained the towers
	Metric       string `msgpack:"metric" json:"metric"`             // "dot" on unit vectors
	Builder      string `msgpack:"builder" json:"builder"`           // tool and version that built it
}

// Model describes the trained towers a bundle was built from.
type Model struct {
	Name        string  `msgpack:"name" json:"name"`
	TrainedAt   int64   `msgpack:"trained_at" json:"trained_at"`
	Temperature float32 `msgpack:"temperature" json:"temperature"`
	Data        string  `msgpack:"data" json:"data"` // dataset the model was trained on
	// PopPrior orders the two-tower source by score + PopPrior·ln(1 +
	// the item's training interactions), the items' popularity column,
	// instead of by score alone: a prior the trainer chose on its
	// validation split (0, none; absent in bundles written before it).
	// The candidates keep their scores; only which are fetched, and in
	// what order, changes.
	PopPrior float32 `msgpack:"pop_prior,omitempty" json:"pop_prior"`
}

// Vocab holds the vocabularies of the item metadata (section VOCB,
// FORMAT.md §5.2). The query tower carries its own.
type Vocab struct {
	Categories feature.Vocab `msgpack:"categories"`
	// Licensing names the regions items are licensed in (Items.Regions).
	Licensing feature.Vocab `msgpack:"licensing"`
}

// Items holds the catalog as columns, one row per item (FORMAT.md §8.2).
// Lists are flattened: item i's categories are
// Categories[CategoryOffsets[i]:CategoryOffsets[i+1]], likewise regions;
// nil offsets imply the list (a decoded bundle that left them out): no
// item has one when the values are empty, and item i has value i when
// there is one per item. Titles are empty when no item has one. A
// decoded bundle's columns alias its bytes.
type Items struct {
	IDs             Strings
	Titles          Strings  // Len 0 (no titles) or items; Title reads it
	CategoryOffsets []uint32 // len = items + 1, or nil (implied)
	Categories      []int32  // indices into Vocab.Categories
	Released        []int64  // Unix seconds, 0 unknown
	Available       []bool
	AgeRating       []uint8   // minimum age
	RegionOffsets   []uint32  // len = items + 1, or nil (implied)
	Regions         []int32   // indices into Vocab.Licensing; none = everywhere
	Popularity      []float32 // log(1 + training interactions)
	Recent          []float32 // log(1 + interactions in the 30 days before the build)
	Known           []bool    // the model saw the item in training

	// index finds rows by id; Decode sets it (Encode writes its own).
	index IDIndex
}

// Len returns the number of items.
func (it *Items) Len() int { return it.IDs.Len() }

// Lookup returns the row of an item id in a decoded bundle.
func (it *Items) Lookup(id string) (int32, bool) { return it.index.Lookup(it.IDs, id) }

// CategoriesOf returns item i's category indices.
func (it *Items) CategoriesOf(i int) []int32 { return listOf(it.CategoryOffsets, it.Categories, i) }

// RegionsOf returns item i's licensed region indices (empty = everywhere).
func (it *Items) RegionsOf(i int) []int32 { return listOf(it.RegionOffsets, it.Regions, i) }

// Title returns item i's title ("" in a bundle without titles).
func (it *Items) Title(i int) string {
	if it.Titles.Len() == 0 {
		return ""
	}
	return it.Titles.At(i)
}

// listOf returns item i's entries of a flattened list whose offsets may
// be implied (Items).
func listOf(offsets []uint32, values []int32, i int) []int32 {
	switch {
	case offsets != nil:
		return values[offsets[i]:offsets[i+1]]
	case len(values) == 0:
		return nil
	}
	return values[i : i+1 : i+1]
}

// impliedLen reports whether a list of count entries over n items can go
// without offsets: none, or one an item (FORMAT.md §8.2).
func impliedLen(count, n int) bool { return count == 0 || count == n }

// implied reports whether a list's offsets follow from its values alone:
// no item has an entry, or item i has exactly entry i.
func implied(offsets []uint32, n int) bool {
	if offsets == nil {
		return true
	}
	if len(offsets) != n+1 {
		return false
	}
	none, one := true, true
	for i := 1; i <= n; i++ {
		none = none && offsets[i] == 0
		one = one && offsets[i] == uint32(i)
	}
	return none || one
}

// catalogLayout is what Encode leaves out of a bundle's catalog (format 4,
// §8.1–§8.2), decided once for the sections and the version.
type catalogLayout struct {
	impliedCategories, impliedRegions, noTitles bool
}

// lean reports whether the layout leaves anything out (MajorLean).
func (l catalogLayout) lean() bool { return l.impliedCategories || l.impliedRegions || l.noTitles }

// layout returns what Encode leaves out of it.
func (it *Items) layout() catalogLayout {
	n := it.Len()
	return catalogLayout{implied(it.CategoryOffsets, n), implied(it.RegionOffsets, n), !it.hasTitles()}
}

// hasTitles reports whether some item has a title.
func (it *Items) hasTitles() bool {
	for i := range it.Titles.Len() {
		if it.Titles.At(i) != "" {
			return true
		}
	}
	return false
}

// Bundle is a bundle's decoded content.
type Bundle struct {
	// Format is the format version read, "major.minor" (set by Decode;
	// Encode chooses the version it writes from the content).
	Format   string
	Manifest Manifest
	Vocab    Vocab
	Items    Items
	// Embeddings holds the item tower's output per item (section EMBD);
	// nil in a compact bundle, which holds Codes instead.
	Embeddings *quant.Int8
	// Codes holds the compact mode's codes of the item tower's output
	// (section IVPQ, compact.go); nil in a full bundle.
	Codes *ann.IVFPQ
	// History holds the item-id embedding per item that the query tower
	// pools over a user's history (section HIST); nil in a compact bundle
	// that holds HistoryCodes instead. HistoryRows returns whichever.
	History *quant.Int8
	// HistoryCodes holds the history rows as product-quantization codes
	// (section HIPQ, compact.go): in compact bundles since format 2.1, in
	// any since 3.0.
	HistoryCodes *quant.PQRows
	// Query is the query tower (section QTWR).
	Query tower.Query
	// Ranker re-scores retrieved candidates (optional section RANK); nil
	// ranks by retrieval score.
	Ranker *rank.Model
	// Pipeline holds the other candidate sources' data, the business
	// rules and the experiment arms (optional section PIPE); nil serves
	// with retrieval alone and DefaultParams.
	Pipeline *Pipeline
	// Index is an approximate-search index over Embeddings (optional
	// section INDX, index.go); nil searches exactly. A compact bundle has
	// none: its codes are their own index.
	Index *Index
	// Orders are the catalog's orders the sources walk, set by Decode
	// (Encode computes them from Items).
	Orders Orders
}

// Encode writes b in the newest layout that holds it (FORMAT.md §7):
// MajorLean.Minor when its catalog implies some of its columns (lists of
// none or one entry an item, no titles), which it then leaves out; else
// MajorPacked.MinorPrior with a popularity prior, else MajorPacked.Minor.
// The output depends only on b: the id table and the orders are computed
// from b.Items.
func Encode(b *Bundle) ([]byte, error) { return EncodeMax(b, Major) }

// EncodeMax is Encode writing no newer major than maxMajor: with
// MajorPacked, a bundle for modules that read format 3 (a rolling
// deployment), every column stored even where format 4 would leave it
// out. maxMajor must be MajorPacked or newer.
func EncodeMax(b *Bundle, maxMajor uint16) ([]byte, error) {
	if maxMajor < MajorPacked || maxMajor > Major {
		return nil, fmt.Errorf("bundle: cannot write format %d (this writer writes %d to %d)", maxMajor, MajorPacked, Major)
	}
	if err := b.validate(); err != nil {
		return nil, fmt.Errorf("bundle: refusing to write an invalid bundle: %w", err)
	}
	ids := newIDIndex(b.Items.IDs)
	if err := ids.check(b.Items.IDs); err != nil {
		return nil, fmt.Errorf("bundle: refusing to write an invalid bundle: %w", formatErr(TagIDs, "%v", err))
	}
	lay := b.Items.layout()
	if maxMajor < MajorLean {
		lay = catalogLayout{}
	}
	sections, err := encodeV2(b, ids, lay)
	if err != nil {
		return nil, err
	}
	// Every section is stored raw, the small msgpack ones too: the module
	// has no zstd decoder (zstd.go), and what travels is compressed by
	// the transport (edgerec serve's /v1/bundle/file).
	major, minor := uint16(MajorPacked), uint16(Minor)
	switch {
	case lay.lean():
		major = MajorLean
	case b.Manifest.Model.PopPrior != 0:
		minor = MinorPrior
	}
	return encodeContainer(major, minor, sections, nil)
}

// Decode validates data and returns its content: a bundle of format 2,
// whose raw sections it uses in place, or of format 1, which it decodes.
// The content aliases data: the caller must not modify data afterwards.
func Decode(data []byte) (*Bundle, error) { return decode(data, true) }

// DecodeVerified reads bytes that Decode has accepted — in this process,
// or natively in the host that hands them to the module — doing only what
// keeps every read within the bytes: the header, the table, every length
// and offset of §8. It skips the checksums and the content checks (ids
// unique, lists in range, values finite), which are Decode's and which
// cost a pass over the whole bundle: a bundle checked once natively loads
// into every instance of a pool at the cost of a copy. Given bytes Decode
// refuses, it may accept them; what it returns then may answer wrongly or
// panic on a request, but never reads outside data.
func DecodeVerified(data []byte) (*Bundle, error) { return decode(data, false) }

func decode(data []byte, verify bool) (*Bundle, error) {
	h, err := ReadHeader(data)
	if err != nil {
		return nil, err
	}
	known := knownFor(h.Major)
	h, sections, err := decodeContainer(data, known, verify)
	if err != nil {
		return nil, err
	}
	byTag := make(map[string][]byte, len(sections))
	for _, s := range sections {
		byTag[s.Tag] = s.Data
	}
	for _, tag := range []string{TagManifest, TagVocab, TagQuery} {
		if _, ok := byTag[tag]; !ok {
			return nil, formatErr(tag, "required section missing (bundle has %v)", sortedTags(sections))
		}
	}
	b := &Bundle{Format: fmt.Sprintf("%d.%d", h.Major, h.Minor)}
	if err := wire.UnmarshalLimit(byTag[TagManifest], &b.Manifest, 64); err != nil {
		return nil, formatErr(TagManifest, "%v", err)
	}
	m := &b.Manifest
	if m.Format != FormatName {
		return nil, formatErr(TagManifest, "format %q, want %q", m.Format, FormatName)
	}
	if m.Items < 0 || m.Items > MaxItems || m.Dim <= 0 || m.Dim > 4096 || m.HistoryDim <= 0 || m.HistoryDim > 4096 {
		return nil, formatErr(TagManifest, "items %d, dim %d, history dim %d out of range", m.Items, m.Dim, m.HistoryDim)
	}
	// The quantization names the embeddings' section (compact.go); the
	// other one must be absent, so that a bundle has one reading.
	embeddings, other := TagEmbeddings, TagCompact
	switch {
	case m.Quantization == QuantIVFPQ && (h.Major > 2 || h.Major == 2 && h.Minor >= MinorCompact):
		embeddings, other = TagCompact, TagEmbeddings
	case m.Quantization != QuantInt8:
		return nil, &FormatError{Section: TagManifest, Reason: fmt.Sprintf("quantization %q is not supported", m.Quantization)}
	}
	if _, ok := byTag[embeddings]; !ok {
		return nil, formatErr(embeddings, "required section missing for quantization %q (bundle has %v)", m.Quantization, sortedTags(sections))
	}
	if _, ok := byTag[other]; ok {
		return nil, formatErr(other, "section present in a bundle of quantization %q", m.Quantization)
	}
	if m.Quantization == QuantIVFPQ {
		if _, ok := byTag[TagIndex]; ok {
			return nil, formatErr(TagIndex, "an IVF index in a compact bundle, whose codes are their own index")
		}
		if b.Codes, err = decodeCompact(byTag[TagCompact], m.Items, m.Dim); err != nil {
			return nil, err
		}
	} else if b.Embeddings, err = decodeInt8(TagEmbeddings, byTag[TagEmbeddings], m.Items, m.Dim, verify); err != nil {
		return nil, err
	}
	// The history rows: HIST's int8 rows or their codes (HIPQ), never
	// both; format 2 has codes in compact bundles only.
	_, hist := byTag[TagHistory]
	_, hcodes := byTag[TagHistoryCodes]
	switch {
	case hist && hcodes:
		return nil, formatErr(TagHistoryCodes, "section present beside %s", TagHistory)
	case hcodes && m.Quantization != QuantIVFPQ && h.Major < 3:
		return nil, formatErr(TagHistoryCodes, "section present in a format %d bundle of quantization %q", h.Major, m.Quantization)
	case hcodes:
		if b.HistoryCodes, err = decodeHistoryCodes(byTag[TagHistoryCodes], m.Items, m.HistoryDim); err != nil {
			return nil, err
		}
	case !hist:
		return nil, formatErr(TagHistory, "required section missing (bundle has %v)", sortedTags(sections))
	default:
		if b.History, err = decodeInt8(TagHistory, byTag[TagHistory], m.Items, m.HistoryDim, verify); err != nil {
			return nil, err
		}
	}
	// Section INDX (index.go); an index of an unknown kind decodes to nil.
	if data, ok := byTag[TagIndex]; ok {
		if b.Index, err = decodeIndex(data, m.Items, m.Dim); err != nil {
			return nil, err
		}
	}
	// Vocabularies scale with the catalog; bounding their lists before
	// decoding bounds what a hostile section can make us build.
	if err := wire.UnmarshalLimit(byTag[TagVocab], &b.Vocab, maxListsPerItem*(m.Items+1)+1<<16); err != nil {
		return nil, formatErr(TagVocab, "%v", err)
	}
	if h.Major == 1 {
		err = decodeV1(b, byTag)
	} else {
		err = decodeV2(b, h.Major, byTag)
	}
	if err != nil {
		return nil, err
	}
	if !verify {
		return b, nil
	}
	if err := b.validate(); err != nil {
		return nil, err
	}
	if err := b.Items.index.check(b.Items.IDs); err != nil {
		return nil, formatErr(TagIDIndex, "%v", err)
	}
	if err := b.Orders.check(m.Items); err != nil {
		return nil, formatErr(TagOrders, "%v", err)
	}
	return b, nil
}

// validate checks the semantic consistency of the content.
func (b *Bundle) validate() error {
	m := &b.Manifest
	n := m.Items
	if p := m.Model.PopPrior; !(p >= 0 && p <= 1) {
		return formatErr(TagManifest, "popularity prior %v out of [0, 1]", p)
	}
	if err := b.validateEmbeddings(); err != nil {
		return err
	}
	it := &b.Items
	if it.IDs.Len() != n || it.Titles.Len() != n && it.Titles.Len() != 0 || len(it.Released) != n || len(it.Available) != n || len(it.AgeRating) != n ||
		len(it.Popularity) != n || len(it.Recent) != n || len(it.Known) != n {
		return formatErr(TagColumns, "columns disagree with the manifest's %d items", n)
	}
	if err := checkLists(it.CategoryOffsets, it.Categories, n, b.Vocab.Categories.Size()); err != nil {
		return formatErr(TagColumns, "categories: %v", err)
	}
	if err := checkLists(it.RegionOffsets, it.Regions, n, b.Vocab.Licensing.Size()); err != nil {
		return formatErr(TagColumns, "regions: %v", err)
	}
	q := &b.Query
	if err := q.Validate(); err != nil {
		return formatErr(TagQuery, "%v", err)
	}
	if q.Dim() != m.Dim || q.HistoryDim != m.HistoryDim {
		return formatErr(TagQuery, "query tower gives %d-dim embeddings over %d-dim history rows, manifest says %d and %d",
			q.Dim(), q.HistoryDim, m.Dim, m.HistoryDim)
	}
	for i := range it.Popularity {
		if !finite(it.Popularity[i]) || !finite(it.Recent[i]) {
			return formatErr(TagColumns, "item %d has popularity %v, recent %v", i, it.Popularity[i], it.Recent[i])
		}
	}
	if b.Ranker != nil {
		if err := b.Ranker.Validate(); err != nil {
			return formatErr(TagRanker, "%v", err)
		}
	}
	if err := b.checkFinite(); err != nil {
		return err
	}
	if b.Pipeline != nil {
		if err := b.Pipeline.validate(n); err != nil {
			if _, ok := err.(*FormatError); ok {
				return err
			}
			return formatErr(TagPipeline, "%v", err)
		}
	}
	// Section INDX (index.go).
	if b.Index != nil {
		if err := b.Index.validate(n, m.Dim); err != nil {
			return err
		}
	}
	return nil
}

// validateEmbeddings checks that the embeddings are those the manifest's
// quantization names, of its shape, and the history rows likewise.
func (b *Bundle) validateEmbeddings() error {
	m := &b.Manifest
	n := m.Items
	switch h := b.HistoryCodes; {
	case h != nil && b.History != nil:
		return formatErr(TagHistoryCodes, "history codes beside int8 rows")
	case h != nil:
		if err := h.Validate(); err != nil {
			return formatErr(TagHistoryCodes, "%v", err)
		}
		if h.Len() != n || h.Width() != m.HistoryDim {
			return formatErr(TagManifest, "manifest declares %d×%d history rows, section holds %d×%d", n, m.HistoryDim, h.Len(), h.Width())
		}
	case b.History == nil:
		return formatErr(TagHistory, "history rows missing")
	default:
		if err := b.History.Validate(); err != nil {
			return formatErr(TagHistory, "%v", err)
		}
		if b.History.Rows != n || b.History.Dim != m.HistoryDim {
			return formatErr(TagManifest, "manifest declares %d×%d history rows, section holds %d×%d", n, m.HistoryDim, b.History.Rows, b.History.Dim)
		}
	}
	switch m.Quantization {
	case QuantIVFPQ:
		if b.Codes == nil || b.Embeddings != nil || b.Index != nil {
			return formatErr(TagCompact, "a compact bundle holds codes and neither int8 rows nor an IVF index")
		}
		if err := b.Codes.Validate(); err != nil {
			return formatErr(TagCompact, "%v", err)
		}
		if b.Codes.Rows() != n || b.Codes.PQ.Dim != m.Dim {
			return formatErr(TagCompact, "codes of %d rows of dimension %d for %d items of dimension %d", b.Codes.Rows(), b.Codes.PQ.Dim, n, m.Dim)
		}
	case QuantInt8:
		if b.Embeddings == nil || b.Codes != nil {
			return formatErr(TagEmbeddings, "a full bundle holds int8 rows and no codes")
		}
		if err := b.Embeddings.Validate(); err != nil {
			return formatErr(TagEmbeddings, "%v", err)
		}
		if b.Embeddings.Rows != n || b.Embeddings.Dim != m.Dim {
			return formatErr(TagManifest, "manifest declares %d×%d embeddings, section holds %d×%d", n, m.Dim, b.Embeddings.Rows, b.Embeddings.Dim)
		}
	default:
		return formatErr(TagManifest, "quantization %q is not supported", m.Quantization)
	}
	return nil
}

func finite(x float32) bool { return !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0) }

// checkLists validates a flattened list column: n+1 non-decreasing offsets
// from 0 to len(values), every value in [0, vocab).
func checkLists(offsets []uint32, values []int32, n, vocab int) error {
	if offsets == nil && !impliedLen(len(values), n) { // implied (Items)
		return fmt.Errorf("%d values for %d items without offsets (want none or one each)", len(values), n)
	}
	if offsets != nil && len(offsets) != n+1 {
		return fmt.Errorf("%d offsets for %d items", len(offsets), n)
	}
	if offsets != nil && (offsets[0] != 0 || int(offsets[n]) != len(values)) {
		return fmt.Errorf("offsets span %d..%d, values hold %d", offsets[0], offsets[n], len(values))
	}
	for i := 1; i <= n && offsets != nil; i++ {
		if offsets[i] < offsets[i-1] {
			return fmt.Errorf("offsets decrease at item %d", i-1)
		}
	}
	for i, v := range values {
		if v < 0 || int(v) >= vocab {
			return fmt.Errorf("value %d at %d outside the vocabulary of %d", v, i, vocab)
		}
	}
	return nil
}

// encodeInt8 lays out an int8 matrix (FORMAT.md §5.4): Rows·Dim codes,
// zero padding to a multiple of 4, then Rows little-endian float32 scales.
func encodeInt8(m *quant.Int8) []byte {
	codes := m.Rows * m.Dim
	padded := (codes + 3) &^ 3
	out := make([]byte, padded+4*m.Rows)
	for i, c := range m.Codes {
		out[i] = byte(c)
	}
	for i, s := range m.Scales {
		binary.LittleEndian.PutUint32(out[padded+4*i:], math.Float32bits(s))
	}
	return out
}
