package pipeline

import "github.com/edgerec/edgerec/core/api"

// Catalog returns the page of the bundle's catalog that req asks for, which
// must be valid (api.CatalogRequest.Validate). Category and region indices
// are resolved to names.
func (r *Recommender) Catalog(req *api.CatalogRequest) *api.CatalogPage {
	b := r.b
	it := &b.Items
	n := it.Len()
	limit := req.Limit
	if limit == 0 {
		limit = api.DefaultCatalogPage
	}
	lo := min(max(req.Offset, 0), n)
	hi := lo + min(limit, n-lo)
	p := &api.CatalogPage{
		BundleVersion: b.Manifest.Version,
		Total:         n,
		Offset:        lo,
		Items:         make([]api.CatalogItem, 0, hi-lo),
		Categories:    append([]string{}, b.Vocab.Categories.Values...),
		Fields:        make(map[string][]string, len(b.Query.Fields)),
	}
	for i := range b.Query.Fields {
		f := &b.Query.Fields[i]
		p.Fields[f.Name] = append([]string{}, f.Vocab.Values...)
	}
	names := func(idx []int32, vocab []string) []string {
		out := make([]string, 0, len(idx))
		for _, c := range idx {
			// Index 0 is feature.Unknown; index i names vocab[i-1].
			if c >= 1 && int(c) <= len(vocab) {
				out = append(out, vocab[c-1])
			}
		}
		return out
	}
	for i := lo; i < hi; i++ {
		p.Items = append(p.Items, api.CatalogItem{
			ID:         it.IDs.At(i),
			Title:      it.Title(i),
			Categories: names(it.CategoriesOf(i), b.Vocab.Categories.Values),
			Released:   it.Released[i],
			Regions:    names(it.RegionsOf(i), b.Vocab.Licensing.Values),
			Available:  it.Available[i],
			AgeRating:  int(it.AgeRating[i]),
			Popularity: it.Popularity[i],
		})
	}
	return p
}
