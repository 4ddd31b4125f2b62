package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sample returns n events over two days: impressions of 3 items and a
// take of each list's second item.
func sample(n int) []Event {
	day1 := time.Date(2026, 12, 5, 23, 0, 0, 0, time.UTC)
	var out []Event
	for i := range n {
		at := day1.Add(time.Duration(i) * time.Minute)
		id := fmt.Sprintf("r%d", i)
		imp := Event{Type: TypeImpression, RequestID: id, TimeMs: at.UnixMilli(), User: fmt.Sprintf("u%d", i%7),
			BundleVersion: "v1", Arm: []string{"a", "b"}[i%2], Region: "eu", Origin: OriginServe}
		for p := range 3 {
			imp.Items = append(imp.Items, Shown{Item: fmt.Sprintf("i%d", (i+p)%50), Position: int32(p + 1), Source: "twotower", Score: float32(p) / 4})
		}
		out = append(out, imp, Event{Type: TypeTake, RequestID: id, TimeMs: at.UnixMilli() + 500, User: imp.User,
			Item: imp.Items[1].Item, Kind: KindWatch, Position: 2, DwellMs: 1200, Origin: OriginClient})
	}
	return out
}

func TestDirRoundTrip(t *testing.T) {
	for _, format := range []string{FormatParquet, FormatNDJSON} {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			d, err := OpenDir(dir, DirOptions{Format: format, RotateBytes: 4 << 10})
			require.NoError(t, err)
			want := sample(300) // 23:00 to 03:59 the next day
			last := len(want) - 1
			for i := 0; i < last; i += 50 {
				require.NoError(t, d.Write(want[i:min(i+50, last)]))
			}
			// One event alone, in a file that stays open (it is far from
			// the size limit).
			require.NoError(t, d.Write(want[last:]))
			// The files still open are not visible.
			got, err := ReadDir(dir, time.Time{})
			require.NoError(t, err)
			require.Less(t, len(got), len(want), "events visible before their file was closed")
			tmp, _ := filepath.Glob(filepath.Join(dir, "*", ".*.tmp"))
			require.NotEmpty(t, tmp)
			require.NoError(t, d.Close())
			require.Error(t, d.Write(want[:1]), "write after close")

			got, err = ReadDir(dir, time.Time{})
			require.NoError(t, err)
			require.Equal(t, len(want), len(got))
			for i := range want {
				require.Equal(t, want[i], got[i], "event %d", i)
			}

			days, err := filepath.Glob(filepath.Join(dir, "day=*"))
			require.NoError(t, err)
			assert.Equal(t, []string{filepath.Join(dir, "day=2026-12-05"), filepath.Join(dir, "day=2026-12-06")}, days)
			files, err := filepath.Glob(filepath.Join(dir, "day=2026-12-06", "*."+format))
			require.NoError(t, err)
			assert.Greater(t, len(files), 1, "no rotation by size")
			tmp, _ = filepath.Glob(filepath.Join(dir, "*", ".*"))
			assert.Empty(t, tmp, "temporary files left")

			since := time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC)
			got, err = ReadDir(dir, since)
			require.NoError(t, err)
			for _, e := range got {
				assert.GreaterOrEqual(t, e.TimeMs, since.UnixMilli())
			}
			assert.Len(t, got, 2*120, "events from 02:00 to 03:59")
		})
	}
}

// TestParquetFile: the file is plain Parquet: version metadata, zstd
// columns, a timestamp column and the items as a list of structs.
func TestParquetFile(t *testing.T) {
	dir := t.TempDir()
	d, err := OpenDir(dir, DirOptions{})
	require.NoError(t, err)
	require.NoError(t, d.Write(sample(10)))
	require.NoError(t, d.Close())
	files, _ := filepath.Glob(filepath.Join(dir, "day=*", "*.parquet"))
	require.NotEmpty(t, files)
	b, err := os.ReadFile(files[0])
	require.NoError(t, err)
	f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err)
	v, ok := f.Lookup(MetadataVersion)
	assert.True(t, ok)
	assert.Equal(t, Version, v)
	schema := f.Schema().String()
	assert.Contains(t, schema, "(TIMESTAMP(isAdjustedToUTC=true,unit=MILLIS))")
	assert.Contains(t, schema, "(LIST)")
	for _, rg := range f.Metadata().RowGroups {
		for _, c := range rg.Columns {
			assert.Equal(t, "ZSTD", c.MetaData.Codec.String(), "%v", c.MetaData.PathInSchema)
		}
	}
}

func TestTickRotatesByAge(t *testing.T) {
	dir := t.TempDir()
	d, err := OpenDir(dir, DirOptions{RotateAge: time.Minute})
	require.NoError(t, err)
	require.NoError(t, d.Write(sample(2)))
	require.NoError(t, d.Tick(time.Now()))
	got, _ := ReadDir(dir, time.Time{})
	assert.Empty(t, got, "closed before its age")
	require.NoError(t, d.Tick(time.Now().Add(2*time.Minute)))
	got, err = ReadDir(dir, time.Time{})
	require.NoError(t, err)
	assert.Len(t, got, 4)
	require.NoError(t, d.Write(sample(1)), "writes go on in a new file")
	require.NoError(t, d.Close())
	got, err = ReadDir(dir, time.Time{})
	require.NoError(t, err)
	assert.Len(t, got, 6)
}

func TestNDJSONSink(t *testing.T) {
	var buf bytes.Buffer
	s := NewNDJSON(&buf)
	want := sample(3)
	require.NoError(t, s.Write(want))
	require.NoError(t, s.Close())
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, len(want))
	for i, l := range lines {
		var e Event
		require.NoError(t, json.Unmarshal([]byte(l), &e))
		assert.Equal(t, want[i], e)
	}
}

func TestOpenDirErrors(t *testing.T) {
	_, err := OpenDir(t.TempDir(), DirOptions{Format: "csv"})
	assert.ErrorContains(t, err, `"csv"`)
	file := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	_, err = OpenDir(file, DirOptions{})
	assert.Error(t, err)
}
