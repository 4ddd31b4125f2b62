package dataset

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
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
