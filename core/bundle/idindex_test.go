package bundle

import (
	"fmt"
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
