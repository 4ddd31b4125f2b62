package dataset

import (
	"os"
	"path/filepath"
	"testing"
)

// movieLensFixtures are tiny hand-made files in the MovieLens layouts. They
// are written at test time rather than kept under testdata, so that no file
// in the repository carries the name of a licensed MovieLens file; none of
// their lines comes from the real data sets.
var movieLensFixtures = map[string]map[string]string{
	"ml-100k": {
		"u.data":  "1\t1\t4\t874965758\n2\t2\t3\t876893171\n1\t3\t1\t874965758\n2\t9\t4\t876893000\n",
		"u.genre": "unknown|0\nAction|1\nComedy|2\n\n",
		"u.item":  "1|Toy Story (1995)|01-Jan-1995||http://x|0|0|1\n2|Cit\xe9 des enfants perdus, La (1995)|01-Jan-1995||http://x|0|1|0\n3|unknown||||1|0|0\n4|Undated|05-Mar-1997||http://x|0|1|1\n",
		"u.user":  "1|24|M|technician|85799\n2|53|F|other|T8H1N\n",
	},
	"ml-1m": {
		"movies.dat":  "1::Toy Story (1995)::Animation|Children's|Comedy\n2::Mis\xe9rables, Les (1995)::Drama|Musical\n3::Untitled Project::\n",
		"ratings.dat": "1::1::5::978300760\n1::2::3::978302109\n2::1::4::978300760\n3::4::2::978301968\n",
		"users.dat":   "1::F::1::10::48067\n2::M::56::16::70072-1234\n3::M::25::15::\n",
	},
	"ml-latest": {
		"movies.csv":  "movieId,title,genres\n1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n11,\"American President, The (1995)\",Comedy|Drama|Romance\n27008,From Dusk Till Dawn 2: Texas Blood Money (1999) ,Comedy|Crime|Horror\n171749,Death Note: Desu n\xc3\xb4to (2006\xe2\x80\x932007),(no genres listed)\n40697,Babylon 5,Sci-Fi\n",
		"ratings.csv": "userId,movieId,rating,timestamp\n1,1,4.0,964982704\n1,11,4.5,964981247\n2,40697,0.5,964981247\n2,171749,3.0,1000000000\n",
	},
}

// fixtureDir writes the named fixture into a fresh directory of that name
// and returns its path.
func fixtureDir(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for file, content := range movieLensFixtures[name] {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
