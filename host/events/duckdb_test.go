package events

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// duckdbDir is the JS package whose DuckDB reads the files
// (web-demo/test/duckdb; `npm ci` there installs it).
var duckdbDir = filepath.Join("..", "..", "web-demo", "test", "duckdb")

// TestDuckDBReadsEvents: DuckDB reads the Parquet files as they are —
// day partitions, the version in the metadata, the items list — and a
// join of impressions with takes gives the counts written.
func TestDuckDBReadsEvents(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node on PATH: the DuckDB check needs Node 20+")
	}
	if _, err := os.Stat(filepath.Join(duckdbDir, "node_modules", "@duckdb", "node-api")); err != nil {
		t.Skipf("DuckDB is not installed: run `npm ci` in %s (make test's web dependencies do)", duckdbDir)
	}
	dir := t.TempDir()
	d, err := OpenDir(dir, DirOptions{RotateBytes: 8 << 10})
	require.NoError(t, err)
	evs := sample(400) // over two days; each list's second item taken
	// A take that joins nothing, and a take of the same item twice.
	evs = append(evs, Event{Type: TypeTake, RequestID: "r-none", TimeMs: evs[0].TimeMs, Item: "i1", Kind: KindBuy},
		evs[1])
	require.NoError(t, d.Write(evs))
	require.NoError(t, d.Close())

	var want struct {
		types map[[2]string]int
		imps  map[string]int
		takes map[string]int
	}
	want.types, want.imps, want.takes = map[[2]string]int{}, map[string]int{}, map[string]int{}
	for _, e := range evs {
		want.types[[2]string{e.Type, e.Time().Format("2006-01-02")}]++
		if e.Type == TypeImpression {
			want.imps[e.Arm] += len(e.Items)
			want.takes[e.Arm]++ // sample takes one item of every list
		}
	}

	cmd := exec.Command(node, "query.mjs", dir)
	cmd.Dir = duckdbDir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "%s", stderr.Bytes())
	var got struct {
		ByType []struct {
			Type, Day string
			N         string `json:"n"`
		} `json:"byType"`
		Versions []struct{ Version string } `json:"versions"`
		Joined   []struct {
			Arm         string
			Impressions string
			Takes       string
			FirstMs     string `json:"first_ms"`
		} `json:"joined"`
	}
	require.NoError(t, json.Unmarshal(out, &got), "%s", out)

	types := map[[2]string]int{}
	for _, r := range got.ByType {
		n, err := strconv.Atoi(r.N)
		require.NoError(t, err)
		types[[2]string{r.Type, r.Day}] = n
	}
	assert.Equal(t, want.types, types, "rows by type and day partition")
	require.Len(t, got.Versions, 1)
	assert.Equal(t, Version, got.Versions[0].Version)
	require.Len(t, got.Joined, 2)
	for _, j := range got.Joined {
		assert.Equal(t, strconv.Itoa(want.imps[j.Arm]), j.Impressions, "arm %s impressions", j.Arm)
		assert.Equal(t, strconv.Itoa(want.takes[j.Arm]), j.Takes, "arm %s takes", j.Arm)
		assert.Equal(t, strconv.FormatInt(evs[0].TimeMs, 10), j.FirstMs, "the time column is a UTC timestamp in milliseconds")
	}
}
