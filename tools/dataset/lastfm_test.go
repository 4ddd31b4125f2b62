package dataset

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// month returns the first of a month as Unix seconds (UTC).
func month(y int, m time.Month) int64 { return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).Unix() }

// lastFMFixture is a data set made up in the release's layout (no line of
// it comes from the real data, which may not be redistributed): file name
// → content. It holds the first tag of a pair winning over a later one, a
// day other than 1, a pre-2002 row, a tagged artist missing from
// artists.dat, an artist nobody tagged, an ISO-8859-1 tag name, a CRLF
// line, a blank line, and ties among the most used tags.
var lastFMFixture = map[string]string{
	"tags.dat": "tagID\ttagValue\n1\tdream pop\n2\tm\xe9tal\n3\tlo-fi\n4\tshoegaze\n5\tambient\n",
	"artists.dat": "id\tname\turl\tpictureURL\n" +
		"10\tThe Paper Lanterns\thttp://example.invalid/10\thttp://example.invalid/10.jpg\n" +
		"20\tÜnder Glass\thttp://example.invalid/20\t\n" +
		"30\tNobody Tagged Us\thttp://example.invalid/30\t\n",
	"user_taggedartists.dat": "userID\tartistID\ttagID\tday\tmonth\tyear\n" +
		"7\t20\t1\t1\t3\t2009\n7\t20\t2\t1\t2\t2009\n7\t10\t1\t5\t5\t2011\r\n\n" +
		"8\t10\t3\t1\t1\t1956\n8\t10\t1\t1\t6\t2008\n8\t40\t4\t1\t7\t2008\n" +
		"8\t20\t1\t1\t7\t2008\n8\t20\t5\t1\t7\t2008\n8\t20\t4\t1\t7\t2008\n",
}

// TestLoadLastFM loads lastFMFixture.
func TestLoadLastFM(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lastfm-hetrec") // the data set's name
	require.NoError(t, os.Mkdir(dir, 0o755))
	writeFiles(t, dir, lastFMFixture)
	got, err := Load(dir, FormatLastFMHetRec)
	require.NoError(t, err)
	want := &Dataset{
		Name: "lastfm-hetrec",
		Items: []Item{
			{ID: "10", Title: "The Paper Lanterns", Categories: []string{"dream pop"}, Available: true},
			{ID: "20", Title: "Ünder Glass", Categories: []string{"dream pop", "ambient", "métal"}, Available: true},
			{ID: "40", Categories: []string{"shoegaze"}, Available: true},
		},
		Interactions: []Interaction{
			{User: "8", Item: "10", Time: month(2008, time.June), Value: 1},
			{User: "8", Item: "20", Time: month(2008, time.July), Value: 1},
			{User: "8", Item: "40", Time: month(2008, time.July), Value: 1},
			{User: "7", Item: "20", Time: month(2009, time.February), Value: 1},
			{User: "7", Item: "10", Time: month(2011, time.May), Value: 1},
		},
	}
	assert.Equal(t, want, got)
}

// TestLoadLastFMErrors checks that each malformed file is reported with the
// file, the line and what was expected.
func TestLoadLastFMErrors(t *testing.T) {
	const (
		tags    = "tagID\ttagValue\n1\trock\n"
		artists = "id\tname\turl\tpictureURL\n1\tA\tu\tp\n"
		tagged  = "userID\tartistID\ttagID\tday\tmonth\tyear\n2\t1\t1\t1\t4\t2009\n"
	)
	tests := []struct {
		name  string
		files map[string]string // replaces the valid file of that name; "" = absent
		want  []string
	}{
		{"field count", map[string]string{"user_taggedartists.dat": tagged + "2\t1\t1\t1\t4\n"},
			[]string{"user_taggedartists.dat:3:", "got 5 tab-separated fields, expected 6 (userID, artistID, tagID, day, month, year)"}},
		{"month", map[string]string{"user_taggedartists.dat": tagged + "2\t1\t1\t1\t13\t2009\n"},
			[]string{"user_taggedartists.dat:3:", "month 13 is out of range (expected 1 to 12)"}},
		{"day", map[string]string{"user_taggedartists.dat": tagged + "2\t1\t1\t30\t2\t2009\n"},
			[]string{"user_taggedartists.dat:3:", "day 30 does not exist in 2009-02"}},
		{"year", map[string]string{"user_taggedartists.dat": tagged + "2\t1\t1\t1\t4\t'09\n"},
			[]string{"user_taggedartists.dat:3:", `year "'09" is not an integer`}},
		{"short year", map[string]string{"user_taggedartists.dat": tagged + "2\t1\t1\t1\t4\t9\n"},
			[]string{"user_taggedartists.dat:3:", "year 9 is not a four-digit year"}},
		{"unknown tag", map[string]string{"user_taggedartists.dat": tagged + "2\t1\t99\t1\t4\t2009\n"},
			[]string{"user_taggedartists.dat:3:", `tag id "99" is not in tags.dat`}},
		{"empty user", map[string]string{"user_taggedartists.dat": tagged + "\t1\t1\t1\t4\t2009\n"},
			[]string{"user_taggedartists.dat:3:", "user id is empty"}},
		{"header", map[string]string{"user_taggedartists.dat": "userID artistID tagID day month year\n"},
			[]string{"user_taggedartists.dat:1:", `expected the tab-separated header "userID\tartistID\ttagID\tday\tmonth\tyear"`}},
		{"empty file", map[string]string{"user_taggedartists.dat": "\n"},
			[]string{"user_taggedartists.dat:1:", "file is empty"}},
		{"duplicate artist", map[string]string{"artists.dat": artists + "1\tB\tu\tp\n"},
			[]string{"artists.dat:3:", `artist id "1" repeats line 2`}},
		{"artist fields", map[string]string{"artists.dat": artists + "2\tB\n"},
			[]string{"artists.dat:3:", "got 2 tab-separated fields, expected 4"}},
		{"artist encoding", map[string]string{"artists.dat": artists + "2\tB\xe9\tu\tp\n"},
			[]string{"artists.dat:3:", "not valid UTF-8"}},
		{"duplicate tag", map[string]string{"tags.dat": tags + "1\tpop\n"},
			[]string{"tags.dat:3:", `tag id "1" repeats line 2`}},
		{"empty tag name", map[string]string{"tags.dat": tags + "2\t \n"},
			[]string{"tags.dat:3:", `tag "2" has an empty tagValue`}},
		{"missing tags", map[string]string{"tags.dat": ""},
			[]string{`format "lastfm-hetrec" expects tags.dat`}},
		{"missing artists", map[string]string{"artists.dat": ""},
			[]string{`format "lastfm-hetrec" expects artists.dat`}},
		{"missing tag assignments", map[string]string{"user_taggedartists.dat": ""},
			[]string{`format "lastfm-hetrec" expects user_taggedartists.dat`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"tags.dat": tags, "artists.dat": artists, "user_taggedartists.dat": tagged}
			dir := t.TempDir()
			for name, body := range files {
				if b, ok := tc.files[name]; ok {
					body = b
				}
				if body != "" {
					require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
				}
			}
			_, err := Load(dir, FormatLastFMHetRec)
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

// TestLoadRealLastFM loads the Last.fm HetRec copy kept outside the
// repository, when present, and checks the figures its SOURCE.txt states.
func TestLoadRealLastFM(t *testing.T) {
	dir := filepath.Join(sharedData, "lastfm-hetrec2k")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("Last.fm HetRec not available (%v); this test reads %s outside the repository", err, dir)
	}
	d, err := Load(dir, FormatLastFMHetRec)
	require.NoError(t, err)
	checkInvariants(t, d)
	users := map[string]bool{}
	for _, in := range d.Interactions {
		users[in.User] = true
		tm := time.Unix(in.Time, 0).UTC()
		require.Equal(t, 1, tm.Day(), "interaction %+v is not dated at the first of a month", in)
		require.GreaterOrEqual(t, tm.Year(), 2005)
	}
	assert.Len(t, d.Interactions, 71062, "first (user, artist) tags after dropping the pre-2002 dates")
	assert.Len(t, users, 1892)
	assert.Len(t, d.Items, 12523)
	assert.Empty(t, d.Users)
	assert.Equal(t, "MALICE MIZER", d.Items[0].Title)
	named := 0
	for _, it := range d.Items {
		assert.NotEmpty(t, it.Categories, "artist %s has no tag", it.ID)
		assert.LessOrEqual(t, len(it.Categories), LastFMCategories)
		if it.Title != "" {
			named++
		}
		for _, c := range it.Categories {
			assert.False(t, strings.ContainsAny(c, "|\uFFFD"), "tag %q of artist %s", c, it.ID)
		}
	}
	assert.Equal(t, 12133, named, "tagged artists with a row in artists.dat")
}
