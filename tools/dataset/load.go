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
)

// Format names accepted by [Load].
const (
	// FormatEdgerec is edgerec's own CSV layout, described in the package doc.
	FormatEdgerec = "edgerec"
	// FormatMovieLens100K is the MovieLens 100K release (u.data, u.item,
	// u.genre, u.user).
	FormatMovieLens100K = "movielens-100k"
	// FormatMovieLens1M is the MovieLens 1M release (ratings.dat, movies.dat,
	// users.dat).
	FormatMovieLens1M = "movielens-1m"
	// FormatMovieLensLatest is the MovieLens "latest" and "latest-small"
	// releases (ratings.csv, movies.csv; no user table).
	FormatMovieLensLatest = "movielens-latest"
	// FormatLastFMHetRec is the Last.fm HetRec 2011 release
	// (user_taggedartists.dat, artists.dat, tags.dat).
	FormatLastFMHetRec = "lastfm-hetrec"
)

// formats lists the loaders in the order Formats reports them; marks are
// the files whose presence identifies the layout ([Detect]).
var formats = []struct {
	name  string
	about string
	marks []string
	load  func(dir string) (*Dataset, error)
}{
	{FormatEdgerec, "items.csv, interactions.csv, optional users.csv (edgerec's own layout)", []string{ItemsFile, InteractionsFile}, loadEdgerec},
	{FormatMovieLens100K, "MovieLens 100K: u.data, u.item, u.genre, u.user", []string{"u.data", "u.item"}, loadML100K},
	{FormatMovieLens1M, "MovieLens 1M: ratings.dat, movies.dat, users.dat", []string{"ratings.dat", "movies.dat"}, loadML1M},
	{FormatMovieLensLatest, "MovieLens latest(-small): ratings.csv, movies.csv", []string{"ratings.csv", "movies.csv"}, loadMLLatest},
	{FormatLastFMHetRec, "Last.fm HetRec 2011: user_taggedartists.dat, artists.dat, tags.dat (first tag of a user-artist pair, by month)", []string{"user_taggedartists.dat", "artists.dat"}, loadLastFM},
}

// Detect returns the formats whose characteristic files dir holds (u.data
// and u.item for movielens-100k, ...), in the order of [Formats]; none when
// dir is missing or holds no known layout.
func Detect(dir string) []string {
	var found []string
	for _, f := range formats {
		ok := true
		for _, m := range f.marks {
			if fi, err := os.Stat(filepath.Join(dir, m)); err != nil || !fi.Mode().IsRegular() {
				ok = false
				break
			}
		}
		if ok {
			found = append(found, f.name)
		}
	}
	return found
}

// Formats returns the format names [Load] accepts, in a fixed order.
func Formats() []string {
	names := make([]string, len(formats))
	for i, f := range formats {
		names[i] = f.name
	}
	return names
}

// FormatHelp returns one line per format, "name: files read", for a
// command's --help text.
func FormatHelp() string {
	var b strings.Builder
	for _, f := range formats {
		fmt.Fprintf(&b, "%s: %s\n", f.name, f.about)
	}
	return b.String()
}

// Load reads the dataset in directory dir, stored in the named format (one
// of [Formats]). The result satisfies the post-conditions documented on
// [Dataset]; its Name is the base name of dir.
//
// Errors: an unknown format name (the message lists the valid ones); a
// missing required file (the message names the file and the format that
// expects it, and, when dir holds another known layout ([Detect]), that
// format; the error wraps fs.ErrNotExist); malformed content, as a
// *FormatError.
func Load(dir, format string) (*Dataset, error) {
	for _, f := range formats {
		if f.name != format {
			continue
		}
		d, err := f.load(dir)
		if err != nil {
			return nil, suggestFormat(err, dir, format)
		}
		d.Name = filepath.Base(filepath.Clean(dir))
		d.Normalize()
		return d, nil
	}
	return nil, fmt.Errorf("dataset: unknown format %q (valid formats: %s)", format, strings.Join(Formats(), ", "))
}

// suggestFormat adds to a missing-file error of format the layout dir
// holds, when [Detect] recognizes another: the usual cause is a data set
// loaded without naming its format.
func suggestFormat(err error, dir, format string) error {
	if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	for _, name := range Detect(dir) {
		if name == format {
			continue
		}
		for _, f := range formats {
			if f.name == name {
				return fmt.Errorf("%w; the directory holds %s's files (%s): use format %s (--format %s)",
					err, name, strings.Join(f.marks, ", "), name, name)
			}
		}
	}
	return err
}

// FormatError reports malformed input: which file, which 1-based line (0
// when the problem is not tied to a line) and what was expected.
type FormatError struct {
	File string // path of the file
	Line int    // 1-based line number; 0 for the whole file
	Msg  string // what is wrong and what was expected
}

// Error formats the error as "file:line: message".
func (e *FormatError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// openFile opens name in dir; a failure names the file and the format that
// expects it.
func openFile(dir, name, format string) (*os.File, error) {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("dataset: format %q expects %s in %s: %w", format, name, dir, err)
		}
		return nil, fmt.Errorf("dataset: format %q: %w", format, err)
	}
	return f, nil
}

// csvTable reads a CSV file row by row with line numbers.
type csvTable struct {
	path string
	r    *csv.Reader
	line int // line on which the last record started
}

func newCSVTable(path string, r io.Reader) *csvTable {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // checked by the caller, with a better message
	cr.ReuseRecord = true
	return &csvTable{path: path, r: cr}
}

// next returns the next record, or io.EOF.
func (t *csvTable) next() ([]string, error) {
	rec, err := t.r.Read()
	if err == io.EOF {
		return nil, io.EOF
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, &FormatError{File: t.path, Line: pe.Line, Msg: fmt.Sprintf("malformed CSV at column %d: %v", pe.Column, pe.Err)}
		}
		return nil, fmt.Errorf("dataset: reading %s: %w", t.path, err)
	}
	t.line, _ = t.r.FieldPos(0)
	return rec, nil
}

// errorf reports a problem with the last record read.
func (t *csvTable) errorf(format string, args ...any) error {
	return &FormatError{File: t.path, Line: t.line, Msg: fmt.Sprintf(format, args...)}
}

// header reads the header row and checks it against one of the accepted
// column lists; it returns the index of the one that matched.
func (t *csvTable) header(accepted ...[]string) (int, error) {
	rec, err := t.next()
	if err == io.EOF {
		return 0, &FormatError{File: t.path, Line: 1, Msg: fmt.Sprintf("file is empty, expected header %q", strings.Join(accepted[0], ","))}
	}
	if err != nil {
		return 0, err
	}
	if len(rec) > 0 {
		rec[0] = strings.TrimPrefix(rec[0], "\uFEFF")
	}
	for i, want := range accepted {
		if len(rec) != len(want) {
			continue
		}
		ok := true
		for j := range want {
			if strings.TrimSpace(rec[j]) != want[j] {
				ok = false
				break
			}
		}
		if ok {
			return i, nil
		}
	}
	alts := make([]string, len(accepted))
	for i, a := range accepted {
		alts[i] = strconv.Quote(strings.Join(a, ","))
	}
	return 0, t.errorf("header is %q, expected %s", strings.Join(rec, ","), strings.Join(alts, " or "))
}

// lineTable reads a delimited text file (MovieLens .dat, u.*) line by line,
// skipping blank lines.
type lineTable struct {
	path string
	sc   *bufio.Scanner
	line int
}

const maxLine = 1 << 20

func newLineTable(path string, r io.Reader) *lineTable {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), maxLine)
	return &lineTable{path: path, sc: sc}
}

// next returns the next non-blank line without its line ending, or io.EOF.
func (t *lineTable) next() (string, error) {
	for t.sc.Scan() {
		t.line++
		s := strings.TrimRight(t.sc.Text(), "\r")
		if strings.TrimSpace(s) == "" {
			continue
		}
		return s, nil
	}
	if err := t.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return "", &FormatError{File: t.path, Line: t.line + 1, Msg: fmt.Sprintf("line longer than %d bytes", maxLine)}
		}
		return "", fmt.Errorf("dataset: reading %s: %w", t.path, err)
	}
	return "", io.EOF
}

func (t *lineTable) errorf(format string, args ...any) error {
	return &FormatError{File: t.path, Line: t.line, Msg: fmt.Sprintf(format, args...)}
}

// Field parsers shared by the loaders. Each returns a message fragment on
// failure that the caller turns into a FormatError.

func parseID(what, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("%s is empty (expected a non-empty ID)", what)
	}
	return s, nil
}

func parseUnix(what, s string) (int64, error) {
	s = strings.TrimSpace(s)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not an integer (expected Unix seconds)", what, s)
	}
	return v, nil
}

func parseFinite(what, s string) (float64, error) {
	s = strings.TrimSpace(s)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%s %q is not a finite decimal number", what, s)
	}
	return v, nil
}

func parseNonNegInt(what, s string) (int, error) {
	s = strings.TrimSpace(s)
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%s %q is not a non-negative integer", what, s)
	}
	return v, nil
}
