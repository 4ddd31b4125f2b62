package dataset

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// LastFMCategories is how many of an artist's most used tags the
// "lastfm-hetrec" loader keeps as the artist's Categories: as many as the
// genres of a typical MovieLens film or the categories of a synthetic item,
// so that ILD and the item tower's category input mean much the same on
// every data set.
const LastFMCategories = 3

// lastFMFirstYear is the year Last.fm started; a tag assignment dated
// earlier is a bad date in the source and is skipped.
const lastFMFirstYear = 2002

// Last.fm HetRec 2011 (hetrec2011-lastfm-2k,
// https://grouplens.org/datasets/hetrec-2011/), tab-separated files with a
// header line:
//
//	user_taggedartists.dat userID  artistID  tagID  day  month  year
//	artists.dat            id  name  url  pictureURL         (UTF-8)
//	tags.dat               tagID  tagValue                   (ISO-8859-1)
//
// Interactions: one per (user, artist) pair, at the first month in which the
// user tagged the artist (Time = the first of that month, 00:00 UTC; Value
// = 1). The dates are monthly in substance (the day is 1 on almost every
// row), so the day column is checked but not used. Rows dated before 2002,
// when Last.fm did not yet exist, are skipped. The release's
// user_taggedartists-timestamps.dat, when present, is not read: it carries
// the same dates as local midnights in milliseconds.
//
// Items: every tagged artist, in the order of artists.dat and then, for the
// few tagged artists artists.dat lacks, in order of first appearance in
// user_taggedartists.dat (no title). Title = name; Categories = the names
// of the artist's [LastFMCategories] most used tags (counting every
// assignment by every user; ties by name); Available = true. Artists in
// artists.dat that nobody tagged are left out: they have no dated
// interaction. There is no user table; user_artists.dat (untimed play
// counts) and user_friends.dat are not read.
func loadLastFM(dir string) (*Dataset, error) {
	const format = FormatLastFMHetRec
	type tag struct {
		name string
		line int
	}
	tags := map[string]tag{}
	if _, err := readTSV(dir, "tags.dat", format, []string{"tagID", "tagValue"}, func(t *lineTable, f []string, acc []struct{}) ([]struct{}, error) {
		id, err := parseID("tag id", f[0])
		if err != nil {
			return nil, t.errorf("%v", err)
		}
		if prev, dup := tags[id]; dup {
			return nil, t.errorf("tag id %q repeats line %d (expected unique IDs)", id, prev.line)
		}
		name := strings.TrimSpace(latin1(f[1]))
		if name == "" {
			return nil, t.errorf("tag %q has an empty tagValue (expected the tag's name)", id)
		}
		tags[id] = tag{name: name, line: t.line}
		return acc, nil
	}); err != nil {
		return nil, err
	}

	names := firstLines{}
	artists, err := readTSV(dir, "artists.dat", format, []string{"id", "name", "url", "pictureURL"}, func(t *lineTable, f []string, acc []Item) ([]Item, error) {
		id, err := parseID("artist id", f[0])
		if err != nil {
			return nil, t.errorf("%v", err)
		}
		if !utf8.ValidString(f[1]) {
			return nil, t.errorf("artist %q: name is not valid UTF-8 (expected artists.dat in UTF-8)", id)
		}
		if err := names.add(t.path, t.line, "artist id", id); err != nil {
			return nil, err
		}
		return append(acc, Item{ID: id, Title: strings.TrimSpace(f[1]), Available: true}), nil
	})
	if err != nil {
		return nil, err
	}

	type pair struct{ user, artist string }
	first := map[pair]int64{}
	var pairs []pair                    // in order of first appearance
	var tagged []string                 // artists in order of first appearance
	uses := map[string]map[string]int{} // artist → tag name → assignments
	if _, err := readTSV(dir, "user_taggedartists.dat", format, []string{"userID", "artistID", "tagID", "day", "month", "year"}, func(t *lineTable, f []string, acc []struct{}) ([]struct{}, error) {
		var p pair
		var err error
		if p.user, err = parseID("user id", f[0]); err != nil {
			return nil, t.errorf("%v", err)
		}
		if p.artist, err = parseID("artist id", f[1]); err != nil {
			return nil, t.errorf("%v", err)
		}
		tagID, err := parseID("tag id", f[2])
		if err != nil {
			return nil, t.errorf("%v", err)
		}
		tg, ok := tags[tagID]
		if !ok {
			return nil, t.errorf("tag id %q is not in tags.dat (expected a tagID listed there)", tagID)
		}
		ts, ok, err := lastFMDate(f[3], f[4], f[5])
		if err != nil {
			return nil, t.errorf("%v", err)
		}
		if !ok {
			return acc, nil
		}
		if prev, seen := first[p]; !seen || ts < prev {
			if !seen {
				pairs = append(pairs, p)
			}
			first[p] = ts
		}
		u := uses[p.artist]
		if u == nil {
			u = map[string]int{}
			uses[p.artist] = u
			tagged = append(tagged, p.artist)
		}
		u[tg.name]++
		return acc, nil
	}); err != nil {
		return nil, err
	}

	d := &Dataset{Interactions: make([]Interaction, len(pairs))}
	for i, p := range pairs {
		d.Interactions[i] = Interaction{User: p.user, Item: p.artist, Time: first[p], Value: 1}
	}
	for _, it := range artists {
		if u, ok := uses[it.ID]; ok {
			it.Categories = topTags(u, LastFMCategories)
			d.Items = append(d.Items, it)
		}
	}
	for _, id := range tagged {
		if _, named := names[id]; !named {
			d.Items = append(d.Items, Item{ID: id, Categories: topTags(uses[id], LastFMCategories), Available: true})
		}
	}
	return d, nil
}

// lastFMDate parses the day, month and year of a tag assignment and returns
// the first of that month (Unix seconds, UTC); ok is false for a date before
// Last.fm existed.
func lastFMDate(day, month, year string) (ts int64, ok bool, err error) {
	var v [3]int
	for i, f := range []struct{ what, s string }{{"day", day}, {"month", month}, {"year", year}} {
		if v[i], err = strconv.Atoi(strings.TrimSpace(f.s)); err != nil {
			return 0, false, fmt.Errorf("%s %q is not an integer (expected day, month and year of the tag assignment)", f.what, f.s)
		}
	}
	d, m, y := v[0], v[1], v[2]
	if m < 1 || m > 12 {
		return 0, false, fmt.Errorf("month %d is out of range (expected 1 to 12)", m)
	}
	if y < 1000 || y > 9999 {
		return 0, false, fmt.Errorf("year %d is not a four-digit year", y)
	}
	if t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC); d < 1 || t.Day() != d {
		return 0, false, fmt.Errorf("day %d does not exist in %04d-%02d", d, y, m)
	}
	if y < lastFMFirstYear {
		return 0, false, nil
	}
	return time.Date(y, time.Month(m), 1, 0, 0, 0, 0, time.UTC).Unix(), true, nil
}

// topTags returns the names of the k most used tags in uses (count
// descending, then name).
func topTags(uses map[string]int, k int) []string {
	names := make([]string, 0, len(uses))
	for n := range uses {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		if c := cmp.Compare(uses[b], uses[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return names[:min(k, len(names))]
}

// readTSV opens name in dir, checks its tab-separated header and feeds each
// following non-blank line, split on tabs into exactly len(header) fields,
// to add.
func readTSV[T any](dir, name, format string, header []string, add func(t *lineTable, f []string, acc []T) ([]T, error)) ([]T, error) {
	want := strings.Join(header, "\t")
	headed := false
	acc, err := readLines(dir, name, format, func(t *lineTable, line string, acc []T) ([]T, error) {
		f := strings.Split(line, "\t")
		if !headed {
			headed = true
			f[0] = strings.TrimPrefix(f[0], "\uFEFF")
			for i := range f {
				f[i] = strings.TrimSpace(f[i])
			}
			if strings.Join(f, "\t") != want {
				return nil, t.errorf("header is %q, expected the tab-separated header %q", line, want)
			}
			return acc, nil
		}
		if len(f) != len(header) {
			return nil, t.errorf("got %d tab-separated fields, expected %d (%s)", len(f), len(header), strings.Join(header, ", "))
		}
		return add(t, f, acc)
	})
	if err == nil && !headed {
		return nil, &FormatError{File: filepath.Join(dir, name), Line: 1, Msg: fmt.Sprintf("file is empty, expected the tab-separated header %q", want)}
	}
	return acc, err
}
