package eval

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/tools/dataset"
	"github.com/edgerec/edgerec/tools/train"
)

// handSplit builds a split whose training part is the given user → items
// lists (times in list order) over the items a, b, c, d, ….
func handSplit(train map[string]string) *Split {
	s := &Split{Train: &dataset.Dataset{Name: "hand"}}
	users := make([]string, 0, len(train))
	for u := range train {
		users = append(users, u)
	}
	slices.Sort(users)
	items := map[string]bool{}
	ts := int64(0)
	for _, u := range users {
		for _, it := range strings.Split(train[u], ",") {
			ts++
			s.Train.Interactions = append(s.Train.Interactions, dataset.Interaction{User: u, Item: it, Time: ts, Value: 1})
			if !items[it] {
				items[it] = true
				s.Train.Items = append(s.Train.Items, dataset.Item{ID: it})
			}
		}
	}
	return s
}

func TestTopK(t *testing.T) {
	nan := math.NaN()
	scores := []float64{0.5, 2, nan, 2, -1, 0.5, math.Inf(-1)}
	cases := []struct {
		k    int
		want []int32
	}{
		{0, nil},
		{1, []int32{1}},
		// Ties by lower index; NaN skipped; −Inf last.
		{4, []int32{1, 3, 0, 5}},
		{10, []int32{1, 3, 0, 5, 4, 6}},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("k=%d", tc.k), func(t *testing.T) {
			if got := topK(scores, tc.k); !slices.Equal(got, tc.want) {
				t.Errorf("topK = %v, want %v", got, tc.want)
			}
		})
	}
	// Against a full sort on random scores with many ties.
	rng := rand.New(rand.NewPCG(5, 6))
	s := make([]float64, 500)
	for i := range s {
		s[i] = float64(rng.IntN(20))
	}
	idx := make([]int32, len(s))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortStableFunc(idx, func(a, b int32) int {
		switch {
		case s[a] > s[b]:
			return -1
		case s[a] < s[b]:
			return 1
		}
		return 0
	})
	if got := topK(s, 50); !slices.Equal(got, idx[:50]) {
		t.Errorf("topK differs from the sorted order:\n got %v\nwant %v", got, idx[:50])
	}
}

func TestItemKNNByHand(t *testing.T) {
	// U(a) = U(b) = {u1, u2}, U(c) = {u2, u3}, U(d) = {u3}:
	// sim(a,b) = 2/√(2·2) = 1, sim(a,c) = sim(b,c) = 1/2,
	// sim(c,d) = 1/√2, sim(a,d) = sim(b,d) = 0. Popularity a, b, c (2 each,
	// by id) then d.
	s := handSplit(map[string]string{"u1": "a,b", "u2": "a,b,c", "u3": "c,d"})
	cases := []struct {
		neighbours int
		hist       []string
		want       []string
	}{
		// Scores b 1, c 1/2, d 0.
		{-1, []string{"a"}, []string{"b", "c", "d"}},
		// Scores d 0.707, a = b = 0.5 (ties by popularity: a before b).
		{-1, []string{"c"}, []string{"d", "a", "b"}},
		// Scores c 0.5+0.5, d 0.
		{-1, []string{"a", "b"}, []string{"c", "d"}},
		// One neighbour: N(c) = {d}; a and b score 0 and follow by
		// popularity.
		{1, []string{"c"}, []string{"d", "a", "b"}},
		// N(d) = {c}.
		{1, []string{"d"}, []string{"c", "a", "b"}},
		// N(a) = {b}, N(b) = {a}: both in the history, so c and d score 0.
		{1, []string{"a", "b"}, []string{"c", "d"}},
		// A history item unknown to training is ignored.
		{0, []string{"zz", "a"}, []string{"b", "c", "d"}},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("N=%d/%v", tc.neighbours, tc.hist), func(t *testing.T) {
			m := &ItemKNN{Neighbours: tc.neighbours, Workers: 2}
			rank, err := m.Fit(s)
			if err != nil {
				t.Fatal(err)
			}
			if got := rank(TestUser{History: tc.hist}, 10); !slices.Equal(got, tc.want) {
				t.Errorf("ranking %v, want %v", got, tc.want)
			}
		})
	}
	c := newCatalog(s)
	nb := knnNeighbours(c, -1, 1)
	// c's neighbours: d (0.707), then a and b (0.5, a first).
	ci := c.index["c"]
	if len(nb[ci]) != 3 || c.ids[nb[ci][0].item] != "d" || math.Abs(nb[ci][0].sim-1/math.Sqrt2) > 1e-15 || c.ids[nb[ci][1].item] != "a" {
		t.Errorf("neighbours of c: %+v", nb[ci])
	}
}

func TestEASEByHand(t *testing.T) {
	// Two items used together by one user and alone by one each:
	// G = [[2 1] [1 2]]; with λ = 1, P = [[3 1] [1 3]]⁻¹ = [[3 −1] [−1 3]]/8
	// and B₀₁ = −P₀₁/P₁₁ = 1/3.
	s := handSplit(map[string]string{"u1": "a,b", "u2": "a", "u3": "b"})
	c := newCatalog(s)
	p := newEASEProblem(c, 10, DefaultEASEMemory, 1)
	score, err := p.fit(1)
	if err != nil || p.n != 2 {
		t.Fatalf("EASE fit: %d items, %v", p.n, err)
	}
	dst := make([]float64, 2)
	score(dst, []int32{c.index["a"]})
	if got := dst[c.index["b"]]; math.Abs(got-1.0/3) > 1e-7 { // B is float32
		t.Errorf("score(b | a) = %v, want 1/3", got)
	}
	if got := dst[c.index["a"]]; got != 0 {
		t.Errorf("score(a | a) = %v, want 0 (diag(B) = 0)", got)
	}
}

// naiveEASE computes EASE's scores for hist the textbook way: G = XᵀX by
// a triple loop over the dense matrix, P by Gauss–Jordan, B = I − P·D.
func naiveEASE(c *catalog, lambda float64, hist []int32) []float64 {
	n := len(c.ids)
	x := make([][]float64, len(c.userRows))
	for u, r := range c.userRows {
		x[u] = make([]float64, n)
		for _, i := range r {
			x[u][i] = 1
		}
	}
	g := make([]float64, n*n)
	for i := range n {
		for j := range n {
			for u := range x {
				g[i*n+j] += x[u][i] * x[u][j]
			}
		}
		g[i*n+i] += lambda
	}
	p := gaussJordan(g, n)
	out := make([]float64, n)
	for _, i := range hist {
		for j := range n {
			if int(i) != j {
				out[j] += -p[int(i)*n+j] / p[j*n+j]
			}
		}
	}
	return out
}

// TestEASEAgainstNaive holds both routes, and the automatic choice,
// to the textbook computation: the users route (Woodbury) on a catalog with
// more items than users and on one with fewer, the items route (the
// Cholesky inversion of the previous implementation) likewise.
func TestEASEAgainstNaive(t *testing.T) {
	for _, shape := range []struct{ users, items int }{{60, 23}, {15, 40}} {
		rng := rand.New(rand.NewPCG(7, uint64(shape.users)))
		train := map[string]string{}
		for u := range shape.users {
			var items []string
			for i := range shape.items {
				if rng.Float64() < 0.25 || i == u%shape.items {
					items = append(items, fmt.Sprintf("i%02d", i))
				}
			}
			train[fmt.Sprintf("u%02d", u)] = strings.Join(items, ",")
		}
		c := newCatalog(handSplit(train))
		n := len(c.ids)
		for _, lambda := range []float64{0.5, 10, 500} {
			hist := []int32{0, 4, 7, 19}
			want := naiveEASE(c, lambda, hist)
			for _, route := range []string{"auto", "items", "users"} {
				t.Run(fmt.Sprintf("%dx%d/λ=%g/%s", shape.users, shape.items, lambda, route), func(t *testing.T) {
					p := newEASEProblem(c, 0, DefaultEASEMemory, 2)
					if route != "auto" {
						p = buildEASEProblem(c, n, 2, route == "users")
					}
					require.Equal(t, n, p.n)
					score, err := p.fit(lambda)
					require.NoError(t, err)
					got := make([]float64, n)
					score(got, hist)
					for j := range got {
						// B is float32: a relative error of 2⁻²⁴ per entry.
						assert.InDelta(t, want[j], got[j], 1e-6*(1+math.Abs(want[j])), "score[%d]", j)
					}
				})
			}
		}
		// The automatic route is the cheaper one.
		wantUsers := len(c.userRows) < n
		assert.Equal(t, wantUsers, newEASEProblem(c, 0, DefaultEASEMemory, 1).byUsers, "%d users, %d items", len(c.userRows), n)
	}
}

// TestEASEMemoryCap checks that the memory budget caps the catalog at the
// largest n whose fit fits, and that no budget caps nothing.
func TestEASEMemoryCap(t *testing.T) {
	s := handSplit(map[string]string{"u1": "a,b,c,d", "u2": "a,b,c", "u3": "a,b", "u4": "a,e,f,g,h"})
	c := newCatalog(s)
	require.Equal(t, 8, newEASEProblem(c, 0, DefaultEASEMemory, 1).n)
	// 3 items, 4 users, 9 interactions: the items route, 3²·20 bytes.
	budget := EASEBytes(3, 4, 9)
	assert.Equal(t, int64(3*3*20), budget)
	p := newEASEProblem(c, 0, budget, 1)
	assert.Equal(t, 3, p.n)
	assert.Equal(t, 2, newEASEProblem(c, 0, budget-1, 1).n)
	assert.Equal(t, 5, newEASEProblem(c, 5, DefaultEASEMemory, 1).n, "MaxItems")
	// More items than users: the users route is the cheaper one.
	assert.True(t, easeByUsers(12000, 1800, 60000))
	assert.False(t, easeByUsers(5000, 10000, 500000))
	assert.Equal(t, int64(12000*12000*4+1800*1800*16+1800*12000*8), EASEBytes(12000, 1800, 60000))
}

func TestEASECapAndTuning(t *testing.T) {
	// Popularity: a (4 users), b (3), c (2), d (1), e (1).
	s := handSplit(map[string]string{"u1": "a,b,c", "u2": "a,b,d", "u3": "a,b,c", "u4": "a,e"})
	m := &EASE{Lambdas: []float64{1}, MaxItems: 2}
	rank, err := m.Fit(s)
	if err != nil {
		t.Fatal(err)
	}
	if m.Items != 2 || m.Catalog != 5 || !strings.Contains(m.Describe(), "restricted to the 2 most popular of 5 items") {
		t.Errorf("items %d of %d; Describe %q", m.Items, m.Catalog, m.Describe())
	}
	// Only a and b take part; c, d, e follow by popularity.
	if got := rank(TestUser{History: []string{"a"}}, 10); !slices.Equal(got, []string{"b", "c", "d", "e"}) {
		t.Errorf("ranking %v, want [b c d e]", got)
	}

	// Tuning on the rolling log's validation split picks a λ of the grid.
	ds := rollingLog()
	split, err := TemporalSplit(ds, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	m = &EASE{Lambdas: []float64{1, 10, 100}}
	if _, err := m.Fit(split); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(m.Lambdas, m.Lambda) || len(m.Validation) != 3 {
		t.Errorf("λ = %v, validation %v", m.Lambda, m.Validation)
	}
	assert.Equal(t, m.Catalog, m.Items, "no cap by default")
	assert.Contains(t, m.Describe(), fmt.Sprintf("all %d items", m.Items))
	if _, err := (&EASE{Lambdas: []float64{-1}}).Fit(split); err == nil {
		t.Error("λ = −1 accepted")
	}
}

func TestNewModel(t *testing.T) {
	for _, name := range ModelNames() {
		m, err := NewModel(name, Options{})
		if err != nil || m.Name() != name {
			t.Errorf("NewModel(%q) = %v, %v", name, m, err)
		}
	}
	def := DefaultModelNames()
	assert.Contains(t, def, "pipeline")
	for _, loss := range train.Losses {
		assert.Contains(t, ModelNames(), "pipeline-"+loss)
		assert.NotContains(t, def, "pipeline-"+loss, "the loss comparison runs only when asked for")
	}
	if _, err := NewModel("svd", Options{}); err == nil || !strings.Contains(err.Error(), "itemknn") {
		t.Errorf("unknown model: error %v, want one listing the valid names", err)
	}
}
