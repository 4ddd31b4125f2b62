package bloom

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestSize(t *testing.T) {
	for _, tc := range []struct {
		n    int
		p    float64
		m, k int
	}{
		// m = ⌈−n·ln p/(ln 2)²⌉ → multiple of 64; k = round(m/n·ln 2).
		{1, 0.5, 64, 30},         // 1.44 bits → 64; k = 44 → clamped to 30
		{1, 0.999, 64, 30},       // tiny m still gets a word
		{10, 0.01, 128, 9},       // 95.9 → 128
		{100, 0.01, 960, 7},      // 958.5 → 960
		{1000, 0.01, 9600, 7},    // 9585.1 → 9600
		{1000, 0.1, 4800, 3},     // 4792.5 → 4800
		{1000, 0.001, 14400, 10}, // 14377.6 → 14400
		{10000, 0.01, 95872, 7},  // 95850.6 → 95872
		{100000, 0.05, 623552, 4},
		{400000, 0.01, 3834048, 7}, // near the limit
		{1000, 1e-9, 43136, 30},    // k = 29.9 → 30
		{5000, 0.9, 1152, 1},       // 1096.5 → 1152; k = 0.16 → 1
		{1, 1e-300, 1472, 30},      // 1437.8 → 1472
	} {
		t.Run(fmt.Sprintf("n=%d/p=%g", tc.n, tc.p), func(t *testing.T) {
			f, err := New(tc.n, tc.p)
			if err != nil {
				t.Fatal(err)
			}
			if f.M() != tc.m || f.K() != tc.k {
				t.Errorf("m, k = %d, %d, want %d, %d", f.M(), f.K(), tc.m, tc.k)
			}
			raw := -float64(tc.n) * math.Log(tc.p) / (math.Ln2 * math.Ln2)
			if m := float64(f.M()); m < raw || m >= raw+64 || f.M()%64 != 0 {
				t.Errorf("m = %d is not the formula's %.1f rounded up to a multiple of 64", f.M(), raw)
			}
		})
	}
	for _, tc := range []struct {
		n    int
		p    float64
		want string
	}{
		{0, 0.01, "n = 0"},
		{-5, 0.01, "n = -5"},
		{10, 0, "p = 0"},
		{10, 1, "p = 1"},
		{10, -0.1, "p = -0.1"},
		{10, math.NaN(), "p = NaN"},
		{10, math.Inf(1), "p = +Inf"},
		{440000, 0.01, "more than the limit"},
		{math.MaxInt32, 0.5, "more than the limit"},
	} {
		t.Run(fmt.Sprintf("refuse/n=%d/p=%g", tc.n, tc.p), func(t *testing.T) {
			_, err := New(tc.n, tc.p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New(%d, %g) = %v, want an error containing %q", tc.n, tc.p, err, tc.want)
			}
		})
	}
	t.Run("largest", func(t *testing.T) {
		// The largest n at p = 0.01 that fits: m must reach MaxBits exactly.
		n := int(float64(MaxBits) * math.Ln2 * math.Ln2 / -math.Log(0.01))
		f, err := New(n, 0.01)
		if err != nil {
			t.Fatal(err)
		}
		if f.M() != MaxBits {
			t.Errorf("m = %d, want MaxBits = %d", f.M(), MaxBits)
		}
		if b, _ := f.MarshalBinary(); len(b) != MaxBytes {
			t.Errorf("largest filter serializes to %d bytes, want MaxBytes = %d", len(b), MaxBytes)
		}
		if _, err := New(n+1, 0.01); err == nil {
			t.Errorf("New(%d, 0.01) fits, want it refused", n+1)
		}
	})
}

// refPositions is the reference for the hashing in the package
// documentation, written from it independently of hash and Add: hash/fnv,
// the fmix64 steps, and (h1 + i·h2) mod m for each i.
func refPositions(id string, m, k int) []uint64 {
	fh := fnv.New64a()
	fh.Write([]byte(id))
	h := fh.Sum64()
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	h1, h2 := h&0xffffffff, h>>32|1
	out := make([]uint64, k)
	for i := range out {
		out[i] = (h1 + uint64(i)*h2) % uint64(m)
	}
	return out
}

// TestPositionsReference holds Add and MayContain's incremental walk to the
// documented formula, bit for bit, for many ids and sizes.
func TestPositionsReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, mk := range [][2]int{{64, 1}, {64, 30}, {128, 9}, {960, 7}, {95872, 7}, {MaxBits, 30}} {
		m, k := mk[0], mk[1]
		for range 300 {
			id := randomID(rng)
			f := &Filter{words: make([]uint64, m/64), k: k}
			f.Add(id)
			want := &Filter{words: make([]uint64, m/64), k: k}
			for _, pos := range refPositions(id, m, k) {
				want.words[pos/64] |= 1 << (pos % 64)
			}
			for i := range f.words {
				if f.words[i] != want.words[i] {
					t.Fatalf("m=%d k=%d id %q: word %d = %#x, want %#x", m, k, id, i, f.words[i], want.words[i])
				}
			}
			if !f.MayContain(id) {
				t.Fatalf("m=%d k=%d: added id %q not contained", m, k, id)
			}
		}
	}
}

// randomID returns a random id: ASCII, multi-byte UTF-8, or arbitrary bytes.
func randomID(rng *rand.Rand) string {
	var sb strings.Builder
	n := 1 + rng.IntN(24)
	for range n {
		switch rng.IntN(4) {
		case 0:
			sb.WriteRune(rune(0x80 + rng.IntN(0x10000-0x80)))
		case 1:
			sb.WriteByte(byte(rng.IntN(256)))
		default:
			sb.WriteByte(byte('a' + rng.IntN(26)))
		}
	}
	return sb.String()
}

// TestNoFalseNegatives: every added id is contained, in the filter, after a
// round trip through the serialized form, and after a union.
func TestNoFalseNegatives(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		n int
		p float64
	}{{1, 0.5}, {10, 0.01}, {500, 0.2}, {5000, 0.001}, {20000, 0.05}} {
		t.Run(fmt.Sprintf("n=%d/p=%g", tc.n, tc.p), func(t *testing.T) {
			f, err := New(tc.n, tc.p)
			if err != nil {
				t.Fatal(err)
			}
			other, _ := New(tc.n, tc.p)
			// Add twice n: a full filter must not lose members either.
			ids := make([]string, 2*tc.n)
			for i := range ids {
				ids[i] = randomID(rng)
				f.Add(ids[i])
			}
			b, err := f.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			g, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			other.Add("something else")
			if err := other.Union(g); err != nil {
				t.Fatal(err)
			}
			for _, id := range ids {
				if !f.MayContain(id) || !g.MayContain(id) || !other.MayContain(id) {
					t.Fatalf("added id %q not contained", id)
				}
			}
		})
	}
}

// TestFalsePositiveRate measures the false-positive rate on 100,000 ids
// never added, after n sequential ids ("item-0", "item-1", …, the worst
// case for a weak hash) were. It must lie within [p/2, 2p] and within 5
// standard deviations of (1 − e^(−kn/m))^k for the filter's own m and k.
func TestFalsePositiveRate(t *testing.T) {
	const trials = 100_000
	for _, tc := range []struct {
		n      int
		p      float64
		format string
	}{
		{1000, 0.01, "item-%d"},
		{10000, 0.01, "item-%d"},
		{10000, 0.01, "%d"},
		{10000, 0.001, "tt%07d"},
		{1000, 0.1, "item-%d"},
		{5000, 0.05, "%08x"},
		{50000, 0.02, "user/42/item/%d"},
	} {
		t.Run(fmt.Sprintf("n=%d/p=%g/%s", tc.n, tc.p, tc.format), func(t *testing.T) {
			f, err := New(tc.n, tc.p)
			if err != nil {
				t.Fatal(err)
			}
			for i := range tc.n {
				f.Add(fmt.Sprintf(tc.format, i))
			}
			fp := 0
			for i := range trials {
				if f.MayContain(fmt.Sprintf(tc.format, tc.n+i)) {
					fp++
				}
			}
			got := float64(fp) / trials
			m, k, n := float64(f.M()), float64(f.K()), float64(tc.n)
			theory := math.Pow(1-math.Exp(-k*n/m), k)
			sigma := math.Sqrt(theory * (1 - theory) / trials)
			t.Logf("m=%d k=%d: measured %.5f, theory %.5f, configured %g, estimated from fill %.5f, estimated count %.0f",
				f.M(), f.K(), got, theory, tc.p, f.EstimatedFPRate(), f.EstimatedCount())
			if got < tc.p/2 || got > 2*tc.p {
				t.Errorf("measured rate %.5f outside [p/2, 2p] = [%g, %g]", got, tc.p/2, 2*tc.p)
			}
			if math.Abs(got-theory) > 5*sigma {
				t.Errorf("measured rate %.5f is more than 5σ (σ = %.5f) from the theory %.5f", got, sigma, theory)
			}
			if est := f.EstimatedFPRate(); math.Abs(est-theory) > 0.1*theory {
				t.Errorf("EstimatedFPRate %.5f is more than 10%% from the theory %.5f", est, theory)
			}
			if c := f.EstimatedCount(); math.Abs(c-n) > 0.05*n {
				t.Errorf("EstimatedCount %.0f is more than 5%% from the %d items added", c, tc.n)
			}
		})
	}
}

func TestEstimatesEdges(t *testing.T) {
	f, _ := New(10, 0.01)
	if r, c := f.EstimatedFPRate(), f.EstimatedCount(); r != 0 || c != 0 {
		t.Errorf("empty filter: EstimatedFPRate %g, EstimatedCount %g, want 0, 0", r, c)
	}
	for i := range f.words {
		f.words[i] = math.MaxUint64
	}
	if r, c := f.EstimatedFPRate(), f.EstimatedCount(); r != 1 || !math.IsInf(c, 1) {
		t.Errorf("full filter: EstimatedFPRate %g, EstimatedCount %g, want 1, +Inf", r, c)
	}
	var zero Filter
	if r, c := zero.EstimatedFPRate(), zero.EstimatedCount(); r != 0 || c != 0 {
		t.Errorf("zero Filter: EstimatedFPRate %g, EstimatedCount %g, want 0, 0", r, c)
	}
}

// TestUnion: the union of two filters equals, bit for bit, one filter that
// got both sets of ids.
func TestUnion(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	a, _ := New(1000, 0.01)
	b, _ := New(1000, 0.01)
	both, _ := New(1000, 0.01)
	for i := range 700 {
		id := randomID(rng)
		if i%2 == 0 {
			a.Add(id)
		} else {
			b.Add(id)
		}
		both.Add(id)
	}
	if err := a.Union(b); err != nil {
		t.Fatal(err)
	}
	got, _ := a.MarshalBinary()
	want, _ := both.MarshalBinary()
	if !bytes.Equal(got, want) {
		t.Error("a ∪ b differs from a filter with both sets added")
	}
	if err := a.Union(a); err != nil {
		t.Errorf("union with itself: %v", err)
	}
	if again, _ := a.MarshalBinary(); !bytes.Equal(again, want) {
		t.Error("union with itself changed the filter")
	}

	for _, tc := range []struct {
		name string
		n    int
		p    float64
	}{
		{"different m", 2000, 0.01},
		{"different k", 1000, 0.000_000_1}, // m grows too, but k is 23
	} {
		t.Run(tc.name, func(t *testing.T) {
			other, _ := New(tc.n, tc.p)
			other.Add("x")
			err := a.Union(other)
			if !errors.Is(err, ErrIncompatible) {
				t.Fatalf("Union: %v, want ErrIncompatible", err)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("m = %d bits, k = %d", other.M(), other.K())) {
				t.Errorf("error %q does not name the other filter's parameters", err)
			}
			if after, _ := a.MarshalBinary(); !bytes.Equal(after, want) {
				t.Error("a refused union changed the filter")
			}
		})
	}
	t.Run("same m, different k", func(t *testing.T) {
		other := &Filter{words: make([]uint64, len(a.words)), k: a.k + 1}
		if err := a.Union(other); !errors.Is(err, ErrIncompatible) {
			t.Fatalf("Union: %v, want ErrIncompatible", err)
		}
	})
	if err := a.Union(nil); err == nil {
		t.Error("Union(nil) succeeded")
	}
}
