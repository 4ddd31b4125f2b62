package builder

import (
	"fmt"
	"runtime"
	"sort"
	"sync"

	"github.com/edgerec/edgerec/core/ann"
	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/vec"
	"github.com/edgerec/edgerec/tools/dataset"
	"github.com/edgerec/edgerec/tools/model"
)

// RecallOptions configure Recall.
type RecallOptions struct {
	// K is the depth of the lists compared; 0 means 100.
	K int
	// Queries is the number of sample users; 0 means 200.
	Queries int
	// Workers is the number of goroutines; 0 means GOMAXPROCS. The result
	// does not depend on it.
	Workers int
}

// RecallReport is what Recall measured.
type RecallReport struct {
	Recall  float64 `json:"recall"`  // mean |served top-K ∩ exact top-K| / K
	K       int     `json:"k"`       // list depth
	Queries int     `json:"queries"` // sample users measured
	Served  string  `json:"served"`  // how the module searches: "exact int8" or "IVF nprobe N of L lists"
}

// Recall measures how much of the exact answer the bundle b serves:
// for a sample of the data set's users (evenly spaced in ds.Users order,
// those with at least one interaction with an item of b up to its creation
// time), it computes the query embedding as the module does (b's query
// tower over b's history rows, the user's context), then compares the
// top K that the module's retrieval returns (the int8 scan, or the IVF
// index at its default nprobe when b has one and K is below an eighth of
// the catalog, as core/pipeline searches) with the exact top K over the
// float32 item embeddings of m. Recall = mean over queries of
// |served ∩ exact| / K. It loses what int8 quantization and the index
// lose, and nothing else.
//
// The float item embeddings are recomputed from m and ds in a streaming
// pass, so memory stays at one top-K list per query.
func Recall(m *model.Model, ds *dataset.Dataset, b *bundle.Bundle, opts RecallOptions) (RecallReport, error) {
	k, nq := opts.K, opts.Queries
	if k <= 0 {
		k = 100
	}
	if nq <= 0 {
		nq = 200
	}
	n := b.Manifest.Items
	k = min(k, n)
	created := b.Manifest.Created
	queries := UserQueries(b, ds, created, nq)
	if len(queries) == 0 {
		return RecallReport{}, fmt.Errorf("builder: recall: no user of %q has history among the bundle's items", ds.Name)
	}

	// Served lists.
	rep := RecallReport{K: k, Queries: len(queries), Served: "exact int8"}
	served := make([][]ann.Hit, len(queries))
	x := b.Index
	useIndex := x != nil && k < n/8
	if useIndex {
		rep.Served = fmt.Sprintf("IVF nprobe %d of %d lists", x.NProbe, len(x.Offsets)-1)
	}
	c := b.Codes
	np := 0
	if c != nil {
		np = b.CodesNProbe(0, k) // as core/pipeline searches
		rep.Served = fmt.Sprintf("compact codes of %d bytes, nprobe %d of %d lists", c.PQ.M, np, c.Lists())
	}
	for qi, q := range queries {
		if c != nil {
			served[qi] = c.Search(nil, q, k, np, nil, nil)
		} else if useIndex {
			served[qi] = x.IVF(b.Embeddings).Search(nil, q, k, x.NProbeFor(0), nil, nil)
		} else {
			served[qi] = ann.Exact{Items: b.Embeddings}.Search(q, k, nil)
		}
	}

	// Exact float lists, streaming over the catalog in chunks per worker.
	byID := make(map[string]*dataset.Item, len(ds.Items))
	for i := range ds.Items {
		byID[ds.Items[i].ID] = &ds.Items[i]
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	tops := make([][]*ann.TopK, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		tops[w] = make([]*ann.TopK, len(queries))
		for qi := range queries {
			tops[w][qi] = ann.NewTopK(k)
		}
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			s := m.Item.NewScratch()
			for r := w; r < n; r += workers {
				it, ok := byID[b.Items.IDs.At(r)]
				if !ok {
					continue
				}
				e := m.Item.Embed(s, ItemInput(m, it, created))
				for qi, q := range queries {
					tops[w][qi].Push(int32(r), vec.Dot(q, e))
				}
			}
		}(w)
	}
	wg.Wait()
	var sum float64
	for qi := range queries {
		all := ann.NewTopK(k)
		for w := range tops {
			for _, h := range tops[w][qi].Sorted() {
				all.Push(h.Item, h.Score)
			}
		}
		exact := map[int32]bool{}
		for _, h := range all.Sorted() {
			exact[h.Item] = true
		}
		hit := 0
		for _, h := range served[qi] {
			if exact[h.Item] {
				hit++
			}
		}
		sum += float64(hit) / float64(k)
	}
	rep.Recall = sum / float64(len(queries))
	return rep, nil
}

// UserQueries returns the query embeddings of up to nq users of ds, as the
// module computes them for b at time created (the bundle's creation):
// b's query tower over b's history rows of the user's items known to b
// up to then, with the user's context. The users are evenly spaced in ds.Users order (or by id when ds
// has no user table) among those with history in b; none gives nil.
func UserQueries(b *bundle.Bundle, ds *dataset.Dataset, created int64, nq int) [][]float32 {
	q, _ := UserSample(b, ds, created, nq)
	return q
}

// UserSample is UserQueries with each user's history: the rows of b the
// module leaves out of that user's answer.
func UserSample(b *bundle.Bundle, ds *dataset.Dataset, created int64, nq int) (queries [][]float32, histories [][]int32) {
	n := b.Items.Len()
	rows := make(map[string]int32, n)
	for i := range n {
		rows[b.Items.IDs.At(i)] = int32(i)
	}
	// Histories of the users, known items only, oldest first.
	hist := map[string][]int32{}
	for _, in := range ds.Interactions {
		if r, ok := rows[in.Item]; ok && in.Time <= created && b.Items.Known[r] {
			hist[in.User] = append(hist[in.User], r)
		}
	}
	var users []dataset.User
	for _, u := range ds.Users {
		if len(hist[u.ID]) > 0 {
			users = append(users, u)
		}
	}
	if len(users) == 0 {
		// No user table: sample the interacting users by id.
		ids := make([]string, 0, len(hist))
		for id := range hist {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			users = append(users, dataset.User{ID: id})
		}
	}
	if len(users) == 0 {
		return nil, nil
	}
	step := max(1, len(users)/nq)
	s := b.Query.NewScratch()
	for i := 0; i < len(users) && len(queries) < nq; i += step {
		u := users[i]
		ctx := u.Context
		ctx.Time = created
		in := b.Query.Prepare(&ctx, hist[u.ID], -1)
		queries = append(queries, append([]float32(nil), b.Query.Embed(s, b.HistoryRows(), in)...))
		histories = append(histories, hist[u.ID])
	}
	return queries, histories
}
