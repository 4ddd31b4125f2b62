package dataset

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/edgerec/edgerec/core/api"
)

// sharedData is where the real MovieLens copies live on the build machine;
// they are never copied into the repository.
const sharedData = "../../../shared/data"

func TestLoadFixtures(t *testing.T) {
	tests := []struct {
		name, dir, format string
		want              *Dataset
	}{
		{
			name: "edgerec", dir: "testdata/edgerec", format: FormatEdgerec,
			want: &Dataset{
				Name: "edgerec",
				Items: []Item{
					{ID: "i1", Title: "Star Orbit, Part 2", Categories: []string{"sci-fi", "adventure"}, Tags: []string{"space", "classic"}, Price: 3.99, Released: 1767225600, Available: true, AgeRating: 13},
					{ID: "i2", Title: "Quiet Heart", Categories: []string{"drama"}, Regions: []string{"eu-west", "us-east"}},
					{ID: "i3", Title: `Say "hi"`, Released: -86400, Available: true, AgeRating: 18, Regions: []string{"apac"}},
					{ID: "i9", Available: true},
				},
				Users: []User{{ID: "u1", Context: api.Context{Age: 34, Gender: "f", Region: "eu-west", Device: "mobile"}}, {ID: "u2"}},
				Interactions: []Interaction{
					{User: "u1", Item: "i9", Time: 1767225600, Value: 1},
					{User: "u1", Item: "i1", Time: 1767225700, Value: 1},
					{User: "u2", Item: "i2", Time: 1767225700, Value: 1},
				},
			},
		},
		{
			name: "movielens-1m", dir: "ml-1m", format: FormatMovieLens1M,
			want: &Dataset{
				Name: "ml-1m",
				Items: []Item{
					{ID: "1", Title: "Toy Story (1995)", Categories: []string{"Animation", "Children's", "Comedy"}, Released: 788918400, Available: true},
					{ID: "2", Title: "Misérables, Les (1995)", Categories: []string{"Drama", "Musical"}, Released: 788918400, Available: true},
					{ID: "3", Title: "Untitled Project", Available: true},
					{ID: "4", Available: true},
				},
				Users: []User{
					{ID: "1", Context: api.Context{Age: 1, Gender: "f", Region: "zip4", Attrs: map[string]string{"occupation": "10"}}},
					{ID: "2", Context: api.Context{Age: 56, Gender: "m", Region: "zip7", Attrs: map[string]string{"occupation": "16"}}},
					{ID: "3", Context: api.Context{Age: 25, Gender: "m", Attrs: map[string]string{"occupation": "15"}}},
				},
				Interactions: []Interaction{
					{User: "1", Item: "1", Time: 978300760, Value: 5},
					{User: "2", Item: "1", Time: 978300760, Value: 4},
					{User: "3", Item: "4", Time: 978301968, Value: 2},
					{User: "1", Item: "2", Time: 978302109, Value: 3},
				},
			},
		},
		{
			name: "movielens-100k", dir: "ml-100k", format: FormatMovieLens100K,
			want: &Dataset{
				Name: "ml-100k",
				Items: []Item{
					{ID: "1", Title: "Toy Story (1995)", Categories: []string{"Comedy"}, Released: 788918400, Available: true},
					{ID: "2", Title: "Cité des enfants perdus, La (1995)", Categories: []string{"Action"}, Released: 788918400, Available: true},
					{ID: "3", Title: "unknown", Available: true},
					{ID: "4", Title: "Undated", Categories: []string{"Action", "Comedy"}, Released: 852076800, Available: true},
					{ID: "9", Available: true},
				},
				Users: []User{{ID: "1", Context: api.Context{Age: 24, Gender: "m", Region: "zip8", Attrs: map[string]string{"occupation": "technician"}}}, {ID: "2", Context: api.Context{Age: 53, Gender: "f", Region: "zipT", Attrs: map[string]string{"occupation": "other"}}}},
				Interactions: []Interaction{
					{User: "1", Item: "1", Time: 874965758, Value: 4},
					{User: "1", Item: "3", Time: 874965758, Value: 1},
					{User: "2", Item: "9", Time: 876893000, Value: 4},
					{User: "2", Item: "2", Time: 876893171, Value: 3},
				},
			},
		},
		{
			name: "movielens-latest", dir: "ml-latest", format: FormatMovieLensLatest,
			want: &Dataset{
				Name: "ml-latest",
				Items: []Item{
					{ID: "1", Title: "Toy Story (1995)", Categories: []string{"Adventure", "Animation", "Children", "Comedy", "Fantasy"}, Released: 788918400, Available: true},
					{ID: "11", Title: "American President, The (1995)", Categories: []string{"Comedy", "Drama", "Romance"}, Released: 788918400, Available: true},
					{ID: "27008", Title: "From Dusk Till Dawn 2: Texas Blood Money (1999)", Categories: []string{"Comedy", "Crime", "Horror"}, Released: 915148800, Available: true},
					{ID: "171749", Title: "Death Note: Desu nôto (2006–2007)", Released: 1136073600, Available: true},
					{ID: "40697", Title: "Babylon 5", Categories: []string{"Sci-Fi"}, Available: true},
				},
				Interactions: []Interaction{
					{User: "1", Item: "11", Time: 964981247, Value: 4.5},
					{User: "2", Item: "40697", Time: 964981247, Value: 0.5},
					{User: "1", Item: "1", Time: 964982704, Value: 4},
					{User: "2", Item: "171749", Time: 1000000000, Value: 3},
				},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.dir
			if _, ok := movieLensFixtures[dir]; ok {
				dir = fixtureDir(t, dir)
			}
			got, err := Load(dir, tc.format)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Load(%q, %q) =\n%+v\nwant\n%+v", tc.dir, tc.format, got, tc.want)
			}
		})
	}
}

// TestLoadErrors checks that malformed input gives an error naming the file,
// the line and what was expected.
func TestLoadErrors(t *testing.T) {
	const items = "item_id,title,categories,tags,price,released,available,age_rating,regions\ni1,T,,,1,0,true,0,\n"
	const inter = "user_id,item_id,timestamp,value\nu1,i1,5,1\n"
	tests := []struct {
		name   string
		format string
		files  map[string]string
		want   []string // substrings of the error
	}{
		{"bad timestamp", FormatEdgerec, map[string]string{"items.csv": items, "interactions.csv": inter + "u1,i1,5,1\nu1,i1,abc,1\n"},
			[]string{"interactions.csv:4:", `timestamp "abc" is not an integer (expected Unix seconds)`}},
		{"column count", FormatEdgerec, map[string]string{"items.csv": items, "interactions.csv": inter + "u1,i1\n"},
			[]string{"interactions.csv:3:", "got 2 fields, expected 4"}},
		{"three-column rows under four-column header", FormatEdgerec, map[string]string{"items.csv": items, "interactions.csv": inter + "u1,i1,7\n"},
			[]string{"interactions.csv:3:", "got 3 fields, expected 4"}},
		{"bad value", FormatEdgerec, map[string]string{"items.csv": items, "interactions.csv": inter + "u1,i1,7,NaN\n"},
			[]string{"interactions.csv:3:", `value "NaN" is not a finite decimal`}},
		{"empty user", FormatEdgerec, map[string]string{"items.csv": items, "interactions.csv": inter + ",i1,7,1\n"},
			[]string{"interactions.csv:3:", "user_id is empty"}},
		{"bad header", FormatEdgerec, map[string]string{"items.csv": items, "interactions.csv": "user,item,ts\n"},
			[]string{"interactions.csv:1:", `expected "user_id,item_id,timestamp,value" or "user_id,item_id,timestamp"`}},
		{"empty interactions", FormatEdgerec, map[string]string{"items.csv": items, "interactions.csv": ""},
			[]string{"interactions.csv:1:", "file is empty"}},
		{"bad quote", FormatEdgerec, map[string]string{"items.csv": items, "interactions.csv": inter + "u1,\"i1,7,1\n"},
			[]string{"interactions.csv:3:", "malformed CSV"}},
		{"bad price", FormatEdgerec, map[string]string{"items.csv": items + "i2,T,,,cheap,0,true,0,\n", "interactions.csv": inter},
			[]string{"items.csv:3:", `price "cheap" is not a finite decimal`}},
		{"negative price", FormatEdgerec, map[string]string{"items.csv": items + "i2,T,,,-1,0,true,0,\n", "interactions.csv": inter},
			[]string{"items.csv:3:", "negative"}},
		{"bad available", FormatEdgerec, map[string]string{"items.csv": items + "i2,T,,,1,0,yes,0,\n", "interactions.csv": inter},
			[]string{"items.csv:3:", `available "yes" is not a boolean (expected true, false, 1 or 0)`}},
		{"bad age rating", FormatEdgerec, map[string]string{"items.csv": items + "i2,T,,,1,0,true,-3,\n", "interactions.csv": inter},
			[]string{"items.csv:3:", `age_rating "-3" is not a non-negative integer`}},
		{"duplicate item", FormatEdgerec, map[string]string{"items.csv": items + "i1,T,,,1,0,true,0,\n", "interactions.csv": inter},
			[]string{"items.csv:3:", `item_id "i1" repeats line 2`}},
		{"item column count", FormatEdgerec, map[string]string{"items.csv": items + "i2,T\n", "interactions.csv": inter},
			[]string{"items.csv:3:", "got 2 fields, expected 9"}},
		{"bad user age", FormatEdgerec, map[string]string{"items.csv": items, "interactions.csv": inter, "users.csv": "user_id,age,gender,region,device\nu1,old,,,\n"},
			[]string{"users.csv:2:", `age "old"`}},
		{"missing items", FormatEdgerec, map[string]string{"interactions.csv": inter},
			[]string{`format "edgerec" expects items.csv`}},
		{"missing interactions", FormatEdgerec, map[string]string{"items.csv": items},
			[]string{`format "edgerec" expects interactions.csv`}},
		{"unknown format", "parquet", nil,
			[]string{`unknown format "parquet"`, "edgerec, movielens-100k, movielens-1m, movielens-latest, lastfm-hetrec"}},
		{"1m field count", FormatMovieLens1M, map[string]string{"movies.dat": "1::A (1990)::Drama\n", "users.dat": "1::F::1::10::48067\n", "ratings.dat": "1::1::5::978300760\n\n1::1::5\n"},
			[]string{"ratings.dat:3:", "got 3 '::'-separated fields, expected 4"}},
		{"1m bad rating", FormatMovieLens1M, map[string]string{"movies.dat": "1::A (1990)::Drama\n", "users.dat": "1::F::1::10::48067\n", "ratings.dat": "1::1::five::978300760\n"},
			[]string{"ratings.dat:1:", `rating "five"`}},
		{"1m duplicate movie", FormatMovieLens1M, map[string]string{"movies.dat": "1::A (1990)::Drama\n1::B::Drama\n", "users.dat": "", "ratings.dat": ""},
			[]string{"movies.dat:2:", `movie id "1" repeats line 1`}},
		{"1m missing users", FormatMovieLens1M, map[string]string{"movies.dat": "1::A (1990)::Drama\n", "ratings.dat": ""},
			[]string{`format "movielens-1m" expects users.dat`}},
		{"100k genre flag", FormatMovieLens100K, map[string]string{"u.genre": "unknown|0\nDrama|1\n", "u.item": "1|A (1990)|||x|0|2\n", "u.user": "", "u.data": ""},
			[]string{"u.item:1:", `genre flag 1 (Drama) is "2", expected 0 or 1`}},
		{"100k item fields", FormatMovieLens100K, map[string]string{"u.genre": "unknown|0\nDrama|1\n", "u.item": "1|A (1990)|||x|0\n", "u.user": "", "u.data": ""},
			[]string{"u.item:1:", "got 6 '|'-separated fields, expected 7"}},
		{"100k data tabs", FormatMovieLens100K, map[string]string{"u.genre": "unknown|0\n", "u.item": "", "u.user": "", "u.data": "1 2 3 4\n"},
			[]string{"u.data:1:", "expected 4 (user id, item id, rating, timestamp)"}},
		{"latest header", FormatMovieLensLatest, map[string]string{"movies.csv": "id,title,genres\n", "ratings.csv": ""},
			[]string{"movies.csv:1:", `expected "movieId,title,genres"`}},
		{"latest missing ratings", FormatMovieLensLatest, map[string]string{"movies.csv": "movieId,title,genres\n"},
			[]string{`format "movielens-latest" expects ratings.csv`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Load(dir, tc.format)
			if err == nil {
				t.Fatalf("Load succeeded, want error containing %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadMissingFileIsNotExist(t *testing.T) {
	_, err := Load(t.TempDir(), FormatMovieLens100K)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want one wrapping fs.ErrNotExist", err)
	}
}

func TestFormatErrorAs(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"items.csv":        "item_id,title,categories,tags,price,released,available,age_rating,regions\n",
		"interactions.csv": "user_id,item_id,timestamp\nu,i,x\n",
	})
	_, err := Load(dir, FormatEdgerec)
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v, want a *FormatError", err)
	}
	if fe.File != filepath.Join(dir, "interactions.csv") || fe.Line != 2 {
		t.Errorf("FormatError at %s:%d, want %s:2", fe.File, fe.Line, filepath.Join(dir, "interactions.csv"))
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	want := &Dataset{
		Items: []Item{
			{ID: "a", Title: `Tricky, "quoted"` + "\nline", Categories: []string{"drama", "sci-fi"}, Tags: []string{"x y"}, Price: 0.1, Released: 1767225600, Available: true, AgeRating: 13, Regions: []string{"eu-west"}},
			{ID: "b", Title: "  spaced  ", Price: 1e-7, Released: -5},
			{ID: "never-seen", Title: "ünïcode", Available: true},
		},
		Users: []User{{ID: "u1", Context: api.Context{Age: 80, Gender: "x", Region: "apac", Device: "tv"}}, {ID: "u,2"}},
		Interactions: []Interaction{
			{User: "u1", Item: "a", Time: 10, Value: 1},
			{User: "u,2", Item: "a", Time: 11, Value: 0.3333333333333333},
			{User: "u1", Item: "b", Time: 11, Value: -2.5},
			{User: "u1", Item: "c", Time: 12, Value: 1},
		},
	}
	want.Normalize()
	dir := filepath.Join(t.TempDir(), "rt")
	if err := WriteDir(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir, FormatEdgerec)
	if err != nil {
		t.Fatal(err)
	}
	want.Name = "rt"
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
}

func TestWriteDirRejects(t *testing.T) {
	tests := []struct {
		name string
		d    Dataset
		want string
	}{
		{"empty item ID", Dataset{Items: []Item{{}}}, "item 0 ID is empty"},
		{"duplicate item", Dataset{Items: []Item{{ID: "a"}, {ID: "a"}}}, `ID "a" is not unique`},
		{"pipe in category", Dataset{Items: []Item{{ID: "a", Categories: []string{"x|y"}}}}, `categories element "x|y"`},
		{"NaN price", Dataset{Items: []Item{{ID: "a", Price: nan()}}}, "price NaN"},
		{"spaced user", Dataset{Users: []User{{ID: " u"}}}, "surrounding spaces"},
		{"infinite value", Dataset{Interactions: []Interaction{{User: "u", Item: "i", Value: -inf()}}}, "not finite"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			err := WriteDir(dir, &tc.d)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("WriteDir error = %v, want one containing %q", err, tc.want)
			}
			if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("WriteDir created %s despite the error", dir)
			}
		})
	}
}

func nan() float64 { var z float64; return z / z }
func inf() float64 { var z float64; return 1 / z }

func TestHelpers(t *testing.T) {
	d, err := Load("testdata/edgerec", FormatEdgerec)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.ItemIndex(); len(got) != 4 || got["i9"] != 3 || got["i1"] != 0 {
		t.Errorf("ItemIndex = %v", got)
	}
	if got := d.UserIndex(); len(got) != 2 || got["u2"] != 1 {
		t.Errorf("UserIndex = %v", got)
	}
	by := d.ByUser()
	if got := by["u1"]; len(got) != 2 || got[0].Item != "i9" || got[1].Item != "i1" {
		t.Errorf("ByUser[u1] = %v, want i9 then i1", got)
	}
	if len(by) != 2 {
		t.Errorf("ByUser has %d users, want 2", len(by))
	}
	if got := Formats(); !slices.Equal(got, []string{"edgerec", "movielens-100k", "movielens-1m", "movielens-latest", "lastfm-hetrec"}) {
		t.Errorf("Formats() = %v", got)
	}
	if h := FormatHelp(); strings.Count(h, "\n") != 5 {
		t.Errorf("FormatHelp() = %q, want 5 lines", h)
	}
}

// TestLoadRealMovieLens loads the full MovieLens copies kept outside the
// repository, when present.
func TestLoadRealMovieLens(t *testing.T) {
	tests := []struct {
		dir, format                string
		items, users, interactions int
		title                      string // title of the first item
	}{
		{"ml-100k", FormatMovieLens100K, 1682, 943, 100000, "Toy Story (1995)"},
		{"ml-latest-small", FormatMovieLensLatest, 9742, 0, 100836, "Toy Story (1995)"},
	}
	for _, tc := range tests {
		t.Run(tc.format, func(t *testing.T) {
			dir := filepath.Join(sharedData, tc.dir)
			if _, err := os.Stat(dir); err != nil {
				t.Skipf("real data not available (%v); this test reads %s outside the repository", err, dir)
			}
			d, err := Load(dir, tc.format)
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Items) != tc.items || len(d.Users) != tc.users || len(d.Interactions) != tc.interactions {
				t.Errorf("got %d items, %d users, %d interactions; want %d, %d, %d",
					len(d.Items), len(d.Users), len(d.Interactions), tc.items, tc.users, tc.interactions)
			}
			if d.Items[0].Title != tc.title {
				t.Errorf("first title %q, want %q", d.Items[0].Title, tc.title)
			}
			checkInvariants(t, d)
		})
	}
}

// checkInvariants verifies the post-conditions documented on Dataset.
func checkInvariants(t *testing.T, d *Dataset) {
	t.Helper()
	idx := d.ItemIndex()
	if len(idx) != len(d.Items) {
		t.Errorf("item IDs are not unique: %d IDs for %d items", len(idx), len(d.Items))
	}
	for i, in := range d.Interactions {
		if _, ok := idx[in.Item]; !ok {
			t.Fatalf("interaction %d: item %q not in Items", i, in.Item)
		}
		if i > 0 && compareInteractions(d.Interactions[i-1], in) > 0 {
			t.Fatalf("interactions %d and %d out of order", i-1, i)
		}
	}
	for _, it := range d.Items {
		if !utf8.ValidString(it.Title) || strings.ContainsRune(it.Title, '\uFFFD') {
			t.Errorf("title %q is not clean UTF-8 (bad decoding)", it.Title)
		}
	}
}
