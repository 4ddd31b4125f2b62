package builder

import (
	"fmt"
	"runtime"

	"github.com/edgerec/edgerec/core/ann"
	"github.com/edgerec/edgerec/core/bundle"
)

// IndexOptions configure the approximate-search index (bundle section
// INDX, bundles/FORMAT.md §5.7) that Build adds to large catalogs. The
// zero value indexes catalogs of DefaultIndexMinItems items or more.
type IndexOptions struct {
	// MinItems is the smallest catalog that gets an index; 0 means
	// DefaultIndexMinItems, a negative value never indexes. Smaller
	// catalogs are searched exactly, which is fast enough for them.
	MinItems int
	// Lists is the number of inverted lists; 0 means ann.DefaultLists.
	Lists int
	// Target is the recall@100 against an exact scan that the default
	// nprobe must reach on sample queries; 0 means DefaultIndexTarget.
	Target float64
	// Seed picks the k-means sample, the initial centroids and the sample
	// queries.
	Seed uint64
	// Workers is the number of goroutines for clustering and tuning; 0
	// means GOMAXPROCS. The bundle does not depend on it.
	Workers int
	// Progress, if not nil, is called with a stage ("kmeans", "assign",
	// "tune") and the work done and total in that stage.
	Progress func(stage string, done, total int)
	// Queries, if not nil, returns sample query embeddings for the bundle
	// with its rows in index order (Build: UserQueries of the data set's
	// users). The default nprobe is tuned on them when they number at least
	// MinTuneUsers, else on synthetic queries (ann.TuneNProbe).
	Queries func(b *bundle.Bundle) [][]float32
}

// MinTuneUsers is the fewest real users' queries the index is tuned on.
const MinTuneUsers = 20

// Defaults of IndexOptions.
const (
	// DefaultIndexMinItems: below it an exact scan of the module takes
	// under a millisecond (RATIONALE.md, "Retrieval at scale").
	DefaultIndexMinItems = 20_000
	// DefaultIndexTarget is the recall@100 against the exact int8 scan the
	// default nprobe is tuned for (ann.DefaultTarget).
	DefaultIndexTarget = ann.DefaultTarget
)

// Index partitions the items of b into inverted lists (ann.TrainIVF),
// reorders every per-item column of b so that each list is a run of rows,
// tunes the default nprobe (ann.TuneNProbe) and sets b.Index. Catalogs
// below opts.MinItems are left alone.
//
// Build calls it right after embedding the items. It refuses a bundle
// whose other sections already refer to rows (Pipeline), since it changes
// them.
func Index(b *bundle.Bundle, opts IndexOptions) error {
	n := b.Embeddings.Rows
	minItems := opts.MinItems
	if minItems == 0 {
		minItems = DefaultIndexMinItems
	}
	if minItems < 0 || n < minItems {
		return nil
	}
	if b.Pipeline != nil {
		return fmt.Errorf("builder: the index reorders rows, so it must be built before the candidate sources' data")
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	p, err := ann.TrainIVF(b.Embeddings, ann.IVFOptions{Lists: opts.Lists,
		KMeans: ann.KMeansOptions{Seed: opts.Seed, Workers: opts.Workers}, Progress: opts.Progress})
	if err != nil {
		return fmt.Errorf("builder: index: %w", err)
	}
	if err := permute(b, p.Perm); err != nil {
		return err
	}
	x := &bundle.Index{Offsets: p.Offsets, Centroids: p.Centroids, NProbe: 1}
	ivf := x.IVF(b.Embeddings)
	if opts.Progress != nil {
		opts.Progress("tune", 0, 1)
	}
	target := opts.Target
	if target <= 0 {
		target = DefaultIndexTarget
	}
	tune := ann.TuneOptions{Target: target, Seed: opts.Seed + 1, Workers: opts.Workers}
	if opts.Queries != nil {
		if q := opts.Queries(b); len(q) >= MinTuneUsers {
			tune.Samples = q
		}
	}
	np, recall := ann.TuneNProbe(ivf, tune)
	if opts.Progress != nil {
		opts.Progress("tune", 1, 1)
	}
	x.NProbe, x.Recall = np, float32(recall)
	b.Index = x
	return nil
}

// permute reorders every per-item column of b: new row r is old row
// perm[r]. TestPermuteCoversItems holds it to every column of bundle.Items.
func permute(b *bundle.Bundle, perm []int32) error {
	n := len(perm)
	it := &b.Items
	if it.Len() != n || b.Embeddings.Rows != n || b.History.Rows != n {
		return fmt.Errorf("builder: permutation of %d rows for %d items", n, it.Len())
	}
	b.Embeddings = ann.Permute(b.Embeddings, perm)
	b.History = ann.Permute(b.History, perm)
	it.IDs = bundle.NewStrings(gather(it.IDs.Slice(), perm))
	if it.Titles.Len() != 0 { // a decoded bundle may hold none
		it.Titles = bundle.NewStrings(gather(it.Titles.Slice(), perm))
	}
	it.Released = gather(it.Released, perm)
	it.Available = gather(it.Available, perm)
	it.AgeRating = gather(it.AgeRating, perm)
	it.Popularity = gather(it.Popularity, perm)
	it.Recent = gather(it.Recent, perm)
	it.Known = gather(it.Known, perm)
	it.CategoryOffsets, it.Categories = gatherLists(it.CategoriesOf, perm)
	it.RegionOffsets, it.Regions = gatherLists(it.RegionsOf, perm)
	return nil
}

// gather returns x[perm[0]], x[perm[1]], ….
func gather[T any](x []T, perm []int32) []T {
	out := make([]T, len(perm))
	for r, old := range perm {
		out[r] = x[old]
	}
	return out
}

// gatherLists returns the flattened lists list(perm[0]), list(perm[1]),
// … with their offsets (explicit: the bundle's writer leaves out what
// they imply).
func gatherLists(list func(int) []int32, perm []int32) ([]uint32, []int32) {
	off := make([]uint32, 1, len(perm)+1)
	var out []int32
	for _, old := range perm {
		out = append(out, list(int(old))...)
		off = append(off, uint32(len(out)))
	}
	return off, out
}
