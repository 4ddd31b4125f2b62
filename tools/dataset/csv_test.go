package dataset

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/edgerec/edgerec/core/api"
)

// writeCSVFiles writes name → content into a temporary directory and returns
// the directory.
func writeCSVFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadCSV(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		opts  CSVOptions
		want  *Dataset
	}{
		{
			name: "csv with value, items and users",
			files: map[string]string{
				"log.csv": "\uFEFFuid, movie ,ts,stars,extra\n" +
					"u2,m1,200,4.5,x\n" +
					"u1,m2,100,,y\n" +
					"\n" +
					"u1,m9,100,3,\"a, b\"\n",
				"items.csv": "movie,name,genres\nm1,\"Heat, 1995\",Action|Crime\nm2,Quiet,\nm3,Unseen,Drama\n",
				"users.csv": "uid,age,sex,job\nu1,34,f,doctor\nu2,,m,\n",
			},
			opts: CSVOptions{
				UserCol: "uid", ItemCol: "movie", TimeCol: "ts", ValueCol: "stars",
				ItemsPath: "items.csv", ItemTitleCol: "name", ItemCatsCol: "genres",
				UsersPath: "users.csv", UserAgeCol: "age", UserGenderCol: "sex", UserAttrCols: []string{"job"},
			},
			want: &Dataset{
				Name: "log",
				Items: []Item{
					{ID: "m1", Title: "Heat, 1995", Categories: []string{"Action", "Crime"}, Available: true},
					{ID: "m2", Title: "Quiet", Available: true},
					{ID: "m3", Title: "Unseen", Categories: []string{"Drama"}, Available: true},
					{ID: "m9", Available: true},
				},
				Users: []User{{ID: "u1", Context: api.Context{Age: 34, Gender: "f", Attrs: map[string]string{"job": "doctor"}}}, {ID: "u2", Context: api.Context{Gender: "m"}}},
				Interactions: []Interaction{
					{User: "u1", Item: "m2", Time: 100, Value: 1},
					{User: "u1", Item: "m9", Time: 100, Value: 3},
					{User: "u2", Item: "m1", Time: 200, Value: 4.5},
				},
			},
		},
		{
			name: "tsv with a time layout and bare quotes",
			files: map[string]string{
				"events.tsv": "user\titem\twhen\n" +
					"a\tx\"1\t2024-03-01 12:00:00\n" +
					"b\ty\t2024-03-01 11:00:00\n",
			},
			opts: CSVOptions{UserCol: "user", ItemCol: "item", TimeCol: "when", TimeLayout: "2006-01-02 15:04:05"},
			want: &Dataset{
				Name:  "events",
				Items: []Item{{ID: "y", Available: true}, {ID: `x"1`, Available: true}},
				Interactions: []Interaction{
					{User: "b", Item: "y", Time: 1709290800, Value: 1},
					{User: "a", Item: `x"1`, Time: 1709294400, Value: 1},
				},
			},
		},
		{
			name:  "semicolons and milliseconds",
			files: map[string]string{"clicks.txt": "u;i;t\n1;2;1700000000999\n1;3;-1500\n"},
			opts:  CSVOptions{UserCol: "u", ItemCol: "i", TimeCol: "t", TimeLayout: TimeUnixMs},
			want: &Dataset{
				Name:  "clicks",
				Items: []Item{{ID: "3", Available: true}, {ID: "2", Available: true}},
				Interactions: []Interaction{
					{User: "1", Item: "3", Time: -2, Value: 1},
					{User: "1", Item: "2", Time: 1700000000, Value: 1},
				},
			},
		},
		{
			name:  "explicit delimiter",
			files: map[string]string{"p.csv": "u|i|t\nA|B|5\n"},
			opts:  CSVOptions{UserCol: "u", ItemCol: "i", TimeCol: "t", Delimiter: '|'},
			want: &Dataset{
				Name: "p", Items: []Item{{ID: "B", Available: true}},
				Interactions: []Interaction{{User: "A", Item: "B", Time: 5, Value: 1}},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeCSVFiles(t, tc.files)
			opts := tc.opts
			if opts.ItemsPath != "" {
				opts.ItemsPath = filepath.Join(dir, opts.ItemsPath)
			}
			if opts.UsersPath != "" {
				opts.UsersPath = filepath.Join(dir, opts.UsersPath)
			}
			var log string
			for name := range tc.files {
				if !strings.HasPrefix(name, "items") && !strings.HasPrefix(name, "users") {
					log = filepath.Join(dir, name)
				}
			}
			got, err := LoadCSV(log, opts)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("LoadCSV =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

func TestLoadCSVErrors(t *testing.T) {
	basic := CSVOptions{UserCol: "u", ItemCol: "i", TimeCol: "t"}
	tests := []struct {
		name  string
		log   string
		items string
		opts  CSVOptions
		want  string // the error message without the directory
	}{
		{"missing column", "u,item,t\n", "", basic,
			`log.csv:1: no column "i" (the item ID) in the header; the columns are "u", "item", "t"`},
		{"field count", "u,i,t\n1,2,3\n1,2\n", "", basic,
			"log.csv:3: got 2 fields, expected 3 as in the header"},
		{"bad timestamp", "u,i,t\n1,2,3\n\n1,2,noon\n", "", basic,
			`log.csv:4: t "noon" is not an integer (expected Unix seconds)`},
		{"bad layout match", "u,i,t\n1,2,2024-13-01\n", "", CSVOptions{UserCol: "u", ItemCol: "i", TimeCol: "t", TimeLayout: "2006-01-02"},
			`log.csv:2: t "2024-13-01" does not match layout "2006-01-02"`},
		{"empty user", "u,i,t\n ,2,3\n", "", basic,
			"log.csv:2: u is empty (expected a non-empty ID)"},
		{"bad value", "u,i,t,v\n1,2,3,NaN\n", "", CSVOptions{UserCol: "u", ItemCol: "i", TimeCol: "t", ValueCol: "v"},
			`log.csv:2: v "NaN" is not a finite decimal number`},
		{"bad quotes", "u,i,t\n1,\"2,3\n", "", basic,
			"log.csv:2: malformed CSV"},
		{"empty file", "", "", basic,
			"log.csv:1: file is empty, expected a header row naming the columns"},
		{"duplicate header", "u,i,t,i\n", "", basic,
			`log.csv:1: column "i" appears twice in the header`},
		{"duplicate item", "u,i,t\n1,2,3\n", "i,title\n2,a\n3,b\n2,c\n", CSVOptions{UserCol: "u", ItemCol: "i", TimeCol: "t", ItemTitleCol: "title"},
			`items.csv:4: i "2" repeats line 2 (expected unique IDs)`},
		{"missing option", "u,i,t\n", "", CSVOptions{UserCol: "u", ItemCol: "i"},
			"CSVOptions.TimeCol is empty"},
		{"bad delimiter", "u,i,t\n", "", CSVOptions{UserCol: "u", ItemCol: "i", TimeCol: "t", Delimiter: '"'},
			"is not supported"},
		{"not a layout", "u,i,t\n", "", CSVOptions{UserCol: "u", ItemCol: "i", TimeCol: "t", TimeLayout: "iso"},
			`time layout "iso" is not a Go time layout`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"log.csv": tc.log}
			if tc.items != "" {
				files["items.csv"] = tc.items
				tc.opts.ItemsPath = "items.csv"
			}
			dir := writeCSVFiles(t, files)
			if tc.opts.ItemsPath != "" {
				tc.opts.ItemsPath = filepath.Join(dir, tc.opts.ItemsPath)
			}
			_, err := LoadCSV(filepath.Join(dir, "log.csv"), tc.opts)
			if err == nil {
				t.Fatal("no error")
			}
			msg := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q, want it to contain %q", msg, tc.want)
			}
			var fe *FormatError
			if strings.HasPrefix(tc.want, "log.csv:") || strings.HasPrefix(tc.want, "items.csv:") {
				if !errors.As(err, &fe) {
					t.Errorf("error %T is not a *FormatError", err)
				}
			}
		})
	}
	if _, err := LoadCSV(filepath.Join(t.TempDir(), "none.csv"), basic); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: error %v, want one wrapping os.ErrNotExist", err)
	}
}
