package compact

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sort"

	"github.com/edgerec/edgerec/core/quant"
)

// RowsM returns the subspaces TrainRows uses for rows of width d by
// default: two values each (half the int8 row's bytes), or the largest
// divisor of d below that.
func RowsM(d int) int {
	for m := max(d/2, 1); m > 1; m-- {
		if d%m == 0 {
			return m
		}
	}
	return 1
}

// TrainRows codes the n = len(x)/dim rows x with a product quantizer of m
// subspaces (0: RowsM(dim)): codebooks by Lloyd's k-means per subspace on
// a sample of up to 32 768 rows, each row then coded to its nearest
// centroids (Euclidean). For rows that are summed rather than searched —
// the query tower's history rows — the plain Euclidean code is the right
// one. The result depends only on x, dim, m and seed.
func TrainRows(x []float32, dim, m int, seed uint64, workers int) (*quant.PQRows, error) {
	if dim <= 0 || len(x)%dim != 0 || len(x) == 0 {
		return nil, fmt.Errorf("compact: cannot code %d floats of width %d", len(x), dim)
	}
	if m <= 0 {
		m = RowsM(dim)
	}
	if dim%m != 0 || dim > quant.MaxPQDim {
		return nil, fmt.Errorf("compact: %d subspaces do not divide width %d", m, dim)
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	n := len(x) / dim
	rng := rand.New(rand.NewPCG(seed, 0x4849))
	ns := min(n, 128*quant.PQCentroids)
	rows := rng.Perm(n)[:ns]
	sort.Ints(rows)
	sample := make([]float32, ns*dim)
	for s, r := range rows {
		copy(sample[s*dim:(s+1)*dim], x[r*dim:(r+1)*dim])
	}
	p := trainCodebooks(sample, dim, m, 12, seed, workers, nil)
	out := &quant.PQRows{PQ: p, Codes: make([]byte, n*m)}
	parallel(n, workers, func(a, b int) {
		for r := a; r < b; r++ {
			p.Encode(out.Codes[r*m:(r+1)*m], x[r*dim:(r+1)*dim])
		}
	})
	if err := out.Validate(); err != nil {
		return nil, err
	}
	return out, nil
}
