package dataset

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDetect: each layout is recognized by its files, and a load in the
// wrong format names the one the directory holds.
func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		files []string
		want  string
	}{
		{[]string{"items.csv", "interactions.csv", "users.csv"}, FormatEdgerec},
		{[]string{"u.data", "u.item", "u.genre", "u.user", "README"}, FormatMovieLens100K},
		{[]string{"ratings.dat", "movies.dat", "users.dat"}, FormatMovieLens1M},
		{[]string{"ratings.csv", "movies.csv", "links.csv"}, FormatMovieLensLatest},
		{[]string{"user_taggedartists.dat", "artists.dat", "tags.dat"}, FormatLastFMHetRec},
	} {
		t.Run(tc.want, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tc.files {
				require.NoError(t, os.WriteFile(filepath.Join(dir, f), nil, 0o644))
			}
			assert.Equal(t, []string{tc.want}, Detect(dir))

			other := FormatEdgerec
			if tc.want == FormatEdgerec {
				other = FormatMovieLens100K
			}
			_, err := Load(dir, other)
			require.Error(t, err)
			assert.ErrorIs(t, err, fs.ErrNotExist, "a missing file stays ErrNotExist")
			assert.Contains(t, err.Error(), "--format "+tc.want)
		})
	}

	// No known layout, or no directory: no suggestion.
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "u.data"), nil, 0o644)) // u.item missing
	assert.Empty(t, Detect(dir))
	_, err := Load(dir, FormatEdgerec)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "--format")
	assert.Empty(t, Detect(filepath.Join(dir, "missing")))
}
