package bundle

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestIDIndexStaysSmall: a catalog's ids fit a table at a load of 0.8
// (5/4 as many slots as ids) with every id within maxIDProbe of its home,
// and every id is found at its row.
func TestIDIndexStaysSmall(t *testing.T) {
	for _, n := range []int{0, 1, 1000, 100_000, 300_000} {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprintf("i%07d", i)
		}
		s := NewStrings(ids)
		x := newIDIndex(s)
		assert.Len(t, x.slots, max(8, n+n/4+1), "%d ids", n)
		assert.LessOrEqual(t, x.maxProbe, uint32(maxIDProbe))
		require.NoError(t, x.check(s))
		t.Logf("%d ids: %d slots, longest probe %d", n, len(x.slots), x.maxProbe)
	}
}

// checkByLookup is the check before it compared hashes: every id looked
// up, bytes compared at every probe. The reference of TestCheckAgrees and
// BenchmarkIDIndexCheck.
func checkByLookup(x *IDIndex, ids Strings) error {
	n := ids.Len()
	if s := len(x.slots); s < 8 || s <= n || x.maxProbe > maxIDProbe {
		return fmt.Errorf("table")
	}
	for _, v := range x.slots {
		if v > uint32(n) {
			return fmt.Errorf("slot")
		}
	}
	for row := range n {
		id := ids.At(row)
		if got, ok := x.Lookup(ids, id); id == "" || !ok || int(got) != row {
			return fmt.Errorf("row %d", row)
		}
	}
	return nil
}

// TestCheckAgrees holds check to checkByLookup on tables damaged at
// random: slots swapped, emptied or pointed elsewhere, ids duplicated or
// emptied, the longest probe cut. Both accept or both refuse.
func TestCheckAgrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	refused := 0
	for trial := range 2000 {
		n := 1 + rng.IntN(200)
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprintf("%c%d", 'a'+rng.IntN(3), rng.IntN(4*n)) // duplicates happen
		}
		x := newIDIndex(NewStrings(ids))
		for range rng.IntN(3) {
			switch i, j := rng.IntN(len(x.slots)), rng.IntN(len(x.slots)); rng.IntN(5) {
			case 0:
				x.slots[i], x.slots[j] = x.slots[j], x.slots[i]
			case 1:
				x.slots[i] = 0
			case 2:
				x.slots[i] = uint32(rng.IntN(n + 2))
			case 3:
				ids[rng.IntN(n)] = ids[rng.IntN(n)]
			case 4:
				x.maxProbe = uint32(rng.IntN(int(x.maxProbe) + 1))
			}
		}
		if trial%50 == 0 {
			ids[rng.IntN(n)] = ""
		}
		s := NewStrings(ids)
		want, got := checkByLookup(&x, s), x.check(s)
		require.Equal(t, want == nil, got == nil, "trial %d: by lookup %v, check %v", trial, want, got)
		if got != nil {
			refused++
		}
	}
	assert.Greater(t, refused, 200, "tables refused")
}

// BenchmarkIDIndexCheck: the check of a 1M-item table against
// checkByLookup, its reference (ids of one length, as bench's).
func BenchmarkIDIndexCheck(b *testing.B) {
	ids := make([]string, 1_000_000)
	for i := range ids {
		ids[i] = fmt.Sprintf("i%07d", i)
	}
	s := NewStrings(ids)
	x := newIDIndex(s)
	b.Run("lookup", func(b *testing.B) {
		for b.Loop() {
			if err := checkByLookup(&x, s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("hashes", func(b *testing.B) {
		for b.Loop() {
			if err := x.check(s); err != nil {
				b.Fatal(err)
			}
		}
	})
}
