package dataset

import (
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/edgerec/edgerec/core/api"
)

// MovieLens 100K (https://files.grouplens.org/datasets/movielens/ml-100k-README.txt):
//
//	u.data  user id \t item id \t rating \t timestamp
//	u.item  movie id | title | release date | video release date | IMDb URL | one 0/1 flag per genre
//	u.genre genre name | index            (the flags' order)
//	u.user  user id | age | gender | occupation | zip code
//
// u.item is ISO-8859-1. The genre "unknown" is treated as no genre. Gender
// is lower-cased; Region is "zip" plus the first character of the zip code;
// occupation goes to Attrs["occupation"] (1M: its numeric code). When a title has no year, the year of the release
// date (DD-Mon-YYYY) is used instead.
func loadML100K(dir string) (*Dataset, error) {
	const format = FormatMovieLens100K
	d := &Dataset{}
	seenItems := firstLines{}
	genres, err := readLines(dir, "u.genre", format, func(t *lineTable, line string, genres []string) ([]string, error) {
		f := strings.Split(line, "|")
		if len(f) != 2 {
			return nil, t.errorf("got %d '|'-separated fields, expected 2 (name|index)", len(f))
		}
		idx, err := strconv.Atoi(strings.TrimSpace(f[1]))
		if err != nil || idx != len(genres) {
			return nil, t.errorf("genre index %q, expected %d (indices 0, 1, 2, … in order)", f[1], len(genres))
		}
		return append(genres, strings.TrimSpace(f[0])), nil
	})
	if err != nil {
		return nil, err
	}
	nf := 5 + len(genres)
	d.Items, err = readLines(dir, "u.item", format, func(t *lineTable, line string, items []Item) ([]Item, error) {
		f := strings.Split(latin1(line), "|")
		if len(f) != nf {
			return nil, t.errorf("got %d '|'-separated fields, expected %d (id|title|release date|video release date|IMDb URL|%d genre flags)", len(f), nf, len(genres))
		}
		it, err := movie(f[0], f[1])
		if err != nil {
			return nil, t.errorf("%v", err)
		}
		if it.Released == 0 && strings.TrimSpace(f[2]) != "" {
			rd, err := time.Parse("02-Jan-2006", strings.TrimSpace(f[2]))
			if err != nil {
				return nil, t.errorf("release date %q is not a date like 01-Jan-1995", f[2])
			}
			it.Released = yearStart(rd.Year())
		}
		for g, flag := range f[5:] {
			switch strings.TrimSpace(flag) {
			case "0":
			case "1":
				if !strings.EqualFold(genres[g], "unknown") {
					it.Categories = append(it.Categories, genres[g])
				}
			default:
				return nil, t.errorf("genre flag %d (%s) is %q, expected 0 or 1", g, genres[g], flag)
			}
		}
		if err := seenItems.add(t.path, t.line, "movie id", it.ID); err != nil {
			return nil, err
		}
		return append(items, it), nil
	})
	if err != nil {
		return nil, err
	}
	if d.Users, err = readMLUsers(dir, "u.user", format, "|", "'|'-separated fields, expected 5 (id|age|gender|occupation|zip)", [5]int{0, 1, 2, 3, 4}); err != nil {
		return nil, err
	}
	if d.Interactions, err = readMLRatings(dir, "u.data", format, "\t", "tab-separated fields, expected 4 (user id, item id, rating, timestamp)"); err != nil {
		return nil, err
	}
	return d, nil
}

// MovieLens 1M (https://files.grouplens.org/datasets/movielens/ml-1m-README.txt):
//
//	ratings.dat UserID::MovieID::Rating::Timestamp
//	movies.dat  MovieID::Title::Genres      (genres '|'-separated; ISO-8859-1)
//	users.dat   UserID::Gender::Age::Occupation::Zip-code
//
// Age is kept as the release's age-group code (1 = under 18, 18, 25, 35, 45,
// 50, 56 = 56+), which is the lower bound of the group except for 1.
func loadML1M(dir string) (*Dataset, error) {
	const format = FormatMovieLens1M
	d := &Dataset{}
	seenItems := firstLines{}
	var err error
	d.Items, err = readLines(dir, "movies.dat", format, func(t *lineTable, line string, items []Item) ([]Item, error) {
		f := strings.Split(latin1(line), "::")
		if len(f) != 3 {
			return nil, t.errorf("got %d '::'-separated fields, expected 3 (MovieID::Title::Genres)", len(f))
		}
		it, err := movie(f[0], f[1])
		if err != nil {
			return nil, t.errorf("%v", err)
		}
		it.Categories = splitGenres(f[2])
		if err := seenItems.add(t.path, t.line, "movie id", it.ID); err != nil {
			return nil, err
		}
		return append(items, it), nil
	})
	if err != nil {
		return nil, err
	}
	if d.Users, err = readMLUsers(dir, "users.dat", format, "::", "'::'-separated fields, expected 5 (UserID::Gender::Age::Occupation::Zip-code)", [5]int{0, 2, 1, 3, 4}); err != nil {
		return nil, err
	}
	if d.Interactions, err = readMLRatings(dir, "ratings.dat", format, "::", "'::'-separated fields, expected 4 (UserID::MovieID::Rating::Timestamp)"); err != nil {
		return nil, err
	}
	return d, nil
}

// readMLUsers reads a MovieLens user table of sep-separated fields; col
// gives the field of the id, age, gender, occupation and zip code, and
// expect describes the line for errors.
func readMLUsers(dir, file string, format, sep, expect string, col [5]int) ([]User, error) {
	seen := firstLines{}
	return readLines(dir, file, format, func(t *lineTable, line string, users []User) ([]User, error) {
		f := strings.Split(line, sep)
		if len(f) != 5 {
			return nil, t.errorf("got %d %s", len(f), expect)
		}
		u, err := movieLensUser(f[col[0]], f[col[1]], f[col[2]], f[col[3]], f[col[4]])
		if err != nil {
			return nil, t.errorf("%v", err)
		}
		if err := seen.add(t.path, t.line, "user id", u.ID); err != nil {
			return nil, err
		}
		return append(users, u), nil
	})
}

// readMLRatings reads a MovieLens rating table of sep-separated user id,
// item id, rating and timestamp; expect describes the line for errors.
func readMLRatings(dir, file string, format, sep, expect string) ([]Interaction, error) {
	return readLines(dir, file, format, func(t *lineTable, line string, out []Interaction) ([]Interaction, error) {
		f := strings.Split(line, sep)
		if len(f) != 4 {
			return nil, t.errorf("got %d %s", len(f), expect)
		}
		in, err := rating(f)
		if err != nil {
			return nil, t.errorf("%v", err)
		}
		return append(out, in), nil
	})
}

// MovieLens latest and latest-small
// (https://files.grouplens.org/datasets/movielens/ml-latest-small-README.html):
//
//	ratings.csv userId,movieId,rating,timestamp   (with header)
//	movies.csv  movieId,title,genres              (with header; genres '|'-separated)
//
// "(no genres listed)" means no genre. There is no user table.
func loadMLLatest(dir string) (*Dataset, error) {
	const format = FormatMovieLensLatest
	d := &Dataset{}
	seenItems := firstLines{}
	var err error
	d.Items, err = readCSV(dir, "movies.csv", format, []string{"movieId", "title", "genres"}, func(t *csvTable, rec []string, items []Item) ([]Item, error) {
		it, err := movie(rec[0], rec[1])
		if err != nil {
			return nil, t.errorf("%v", err)
		}
		it.Categories = splitGenres(rec[2])
		if err := seenItems.add(t.path, t.line, "movie id", it.ID); err != nil {
			return nil, err
		}
		return append(items, it), nil
	})
	if err != nil {
		return nil, err
	}
	d.Interactions, err = readCSV(dir, "ratings.csv", format, []string{"userId", "movieId", "rating", "timestamp"}, func(t *csvTable, rec []string, out []Interaction) ([]Interaction, error) {
		in, err := rating(rec)
		if err != nil {
			return nil, t.errorf("%v", err)
		}
		return append(out, in), nil
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// readLines opens name in dir and feeds each non-blank line to add.
func readLines[T any](dir, name, format string, add func(t *lineTable, line string, acc []T) ([]T, error)) ([]T, error) {
	f, err := openFile(dir, name, format)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t := newLineTable(f.Name(), f)
	var acc []T
	for {
		line, err := t.next()
		if err == io.EOF {
			return acc, nil
		}
		if err != nil {
			return nil, err
		}
		if acc, err = add(t, line, acc); err != nil {
			return nil, err
		}
	}
}

// readCSV opens name in dir, checks its header and feeds each record, of
// exactly len(header) fields, to add.
func readCSV[T any](dir, name, format string, header []string, add func(t *csvTable, rec []string, acc []T) ([]T, error)) ([]T, error) {
	f, err := openFile(dir, name, format)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t := newCSVTable(f.Name(), f)
	if _, err := t.header(header); err != nil {
		return nil, err
	}
	var acc []T
	for {
		rec, err := t.next()
		if err == io.EOF {
			return acc, nil
		}
		if err != nil {
			return nil, err
		}
		if len(rec) != len(header) {
			return nil, t.errorf("got %d fields, expected %d (%s)", len(rec), len(header), strings.Join(header, ","))
		}
		if acc, err = add(t, rec, acc); err != nil {
			return nil, err
		}
	}
}

// movie builds a MovieLens item from its ID and title.
func movie(id, title string) (Item, error) {
	it := Item{Title: strings.TrimSpace(title), Available: true}
	var err error
	if it.ID, err = parseID("movie id", id); err != nil {
		return it, err
	}
	if y, ok := titleYear(it.Title); ok {
		it.Released = yearStart(y)
	}
	return it, nil
}

// titleRE matches the year MovieLens appends to titles: "Heat (1995)", and
// for series "Death Note (2006–2007)", where the first year is used.
var titleRE = regexp.MustCompile(`\((\d{4})(?:[-–]\d{0,4})?\)$`)

// titleYear returns the release year at the end of a MovieLens title.
func titleYear(title string) (int, bool) {
	m := titleRE.FindStringSubmatch(title)
	if m == nil {
		return 0, false
	}
	y, err := strconv.Atoi(m[1])
	return y, err == nil
}

func yearStart(y int) int64 { return time.Date(y, time.January, 1, 0, 0, 0, 0, time.UTC).Unix() }

// splitGenres splits a '|'-separated genre list; "(no genres listed)" is none.
func splitGenres(s string) []string {
	var out []string
	for _, g := range splitList(s) {
		if g != "(no genres listed)" {
			out = append(out, g)
		}
	}
	return out
}

// rating parses user, item, rating, timestamp fields.
func rating(f []string) (Interaction, error) {
	var in Interaction
	var err error
	if in.User, err = parseID("user id", f[0]); err != nil {
		return in, err
	}
	if in.Item, err = parseID("movie id", f[1]); err != nil {
		return in, err
	}
	if in.Value, err = parseFinite("rating", f[2]); err != nil {
		return in, err
	}
	if in.Time, err = parseUnix("timestamp", f[3]); err != nil {
		return in, err
	}
	return in, nil
}

// movieLensUser builds a user; Region is "zip" plus the zip code's first
// character.
func movieLensUser(id, age, gender, occupation, zip string) (User, error) {
	u := User{Context: api.Context{Gender: strings.ToLower(strings.TrimSpace(gender))}}
	if o := strings.TrimSpace(occupation); o != "" {
		u.Attrs = map[string]string{"occupation": o}
	}
	var err error
	if u.ID, err = parseID("user id", id); err != nil {
		return u, err
	}
	if u.Age, err = parseNonNegInt("age", age); err != nil {
		return u, err
	}
	if z := strings.TrimSpace(zip); z != "" {
		r, _ := utf8.DecodeRuneInString(z)
		u.Region = "zip" + string(r)
	}
	return u, nil
}

// firstLines remembers the line on which each ID first appeared, to report
// duplicates.
type firstLines map[string]int

// add records id at line, or reports that it repeats an earlier line.
func (f firstLines) add(path string, line int, what, id string) error {
	if first, dup := f[id]; dup {
		return &FormatError{File: path, Line: line, Msg: fmt.Sprintf("%s %q repeats line %d (expected unique IDs)", what, id, first)}
	}
	f[id] = line
	return nil
}

// latin1 decodes ISO-8859-1 bytes to UTF-8.
func latin1(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		b.WriteRune(rune(s[i]))
	}
	return b.String()
}
