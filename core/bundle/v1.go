package bundle

import (
	"github.com/edgerec/edgerec/core/rank"
	"github.com/edgerec/edgerec/core/wire"
)

// Format 1 (FORMAT.md §5) carried the catalog as msgpack columns (section
// ITEM) and the neighbour lists inside PIPE. A reader of format 2 still
// reads it, decoding the columns and computing the id table and the
// orders that format 2 stores; `edgerec bundle upgrade` rewrites such a
// bundle as format 2.

// itemsV1 is section ITEM of format 1.
type itemsV1 struct {
	IDs             wire.Strings `msgpack:"ids"`
	Titles          wire.Strings `msgpack:"titles"`
	CategoryOffsets []uint32     `msgpack:"category_offsets"`
	Categories      []int32      `msgpack:"categories"`
	Released        []int64      `msgpack:"released"`
	Available       []bool       `msgpack:"available"`
	AgeRating       []uint8      `msgpack:"age_rating"`
	RegionOffsets   []uint32     `msgpack:"region_offsets"`
	Regions         []int32      `msgpack:"regions"`
	Popularity      []float32    `msgpack:"popularity"`
	Recent          []float32    `msgpack:"recent"`
	Known           []bool       `msgpack:"known"`
}

// knownV1 reports whether Decode reads a section of format 1: the
// sections of §5 but SIGN, which host/sign checks.
func knownV1(tag string) bool {
	switch tag {
	case TagManifest, TagVocab, TagItems, TagEmbeddings, TagHistory, TagQuery, TagRanker, TagPipeline, TagIndex:
		return true
	}
	return false
}

// pipelineWire is section PIPE as a reader decodes it: the Pipeline's
// keys and the neighbour lists that format 1 holds there (§5.8) and later
// formats must not, in one pass over the section.
type pipelineWire struct {
	Pipeline
	Covisit Neighbours `msgpack:"covisit"`
	Slim    Neighbours `msgpack:"slim"`
}

// decodePipeline decodes section PIPE, its lists bounded by limit.
func decodePipeline(data []byte, limit int) (*pipelineWire, error) {
	w := &pipelineWire{}
	if err := wire.UnmarshalLimit(data, w, limit); err != nil {
		return nil, formatErr(TagPipeline, "%v", err)
	}
	return w, nil
}

// decodeV1 reads the sections of a format-1 bundle into b, whose
// manifest, vocabularies and matrices are read already.
func decodeV1(b *Bundle, byTag map[string][]byte) error {
	data, ok := byTag[TagItems]
	if !ok {
		return formatErr(TagItems, "required section missing")
	}
	n := b.Manifest.Items
	// Lists in the catalog sections scale with the item count; bounding
	// them before decoding bounds what a hostile section can make us build.
	var v itemsV1
	if err := wire.UnmarshalLimit(data, &v, maxListsPerItem*(n+1)+1<<16); err != nil {
		return formatErr(TagItems, "%v", err)
	}
	if len(v.IDs) != n || len(v.Titles) != n {
		return formatErr(TagItems, "%d ids and %d titles for %d items", len(v.IDs), len(v.Titles), n)
	}
	if v.CategoryOffsets == nil || v.RegionOffsets == nil {
		// Implied lists are format 4's (§8.2); format 1 stores every offset.
		return formatErr(TagItems, "category or region offsets missing")
	}
	b.Items = Items{
		IDs: NewStrings(v.IDs), Titles: NewStrings(v.Titles),
		CategoryOffsets: v.CategoryOffsets, Categories: v.Categories, Released: v.Released,
		Available: v.Available, AgeRating: v.AgeRating, RegionOffsets: v.RegionOffsets,
		Regions: v.Regions, Popularity: v.Popularity, Recent: v.Recent, Known: v.Known,
	}
	if err := wire.UnmarshalLimit(byTag[TagQuery], &b.Query, maxWeights); err != nil {
		return formatErr(TagQuery, "%v", err)
	}
	if data, ok := byTag[TagPipeline]; ok {
		w, err := decodePipeline(data, maxNeighbours*(n+1)+1<<16)
		if err != nil {
			return err
		}
		for _, l := range []struct {
			from *Neighbours
			to   *PackedNeighbours
		}{{&w.Covisit, &w.Pipeline.Covisit}, {&w.Slim, &w.Pipeline.Slim}} {
			if *l.to, err = Pack(l.from, n); err != nil {
				return formatErr(TagPipeline, "%v", err)
			}
		}
		b.Pipeline = &w.Pipeline
	}
	if data, ok := byTag[TagRanker]; ok {
		b.Ranker = &rank.Model{}
		if err := wire.UnmarshalLimit(data, b.Ranker, maxWeights); err != nil {
			return formatErr(TagRanker, "%v", err)
		}
	}
	// What format 2 stores, computed (Decode validates it all after).
	b.Items.index = newIDIndex(b.Items.IDs)
	b.Orders = newOrders(&b.Items)
	return nil
}
