package builder

import (
	"fmt"
	"runtime"

	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/quant"
	"github.com/edgerec/edgerec/tools/compact"
)

// CompactOptions configure a compact bundle (bundle build --compact;
// bundles/FORMAT.md §8.7): the item embeddings stored as IVFPQ codes
// (tools/compact) in place of int8 rows and the IVF index.
type CompactOptions struct {
	// M is the bytes of a code, the number of subspaces; 0 means 32. It
	// must divide the dimension.
	M int
	// Lists is the number of inverted lists; 0 means compact.DefaultLists.
	Lists int
	// HistoryBytes is the bytes of a history row's code (section HIPQ):
	// 0 means compact.RowsM (half the int8 row's), a negative
	// value keeps the int8 rows (HIST).
	HistoryBytes int
	// Target is the recall@100 against exact float32 search that the
	// default nprobe must reach on the sample queries; 0 means
	// DefaultCompactTarget.
	Target float64
	// Seed picks the samples and the initial centroids.
	Seed uint64
	// Workers is the number of goroutines; 0 means GOMAXPROCS. The bundle
	// does not depend on it.
	Workers int
	// Progress, if not nil, is called with a stage and the work done and
	// total in it.
	Progress func(stage string, done, total int)
	// Queries returns sample query embeddings for the bundle and, for
	// each, the rows of b its user has taken, which the module leaves out
	// of the answer (Build: UserSample of the data set's users; the rows
	// may be nil). The default nprobe is tuned on them when they number
	// at least MinTuneUsers, else on item vectors taken as queries.
	Queries func(b *bundle.Bundle) (queries [][]float32, histories [][]int32)
}

// DefaultCompactTarget is the recall@100 a compact bundle's default
// nprobe is tuned for: above the 0.9 the compact mode must keep, because
// it is tuned on sample users and judged on others.
const DefaultCompactTarget = 0.92

// CompactReport is what Compact measured.
type CompactReport struct {
	Lists, NProbe, M int
	// HistoryM is the bytes of a history row's code (0: int8 rows kept).
	HistoryM int
	// Recall is the recall@100 against exact float32 search of the
	// embeddings the codes replace, at NProbe, on the tuning queries.
	Recall float64
	// Queries is how many queries it was measured on, and Synthetic
	// whether they were item vectors rather than users' queries.
	Queries   int
	Synthetic bool
}

// Compact replaces b's int8 item rows with the compact mode's codes: it
// trains them (compact.Train) on the rows' vectors, reorders every
// per-item column of b by inverted list, as Index does, codes the history
// rows too (compact.TrainRows, unless opts.HistoryBytes < 0), tunes the
// default nprobe (compact.Tune) and sets b.Codes, dropping b.Embeddings
// and any index. Like Index it must run before anything refers to rows.
func Compact(b *bundle.Bundle, opts CompactOptions) (CompactReport, error) {
	if b.Pipeline != nil {
		return CompactReport{}, fmt.Errorf("builder: compact codes reorder rows, so they must be built before the candidate sources' data")
	}
	if b.Embeddings == nil {
		return CompactReport{}, fmt.Errorf("builder: compact: the bundle has no int8 rows to code")
	}
	d := b.Embeddings.Dim
	x := decodeRows(b.Embeddings)
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ix, perm, err := compact.Train(x, d, compact.Options{M: opts.M, Lists: opts.Lists, Seed: opts.Seed,
		Workers: workers, Progress: opts.Progress})
	if err != nil {
		return CompactReport{}, fmt.Errorf("builder: %w", err)
	}
	if err := permute(b, perm); err != nil {
		return CompactReport{}, err
	}
	rep := CompactReport{Lists: ix.Lists(), M: ix.PQ.M}
	// The history rows next, so that the tuning queries below are the
	// ones the module will compute.
	if opts.HistoryBytes >= 0 {
		if opts.Progress != nil {
			opts.Progress("history", 0, 1)
		}
		if rep.HistoryM, err = CodeHistory(b, opts.HistoryBytes, opts.Seed+1, workers); err != nil {
			return CompactReport{}, err
		}
	}
	// b is a compact bundle from here on (its nprobe tuned below).
	b.Codes, b.Embeddings, b.Index = ix, nil, nil
	b.Manifest.Quantization = bundle.QuantIVFPQ
	var queries [][]float32
	var exclude [][]int32
	if opts.Queries != nil {
		var hist [][]int32
		queries, hist = opts.Queries(b)
		// Rows of b, reordered above, as rows of x.
		for _, h := range hist {
			e := make([]int32, len(h))
			for i, r := range h {
				e[i] = perm[r]
			}
			exclude = append(exclude, e)
		}
	}
	if len(queries) < MinTuneUsers {
		queries, exclude, rep.Synthetic = itemQueries(x, d, 200, opts.Seed), nil, true
	}
	target := opts.Target
	if target <= 0 {
		target = DefaultCompactTarget
	}
	if opts.Progress != nil {
		opts.Progress("tune", 0, 1)
	}
	ix.NProbe, rep.Recall = compact.Tune(ix, perm, x, queries, exclude, 100, target)
	if opts.Progress != nil {
		opts.Progress("tune", 1, 1)
	}
	rep.NProbe, rep.Queries = ix.NProbe, len(queries)
	return rep, nil
}

// CodeHistory replaces b's int8 history rows (HIST) with product-
// quantization codes of bytes bytes a row (HIPQ; 0: compact.RowsM's
// default, half the int8 row's), trained by compact.TrainRows, and
// returns the bytes a row takes. It runs after anything that reorders
// rows (Index, Compact's lists). The module adds a coded row where it
// added an int8 one, so what changes is only how closely the rows are
// kept: bundle diff against a build with --history-bytes -1 shows it.
func CodeHistory(b *bundle.Bundle, bytes int, seed uint64, workers int) (int, error) {
	h := b.History
	if h == nil {
		return 0, fmt.Errorf("builder: history rows: the bundle has no int8 rows to code")
	}
	codes, err := compact.TrainRows(decodeRows(h), h.Dim, bytes, seed, workers)
	if err != nil {
		return 0, fmt.Errorf("builder: history rows: %w", err)
	}
	b.History, b.HistoryCodes = nil, codes
	return codes.PQ.M, nil
}

// decodeRows returns m's rows decoded, row-major.
func decodeRows(m *quant.Int8) []float32 {
	x := make([]float32, m.Rows*m.Dim)
	for i := range m.Rows {
		m.Decode(x[i*m.Dim:(i+1)*m.Dim], i)
	}
	return x
}

// itemQueries returns q item vectors of x, evenly spaced from an offset
// the seed picks: queries for a catalog without users.
func itemQueries(x []float32, d, q int, seed uint64) [][]float32 {
	n := len(x) / d
	q = min(q, n)
	out := make([][]float32, q)
	for i := range out {
		r := (int(seed%uint64(n)) + i*n/q) % n
		out[i] = x[r*d : (r+1)*d]
	}
	return out
}
