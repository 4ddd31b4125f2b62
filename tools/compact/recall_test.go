package compact

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgerec/edgerec/core/ann"
	"github.com/edgerec/edgerec/core/quant"
	"github.com/edgerec/edgerec/tools/benchdata"
	"github.com/stretchr/testify/require"
)

var (
	recallItems  = flag.Int("compact.items", 0, "TestRecallSweep: catalog size (0 skips the sweep)")
	recallLists  = flag.Int("compact.lists", 0, "TestRecallSweep: lists (0: DefaultLists)")
	recallM      = flag.Int("compact.m", 32, "TestRecallSweep: subspaces")
	recallNProbe = flag.String("compact.nprobe", "16,32,64,128", "TestRecallSweep: nprobe values")
	recallUsers  = flag.Int("compact.users", 100, "TestRecallSweep: queries")
	recallEta    = flag.String("compact.eta", "0", "TestRecallSweep: Options.Eta values")
	recallWrite  = flag.String("compact.write", "", "TestRecallSweep: write the last index and the queries to this file (for BenchmarkIVFPQSearch)")
)

// queries are users' queries as `edgerec bench` builds them: 10 history
// items from 1–3 sub-genres, pooled by the catalog's linear query tower
// (benchdata.Catalog.Query); the history is excluded from the answers.
type query struct {
	q    []float32
	hist map[int32]bool
	want []int32 // exact float32 top k, input rows
}

func makeQueries(cat *benchdata.Catalog, users, k int, seed uint64) []query {
	rng := rand.New(rand.NewPCG(seed, 99))
	qs := make([]query, users)
	for u := range qs {
		h := cat.User(rng, 10)
		qs[u].q = cat.Query(h)
		qs[u].hist = map[int32]bool{}
		for _, r := range h {
			qs[u].hist[r] = true
		}
	}
	parallel(users, 0, func(lo, hi int) {
		for u := lo; u < hi; u++ {
			qs[u].want = exactTop(cat.Vectors, cat.Dim, qs[u].q, k, qs[u].hist)
		}
	})
	return qs
}

// exactFloat is the float32 full scan every recall is measured against.

// recallAt returns the mean recall@k of ix at nprobe against the exact
// answers, and the mean number of rows scanned.
func recallAt(ix *ann.IVFPQ, perm []int32, qs []query, k, nprobe int) (recall, rows float64) {
	inv := make([]int32, len(perm))
	for r, i := range perm {
		inv[i] = int32(r)
	}
	var s ann.Scratch
	var hits []ann.Hit
	for _, q := range qs {
		skip := func(r int32) bool { return q.hist[perm[r]] }
		hits = ix.Search(hits[:0], q.q, k, nprobe, skip, &s)
		got := make([]int32, len(hits))
		for i, h := range hits {
			got[i] = perm[h.Item]
		}
		recall += benchdata.Recall(got, q.want)
	}
	cs := make([]float32, ix.Lists())
	for _, q := range qs {
		// Rows scanned: the sizes of the nprobe best lists.
		ix.Centroids.Scores(cs, quant.NewQuery(q.q), 0)
		order := make([]int, len(cs))
		for l := range order {
			order[l] = l
		}
		sortByScore(order, cs)
		for _, l := range order[:min(nprobe, len(order))] {
			rows += float64(ix.Offsets[l+1] - ix.Offsets[l])
		}
	}
	return recall / float64(len(qs)), rows / float64(len(qs))
}

// writeBench writes ix to path and the queries to path.queries, as
// core/ann's BenchmarkIVFPQSearch reads them.
func writeBench(t *testing.T, path string, ix *ann.IVFPQ, qs []query) {
	b, err := ix.MarshalBinary()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o644))
	var q []byte
	for _, x := range qs {
		for _, v := range x.q {
			q = binary.LittleEndian.AppendUint32(q, math.Float32bits(v))
		}
	}
	require.NoError(t, os.WriteFile(path+".queries", q, 0o644))
}

func sortByScore(order []int, s []float32) {
	for i := 1; i < len(order); i++ {
		for j := i; j > 0 && s[order[j]] > s[order[j-1]]; j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
}

// TestRecallSweep measures recall@100 against exact float32 search for a
// sweep of nprobe (the table of core/quant/MEASUREMENTS.md, "Compact
// mode"):
//
//	go test -run RecallSweep -v ./tools/compact -args -compact.items 1000000
func TestRecallSweep(t *testing.T) {
	if *recallItems == 0 {
		t.Skip("a measurement: -args -compact.items N runs it")
	}
	const dim, k = 64, 100
	start := time.Now()
	cat := benchdata.Clustered(*recallItems, dim, 32, 1)
	qs := makeQueries(cat, *recallUsers, k, 7)
	t.Logf("catalog and exact answers: %v", time.Since(start))
	var out []string
	for _, es := range strings.Split(*recallEta, ",") {
		eta, err := strconv.ParseFloat(es, 64)
		require.NoError(t, err)
		start = time.Now()
		ix, perm, err := Train(cat.Vectors, dim, Options{Lists: *recallLists, M: *recallM, Eta: eta, Seed: 1})
		require.NoError(t, err)
		out = append(out, fmt.Sprintf("train: %d lists, M %d, eta %v: %v", ix.Lists(), ix.PQ.M, eta, time.Since(start)))
		for _, f := range strings.Split(*recallNProbe, ",") {
			np, err := strconv.Atoi(f)
			require.NoError(t, err)
			r, rows := recallAt(ix, perm, qs, k, np)
			out = append(out, fmt.Sprintf("nprobe %d: recall@100 %.3f, %.0f rows", np, r, rows))
		}
		if *recallWrite != "" {
			writeBench(t, *recallWrite, ix, qs)
		}
	}
	for _, o := range out {
		t.Log(o)
	}
}
