package dataset

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// FuzzLoadEdgerec feeds arbitrary bytes as interactions.csv next to a valid
// items.csv. Load must not panic; whatever it accepts must survive a
// WriteDir/Load round trip unchanged.
func FuzzLoadEdgerec(f *testing.F) {
	for _, s := range []string{
		"user_id,item_id,timestamp,value\nu1,i1,1767225600,1\nu2,i2,1767225601,4.5\n",
		"user_id,item_id,timestamp\nu1,i1,5\nu1,new,4\n",
		"user_id,item_id,timestamp,value\nu1,i1,abc,1\n",
		"user_id,item_id,timestamp,value\n\"u,1\",\"i\"\"1\",-7,\n",
		"user_id,item_id,timestamp,value\nu1,i1,1,1,1\n",
		"\uFEFFuser_id,item_id,timestamp\r\nu,i,9223372036854775807\r\n",
		"user_id,item_id,timestamp,value\nu1,\"i1,5,1\n",
		"",
	} {
		f.Add([]byte(s))
	}
	items, err := os.ReadFile("testdata/edgerec/items.csv")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, ItemsFile), items, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, InteractionsFile), data, 0o644); err != nil {
			t.Fatal(err)
		}
		d, err := Load(dir, FormatEdgerec)
		if err != nil {
			return
		}
		out := filepath.Join(t.TempDir(), filepath.Base(dir))
		if err := WriteDir(out, d); err != nil {
			t.Fatalf("WriteDir of a loaded dataset: %v", err)
		}
		again, err := Load(out, FormatEdgerec)
		if err != nil {
			t.Fatalf("reloading written dataset: %v", err)
		}
		if !reflect.DeepEqual(d, again) {
			t.Fatalf("round trip changed the dataset:\n got %+v\nwant %+v", again, d)
		}
	})
}

// FuzzLoadLastFM feeds arbitrary bytes as user_taggedartists.dat beside
// lastFMFixture's tags.dat and artists.dat. Load must not panic; whatever it
// accepts must satisfy the Dataset post-conditions, date every interaction
// at the first of a month and give each item at most LastFMCategories
// categories.
func FuzzLoadLastFM(f *testing.F) {
	const header = "userID\tartistID\ttagID\tday\tmonth\tyear\n"
	for _, s := range []string{
		header + "7\t20\t1\t1\t3\t2009\n7\t20\t2\t1\t2\t2009\n",
		header + "8\t10\t3\t1\t1\t1956\n8\t40\t4\t31\t12\t2008\r\n\n",
		header + "7\t20\t1\t29\t2\t2009\n",
		header + "7\t20\t9\t1\t3\t2009\n",
		header + "7\t20\t1\t1\t3\n",
		"\uFEFF" + header + " 7 \t 20 \t 1 \t 1 \t 3 \t 2009 \n",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"tags.dat": lastFMFixture["tags.dat"],
			"artists.dat": lastFMFixture["artists.dat"], "user_taggedartists.dat": string(data)})
		d, err := Load(dir, FormatLastFMHetRec)
		if err != nil {
			return
		}
		checkInvariants(t, d)
		for _, in := range d.Interactions {
			if tm := time.Unix(in.Time, 0).UTC(); tm.Day() != 1 || tm.Hour() != 0 || in.Value != 1 {
				t.Fatalf("interaction %+v not at the first of a month with value 1", in)
			}
		}
		for _, it := range d.Items {
			if len(it.Categories) > LastFMCategories {
				t.Fatalf("item %s has %d categories", it.ID, len(it.Categories))
			}
		}
	})
}
