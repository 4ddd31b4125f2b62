package pipeline

import (
	"github.com/edgerec/edgerec/core/ann"
	"github.com/edgerec/edgerec/core/quant"
)

// Every stage but retrieval reads item embeddings one row at a time: the
// score of a candidate another source proposed, the similarity to the
// seed, MMR's item-to-item similarities. A full bundle has the int8 rows
// and scores them with the word kernel; a compact bundle has only codes
// (bundle.Bundle.Codes), which score a row against a vector with the
// search's tables (ann.RowScorer: a list look-up and M table reads) and
// are decoded where a row itself is needed (MMR).

// rowScorer scores single rows against one vector.
type rowScorer struct {
	rows  *quant.Int8  // the int8 rows, or nil in a compact bundle
	query *quant.Query // the vector for rows
	codes *ann.RowScorer
}

// scorer returns a rowScorer of the query embedding emb.
func (r *Recommender) scorer(emb []float32) *rowScorer {
	if e := r.b.Embeddings; e != nil {
		return &rowScorer{rows: e, query: quant.NewQuery(emb)}
	}
	return &rowScorer{codes: r.b.Codes.Scorer(emb)}
}

// rowScorer returns a rowScorer of item row's embedding: the
// similarity of other items to it.
func (r *Recommender) rowScorer(row int) *rowScorer {
	if e := r.b.Embeddings; e != nil {
		return &rowScorer{rows: e, query: e.RowQuery(row)}
	}
	x := make([]float32, r.b.Manifest.Dim)
	r.b.Vector(x, row)
	return &rowScorer{codes: r.b.Codes.Scorer(x)}
}

// score returns row's inner product with the scorer's vector.
func (s *rowScorer) score(row int) float32 {
	if s.rows != nil {
		var one [1]float32
		s.rows.Scores(one[:], s.query, row)
		return one[0]
	}
	return s.codes.Score(row)
}

// rowQuery returns item row's embedding as a query of the int8 kernels.
func (r *Recommender) rowQuery(row int) *quant.Query {
	if e := r.b.Embeddings; e != nil {
		return e.RowQuery(row)
	}
	x := make([]float32, r.b.Manifest.Dim)
	r.b.Vector(x, row)
	return quant.NewQuery(x)
}

// copyRows writes the embeddings of rows into the rows of dst, a matrix
// of the embeddings' width: the int8 rows as stored, or the
// reconstructions quantized.
func (r *Recommender) copyRows(dst *quant.Int8, rows []int32) {
	e := r.b.Embeddings
	var x []float32
	if e == nil {
		x = make([]float32, dst.Dim)
	}
	for j, row := range rows {
		if e != nil {
			copy(dst.Row(j), e.Row(int(row)))
			dst.Scales[j] = e.Scales[row]
			continue
		}
		r.b.Vector(x, int(row))
		dst.Set(j, x)
	}
}
