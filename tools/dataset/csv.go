package dataset

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/edgerec/edgerec/core/api"
)

// FormatCSV names the generic CSV/TSV interaction log read by [LoadCSV].
// It is not one of [Formats]: [Load] takes no column mapping.
const FormatCSV = "csv"

// Time layouts of [CSVOptions].TimeLayout beside Go time layouts.
const (
	TimeUnix   = "unix"   // integer Unix seconds (the default)
	TimeUnixMs = "unixms" // integer Unix milliseconds
)

// CSVOptions maps the columns of a generic interaction log, and of its
// optional item and user tables, onto a [Dataset] (see [LoadCSV]). Columns
// are named as in each file's header row. Only UserCol, ItemCol and
// TimeCol are required.
type CSVOptions struct {
	// UserCol, ItemCol and TimeCol name the interaction file's user ID,
	// item ID and timestamp columns.
	UserCol, ItemCol, TimeCol string
	// ValueCol names an optional rating or weight column ("" = every Value
	// is 1; an empty field also gives 1).
	ValueCol string
	// TimeLayout says how TimeCol is written: "" or TimeUnix for integer
	// Unix seconds, TimeUnixMs for integer milliseconds (rounded down to
	// seconds), or a Go time layout such as "2006-01-02T15:04:05Z07:00" or
	// "2006-01-02 15:04:05" (see time.Parse; a time without a zone is
	// UTC).
	TimeLayout string
	// Delimiter separates fields in every file: ',', '\t', ';' or '|', or
	// 0 to detect it per file from the header line (a tab if it has one,
	// else ';' if it has a ';' and no ',', else ',').
	Delimiter rune

	// ItemsPath is an optional item table. ItemIDCol names its ID column
	// ("" = ItemCol); ItemTitleCol and ItemCatsCol optional title and
	// categories columns, categories separated by '|'.
	ItemsPath                            string
	ItemIDCol, ItemTitleCol, ItemCatsCol string

	// UsersPath is an optional user table. UserIDCol names its ID column
	// ("" = UserCol); the other columns are optional: age in years (empty
	// or 0 = unknown), gender, region and device as free text, and
	// UserAttrCols further categorical attributes, kept in User.Attrs
	// under their column names.
	UsersPath                            string
	UserIDCol, UserAgeCol, UserGenderCol string
	UserRegionCol, UserDeviceCol         string
	UserAttrCols                         []string
}

// LoadCSV reads a generic interaction log from the CSV or TSV file at path,
// and the item and user tables opts names, as mapped by opts.
//
// Each file starts with a header row naming its columns (a UTF-8 byte-order
// mark and spaces around names are ignored; names are case-sensitive);
// other columns are ignored. Fields follow RFC 4180 as read by
// encoding/csv with the chosen delimiter (tab-separated files may have
// bare quotes inside fields); blank lines are skipped; IDs are trimmed of
// spaces and must not be empty. Every row is an interaction; items
// missing from the item table get a bare entry, and items and users must
// be unique in their tables.
//
// The result satisfies the post-conditions documented on [Dataset]; its
// Name is the base name of path without its extension. Errors: invalid
// options; a missing file; malformed content, as a *FormatError naming the
// file and line, for example
//
//	log.tsv:12: time "2024-13-01" does not match layout "2006-01-02"
func LoadCSV(path string, opts CSVOptions) (*Dataset, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	d := &Dataset{Name: strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))}
	var err error
	if d.Interactions, err = readCSVInteractions(path, &opts); err != nil {
		return nil, err
	}
	if opts.ItemsPath != "" {
		if d.Items, err = readCSVItems(&opts); err != nil {
			return nil, err
		}
	}
	if opts.UsersPath != "" {
		if d.Users, err = readCSVUsers(&opts); err != nil {
			return nil, err
		}
	}
	d.Normalize()
	return d, nil
}

func (o *CSVOptions) check() error {
	for _, c := range []struct{ flag, v string }{{"UserCol", o.UserCol}, {"ItemCol", o.ItemCol}, {"TimeCol", o.TimeCol}} {
		if strings.TrimSpace(c.v) == "" {
			return fmt.Errorf("dataset: CSVOptions.%s is empty: name the column of the interaction file's header", c.flag)
		}
	}
	switch o.Delimiter {
	case 0, ',', '\t', ';', '|':
	default:
		return fmt.Errorf("dataset: delimiter %q is not supported (use ',', tab, ';', '|' or auto-detection)", o.Delimiter)
	}
	if o.TimeLayout != "" && o.TimeLayout != TimeUnix && o.TimeLayout != TimeUnixMs {
		// A layout must at least print a time that parses back.
		probe := time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC)
		if _, err := time.Parse(o.TimeLayout, probe.Format(o.TimeLayout)); err != nil || !strings.ContainsAny(o.TimeLayout, "0123456789") {
			return fmt.Errorf("dataset: time layout %q is not a Go time layout (write the reference time Mon Jan 2 15:04:05 MST 2006 as your data does, e.g. 2006-01-02), %q or %q", o.TimeLayout, TimeUnix, TimeUnixMs)
		}
	}
	return nil
}

// namedTable is a csvTable whose columns are looked up by header name.
type namedTable struct {
	*csvTable
	f    *os.File
	cols map[string]int
	n    int // fields per row
}

// openNamed opens path, detects or sets its delimiter and reads its header.
func openNamed(path string, delim rune) (*namedTable, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	br := bufio.NewReaderSize(f, 1<<16)
	if delim == 0 {
		head, _ := br.Peek(br.Size())
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			head = head[:i]
		}
		switch {
		case bytes.IndexByte(head, '\t') >= 0:
			delim = '\t'
		case bytes.IndexByte(head, ';') >= 0 && bytes.IndexByte(head, ',') < 0:
			delim = ';'
		default:
			delim = ','
		}
	}
	t := newCSVTable(path, br)
	t.r.Comma = delim
	t.r.LazyQuotes = delim == '\t'
	rec, err := t.next()
	if err == io.EOF {
		f.Close()
		return nil, &FormatError{File: path, Line: 1, Msg: "file is empty, expected a header row naming the columns"}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	nt := &namedTable{csvTable: t, f: f, cols: make(map[string]int, len(rec)), n: len(rec)}
	for i, name := range rec {
		if i == 0 {
			name = strings.TrimPrefix(name, "\uFEFF")
		}
		name = strings.TrimSpace(name)
		if _, dup := nt.cols[name]; dup {
			f.Close()
			return nil, t.errorf("column %q appears twice in the header", name)
		}
		nt.cols[name] = i
	}
	return nt, nil
}

// col returns the index of the named column; an empty name gives −1.
func (t *namedTable) col(name, what string) (int, error) {
	if name == "" {
		return -1, nil
	}
	i, ok := t.cols[name]
	if !ok {
		names := make([]string, len(t.cols))
		for n, j := range t.cols {
			names[j] = strconv.Quote(n)
		}
		return 0, &FormatError{File: t.path, Line: 1, Msg: fmt.Sprintf("no column %q (the %s) in the header; the columns are %s", name, what, strings.Join(names, ", "))}
	}
	return i, nil
}

// rows calls fn with each row after the header, checking its field count.
func (t *namedTable) rows(fn func(rec []string) error) error {
	defer t.f.Close()
	for {
		rec, err := t.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if len(rec) != t.n {
			return t.errorf("got %d fields, expected %d as in the header", len(rec), t.n)
		}
		if err := fn(rec); err != nil {
			return t.errorf("%v", err)
		}
	}
}

// field returns rec[i] trimmed, or "" when i < 0.
func field(rec []string, i int) string {
	if i < 0 {
		return ""
	}
	return strings.TrimSpace(rec[i])
}

func readCSVInteractions(path string, o *CSVOptions) ([]Interaction, error) {
	t, err := openNamed(path, o.Delimiter)
	if err != nil {
		return nil, err
	}
	var cu, ci, ct, cv int
	for _, c := range []struct {
		dst        *int
		name, what string
	}{{&cu, o.UserCol, "user ID"}, {&ci, o.ItemCol, "item ID"}, {&ct, o.TimeCol, "timestamp"}, {&cv, o.ValueCol, "value"}} {
		if *c.dst, err = t.col(c.name, c.what); err != nil {
			t.f.Close()
			return nil, err
		}
	}
	parseTime := timeParser(o.TimeLayout)
	var out []Interaction
	err = t.rows(func(rec []string) error {
		in := Interaction{Value: 1}
		var err error
		if in.User, err = parseID(o.UserCol, rec[cu]); err != nil {
			return err
		}
		if in.Item, err = parseID(o.ItemCol, rec[ci]); err != nil {
			return err
		}
		if in.Time, err = parseTime(o.TimeCol, rec[ct]); err != nil {
			return err
		}
		if s := field(rec, cv); s != "" {
			if in.Value, err = parseFinite(o.ValueCol, s); err != nil {
				return err
			}
		}
		out = append(out, in)
		return nil
	})
	return out, err
}

// timeParser returns the parser of a TimeLayout (checked by check).
func timeParser(layout string) func(what, s string) (int64, error) {
	switch layout {
	case "", TimeUnix:
		return parseUnix
	case TimeUnixMs:
		return func(what, s string) (int64, error) {
			s = strings.TrimSpace(s)
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s %q is not an integer (expected Unix milliseconds)", what, s)
			}
			if v < 0 && v%1000 != 0 {
				return v/1000 - 1, nil
			}
			return v / 1000, nil
		}
	}
	return func(what, s string) (int64, error) {
		s = strings.TrimSpace(s)
		tm, err := time.Parse(layout, s)
		if err != nil {
			return 0, fmt.Errorf("%s %q does not match layout %q", what, s, layout)
		}
		return tm.Unix(), nil
	}
}

func readCSVItems(o *CSVOptions) ([]Item, error) {
	t, err := openNamed(o.ItemsPath, o.Delimiter)
	if err != nil {
		return nil, err
	}
	idName := o.ItemIDCol
	if idName == "" {
		idName = o.ItemCol
	}
	var cid, ctitle, ccats int
	for _, c := range []struct {
		dst        *int
		name, what string
	}{{&cid, idName, "item ID"}, {&ctitle, o.ItemTitleCol, "item title"}, {&ccats, o.ItemCatsCol, "item categories"}} {
		if *c.dst, err = t.col(c.name, c.what); err != nil {
			t.f.Close()
			return nil, err
		}
	}
	var items []Item
	seen := map[string]int{}
	err = t.rows(func(rec []string) error {
		it := Item{Available: true}
		var err error
		if it.ID, err = parseID(idName, rec[cid]); err != nil {
			return err
		}
		if ctitle >= 0 {
			it.Title = rec[ctitle]
		}
		if ccats >= 0 {
			it.Categories = splitList(rec[ccats])
		}
		if err := unique(seen, t, idName, it.ID); err != nil {
			return err
		}
		items = append(items, it)
		return nil
	})
	return items, err
}

func readCSVUsers(o *CSVOptions) ([]User, error) {
	t, err := openNamed(o.UsersPath, o.Delimiter)
	if err != nil {
		return nil, err
	}
	idName := o.UserIDCol
	if idName == "" {
		idName = o.UserCol
	}
	var cid, cage, cgender, cregion, cdevice int
	for _, c := range []struct {
		dst        *int
		name, what string
	}{{&cid, idName, "user ID"}, {&cage, o.UserAgeCol, "age"}, {&cgender, o.UserGenderCol, "gender"},
		{&cregion, o.UserRegionCol, "region"}, {&cdevice, o.UserDeviceCol, "device"}} {
		if *c.dst, err = t.col(c.name, c.what); err != nil {
			t.f.Close()
			return nil, err
		}
	}
	cattrs := make([]int, len(o.UserAttrCols))
	for i, name := range o.UserAttrCols {
		if cattrs[i], err = t.col(name, "user attribute"); err != nil {
			t.f.Close()
			return nil, err
		}
	}
	var users []User
	seen := map[string]int{}
	err = t.rows(func(rec []string) error {
		u := User{Context: api.Context{Gender: field(rec, cgender), Region: field(rec, cregion), Device: field(rec, cdevice)}}
		var err error
		if u.ID, err = parseID(idName, rec[cid]); err != nil {
			return err
		}
		if s := field(rec, cage); s != "" {
			if u.Age, err = parseNonNegInt(o.UserAgeCol, s); err != nil {
				return fmt.Errorf("%v (expected years, empty or 0 = unknown)", err)
			}
		}
		for i, c := range cattrs {
			if v := field(rec, c); v != "" {
				if u.Attrs == nil {
					u.Attrs = make(map[string]string, len(cattrs))
				}
				u.Attrs[o.UserAttrCols[i]] = v
			}
		}
		if err := unique(seen, t, idName, u.ID); err != nil {
			return err
		}
		users = append(users, u)
		return nil
	})
	return users, err
}

// unique records that id was read on the current line of t, or reports the
// line where it first appeared.
func unique(seen map[string]int, t *namedTable, what, id string) error {
	if first, dup := seen[id]; dup {
		return fmt.Errorf("%s %q repeats line %d (expected unique IDs)", what, id, first)
	}
	seen[id] = t.line
	return nil
}
