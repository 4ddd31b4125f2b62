// Package anntest gives the tests and benchmarks of retrieval their
// synthetic catalogs: item embeddings with the structure of trained ones
// and users' queries, as tools/benchdata generates them (see its package
// doc for the model). The generator lives there, outside the test
// fixtures, because `edgerec bench` measures with it too; this package
// keeps the names the tests use.
package anntest

import "github.com/edgerec/edgerec/tools/benchdata"

// Genres is the number of top-level clusters.
const Genres = benchdata.Genres

// Catalog is a synthetic catalog's embeddings (benchdata.Catalog).
type Catalog = benchdata.Catalog

// Clustered returns a catalog of n items with dim-wide embeddings and a
// history projection of width hist (≤ dim), drawn from seed
// (benchdata.Clustered).
func Clustered(n, dim, hist int, seed uint64) *Catalog {
	return benchdata.Clustered(n, dim, hist, seed)
}

// Recall returns |got ∩ want| / |want|: the share of the true neighbours
// that a search found (benchdata.Recall).
func Recall(got, want []int32) float64 { return benchdata.Recall(got, want) }
