package dataset

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/edgerec/edgerec/core/api"
)

// File names of the edgerec format (see the package doc).
const (
	ItemsFile        = "items.csv"
	UsersFile        = "users.csv"
	InteractionsFile = "interactions.csv"
)

var (
	itemsHeader         = []string{"item_id", "title", "categories", "tags", "price", "released", "available", "age_rating", "regions"}
	usersHeader         = []string{"user_id", "age", "gender", "region", "device"}
	interactionsHeader  = []string{"user_id", "item_id", "timestamp", "value"}
	interactionsHeader3 = interactionsHeader[:3]
)

func loadEdgerec(dir string) (*Dataset, error) {
	d := &Dataset{}
	var err error
	if d.Items, err = readItems(dir); err != nil {
		return nil, err
	}
	if d.Users, err = readUsers(dir); err != nil {
		return nil, err
	}
	if d.Interactions, err = readInteractions(dir); err != nil {
		return nil, err
	}
	return d, nil
}

func readItems(dir string) ([]Item, error) {
	f, err := openFile(dir, ItemsFile, FormatEdgerec)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t := newCSVTable(f.Name(), f)
	if _, err := t.header(itemsHeader); err != nil {
		return nil, err
	}
	var items []Item
	seen := firstLines{}
	for {
		rec, err := t.next()
		if err == io.EOF {
			return items, nil
		}
		if err != nil {
			return nil, err
		}
		if len(rec) != len(itemsHeader) {
			return nil, t.errorf("got %d fields, expected %d (%s)", len(rec), len(itemsHeader), strings.Join(itemsHeader, ","))
		}
		it, err := parseItem(rec)
		if err != nil {
			return nil, t.errorf("%v", err)
		}
		if err := seen.add(t.path, t.line, "item_id", it.ID); err != nil {
			return nil, err
		}
		items = append(items, it)
	}
}

func parseItem(rec []string) (Item, error) {
	var it Item
	var err error
	if it.ID, err = parseID("item_id", rec[0]); err != nil {
		return it, err
	}
	it.Title = rec[1]
	it.Categories = splitList(rec[2])
	it.Tags = splitList(rec[3])
	if s := strings.TrimSpace(rec[4]); s != "" {
		if it.Price, err = parseFinite("price", s); err != nil {
			return it, err
		}
		if it.Price < 0 {
			return it, fmt.Errorf("price %q is negative (expected a decimal ≥ 0)", s)
		}
	}
	if s := strings.TrimSpace(rec[5]); s != "" {
		if it.Released, err = parseUnix("released", s); err != nil {
			return it, err
		}
	}
	it.Available = true
	if s := strings.TrimSpace(rec[6]); s != "" {
		switch strings.ToLower(s) {
		case "true", "1":
			it.Available = true
		case "false", "0":
			it.Available = false
		default:
			return it, fmt.Errorf("available %q is not a boolean (expected true, false, 1 or 0)", s)
		}
	}
	if s := strings.TrimSpace(rec[7]); s != "" {
		if it.AgeRating, err = parseNonNegInt("age_rating", s); err != nil {
			return it, fmt.Errorf("%v (expected a minimum age, 0 = all ages)", err)
		}
	}
	it.Regions = splitList(rec[8])
	return it, nil
}

// splitList splits a '|'-separated list field, dropping empty elements and
// surrounding spaces; an empty field gives nil.
func splitList(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	var out []string
	for e := range strings.SplitSeq(s, "|") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

func readUsers(dir string) ([]User, error) {
	f, err := os.Open(filepath.Join(dir, UsersFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // optional
	}
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	t := newCSVTable(f.Name(), f)
	if _, err := t.header(usersHeader); err != nil {
		return nil, err
	}
	var users []User
	seen := firstLines{}
	for {
		rec, err := t.next()
		if err == io.EOF {
			return users, nil
		}
		if err != nil {
			return nil, err
		}
		if len(rec) != len(usersHeader) {
			return nil, t.errorf("got %d fields, expected %d (%s)", len(rec), len(usersHeader), strings.Join(usersHeader, ","))
		}
		u := User{Context: api.Context{Gender: strings.TrimSpace(rec[2]), Region: strings.TrimSpace(rec[3]), Device: strings.TrimSpace(rec[4])}}
		if u.ID, err = parseID("user_id", rec[0]); err != nil {
			return nil, t.errorf("%v", err)
		}
		if s := strings.TrimSpace(rec[1]); s != "" {
			if u.Age, err = parseNonNegInt("age", s); err != nil {
				return nil, t.errorf("%v (expected years, empty or 0 = unknown)", err)
			}
		}
		if err := seen.add(t.path, t.line, "user_id", u.ID); err != nil {
			return nil, err
		}
		users = append(users, u)
	}
}

func readInteractions(dir string) ([]Interaction, error) {
	f, err := openFile(dir, InteractionsFile, FormatEdgerec)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t := newCSVTable(f.Name(), f)
	h, err := t.header(interactionsHeader, interactionsHeader3)
	if err != nil {
		return nil, err
	}
	cols := len(interactionsHeader)
	if h == 1 {
		cols = len(interactionsHeader3)
	}
	var out []Interaction
	for {
		rec, err := t.next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if len(rec) != cols {
			return nil, t.errorf("got %d fields, expected %d as in the header (%s)", len(rec), cols, strings.Join(interactionsHeader[:cols], ","))
		}
		in := Interaction{Value: 1}
		if in.User, err = parseID("user_id", rec[0]); err != nil {
			return nil, t.errorf("%v", err)
		}
		if in.Item, err = parseID("item_id", rec[1]); err != nil {
			return nil, t.errorf("%v", err)
		}
		if in.Time, err = parseUnix("timestamp", rec[2]); err != nil {
			return nil, t.errorf("%v", err)
		}
		if cols == 4 && strings.TrimSpace(rec[3]) != "" {
			if in.Value, err = parseFinite("value", rec[3]); err != nil {
				return nil, t.errorf("%v", err)
			}
		}
		out = append(out, in)
	}
}

// WriteDir writes d to directory dir in the edgerec format, creating dir if
// needed and replacing the three files. users.csv is written even when d has
// no users (header only). Output depends only on d, so equal Datasets give
// byte-identical files.
//
// WriteDir refuses (before writing anything) values that would not load back
// unchanged: empty or duplicate IDs, IDs with surrounding spaces, list
// elements that are empty, contain '|' or have surrounding spaces, negative
// prices or age ratings, and non-finite numbers.
func WriteDir(dir string, d *Dataset) error {
	if err := checkWritable(d); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	err := writeCSV(filepath.Join(dir, ItemsFile), itemsHeader, len(d.Items), func(i int, rec []string) {
		it := &d.Items[i]
		rec[0] = it.ID
		rec[1] = it.Title
		rec[2] = strings.Join(it.Categories, "|")
		rec[3] = strings.Join(it.Tags, "|")
		rec[4] = formatFloat(it.Price)
		rec[5] = strconv.FormatInt(it.Released, 10)
		rec[6] = strconv.FormatBool(it.Available)
		rec[7] = strconv.Itoa(it.AgeRating)
		rec[8] = strings.Join(it.Regions, "|")
	})
	if err != nil {
		return err
	}
	err = writeCSV(filepath.Join(dir, UsersFile), usersHeader, len(d.Users), func(i int, rec []string) {
		u := &d.Users[i]
		rec[0] = u.ID
		rec[1] = strconv.Itoa(u.Age)
		rec[2] = u.Gender
		rec[3] = u.Region
		rec[4] = u.Device
	})
	if err != nil {
		return err
	}
	return writeCSV(filepath.Join(dir, InteractionsFile), interactionsHeader, len(d.Interactions), func(i int, rec []string) {
		in := &d.Interactions[i]
		rec[0] = in.User
		rec[1] = in.Item
		rec[2] = strconv.FormatInt(in.Time, 10)
		rec[3] = formatFloat(in.Value)
	})
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func writeCSV(path string, header []string, n int, fill func(i int, rec []string)) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("dataset: %w", cerr)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<16)
	w := csv.NewWriter(bw)
	if err := w.Write(header); err != nil {
		return fmt.Errorf("dataset: writing %s: %w", path, err)
	}
	rec := make([]string, len(header))
	for i := range n {
		fill(i, rec)
		if err := w.Write(rec); err != nil {
			return fmt.Errorf("dataset: writing %s: %w", path, err)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return fmt.Errorf("dataset: writing %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("dataset: writing %s: %w", path, err)
	}
	return nil
}

// checkWritable rejects values that would not survive a WriteDir/Load round
// trip.
func checkWritable(d *Dataset) error {
	items := make(map[string]bool, len(d.Items))
	for i, it := range d.Items {
		where := fmt.Sprintf("dataset: item %d", i)
		if err := checkID(where+" ID", it.ID); err != nil {
			return err
		}
		if items[it.ID] {
			return fmt.Errorf("%s: ID %q is not unique", where, it.ID)
		}
		items[it.ID] = true
		for _, l := range []struct {
			name string
			list []string
		}{{"categories", it.Categories}, {"tags", it.Tags}, {"regions", it.Regions}} {
			for _, e := range l.list {
				if e == "" || strings.TrimSpace(e) != e || strings.Contains(e, "|") {
					return fmt.Errorf("%s (%q): %s element %q is empty, has surrounding spaces or contains '|'", where, it.ID, l.name, e)
				}
			}
		}
		if math.IsNaN(it.Price) || math.IsInf(it.Price, 0) || it.Price < 0 {
			return fmt.Errorf("%s (%q): price %v is not a finite number ≥ 0", where, it.ID, it.Price)
		}
		if it.AgeRating < 0 {
			return fmt.Errorf("%s (%q): age rating %d is negative", where, it.ID, it.AgeRating)
		}
	}
	users := make(map[string]bool, len(d.Users))
	for i, u := range d.Users {
		where := fmt.Sprintf("dataset: user %d", i)
		if err := checkID(where+" ID", u.ID); err != nil {
			return err
		}
		if users[u.ID] {
			return fmt.Errorf("%s: ID %q is not unique", where, u.ID)
		}
		users[u.ID] = true
		if u.Age < 0 {
			return fmt.Errorf("%s (%q): age %d is negative", where, u.ID, u.Age)
		}
		for _, s := range []string{u.Gender, u.Region, u.Device} {
			if strings.TrimSpace(s) != s {
				return fmt.Errorf("%s (%q): field %q has surrounding spaces", where, u.ID, s)
			}
		}
	}
	for i, in := range d.Interactions {
		where := fmt.Sprintf("dataset: interaction %d", i)
		if err := checkID(where+" user", in.User); err != nil {
			return err
		}
		if err := checkID(where+" item", in.Item); err != nil {
			return err
		}
		if math.IsNaN(in.Value) || math.IsInf(in.Value, 0) {
			return fmt.Errorf("%s: value %v is not finite", where, in.Value)
		}
	}
	return nil
}

func checkID(where, id string) error {
	if id == "" {
		return fmt.Errorf("%s is empty", where)
	}
	if strings.TrimSpace(id) != id {
		return fmt.Errorf("%s %q has surrounding spaces", where, id)
	}
	return nil
}
