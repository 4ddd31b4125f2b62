package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/bundle/bundletest"
	"github.com/edgerec/edgerec/host/server"
	"github.com/edgerec/edgerec/tools/builder"
	"github.com/edgerec/edgerec/tools/dataset"
)

// testBundle writes a small random bundle (no training) and returns its
// path.
func testBundle(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "b.bundle")
	require.NoError(t, os.WriteFile(path, bundletest.Encoded(60, 8, 1), 0o644))
	return path
}

// TestMistypedFlag: a mistyped flag gives the error, the closest flag and
// one line pointing at --help, not the whole usage.
func TestMistypedFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"recommend", "--bundel", "x.bundle"}, []string{
			"edgerec recommend: unknown flag --bundel", "Did you mean --bundle?", "Run 'edgerec recommend --help' for usage."}},
		{[]string{"bundle", "build", "--modle", "m"}, []string{
			"edgerec bundle build: unknown flag --modle", "Did you mean --model?", "Run 'edgerec bundle build --help' for usage."}},
		{[]string{"train", "--epoch=3"}, []string{
			"edgerec train: unknown flag --epoch", "Did you mean --epochs?", "Run 'edgerec train --help' for usage."}},
		{[]string{"serve", "--bundle", "x", "--pol", "2"}, []string{
			"edgerec serve: unknown flag --pol", "Did you mean --pool?", "Run 'edgerec serve --help' for usage."}},
		// Nothing close: no guess.
		{[]string{"recommend", "--frobnicate"}, []string{
			"edgerec recommend: unknown flag --frobnicate", "Run 'edgerec recommend --help' for usage."}},
		// Other flag errors name the flag with two dashes too.
		{[]string{"recommend", "--k", "many"}, []string{
			`edgerec recommend: invalid value "many" for flag --k: parse error`, "Run 'edgerec recommend --help' for usage."}},
		{[]string{"recommend", "--bundle"}, []string{
			"edgerec recommend: flag needs an argument: --bundle", "Run 'edgerec recommend --help' for usage."}},
	} {
		code, out, errOut := edgerec(t, tc.args...)
		assert.Equal(t, 2, code, tc.args)
		assert.Empty(t, out, tc.args)
		assert.Equal(t, tc.want, strings.Split(strings.TrimSpace(errOut), "\n"), tc.args)
	}
}

// TestHelpFlags: --help lists flags with two dashes, as the README writes
// them, and prints float defaults as they were written.
func TestHelpFlags(t *testing.T) {
	code, out, errOut := edgerec(t, "train", "--help")
	require.Equal(t, 0, code)
	help := out + errOut
	assert.Contains(t, help, "\n  --epochs int\n")
	assert.Contains(t, help, "\n  --format string\n")
	assert.NotRegexp(t, `(?m)^  -[a-z]`, help, "a flag listed with one dash")
	assert.Regexp(t, `--lr float\n\s+Adam learning rate \(default 0\.0015\)\n`, help)
	assert.NotRegexp(t, `\d\.\d*0000000\d`, help, "a float default printed through float64")
	assert.Contains(t, help, `(default "edgerec")`)

	assert.Equal(t, "0.003", formatFloat(float64(float32(0.003))))
	assert.Equal(t, "0.1", formatFloat(0.1))
	assert.Equal(t, "1e-07", formatFloat(1e-7))
}

// TestRecommendK: --k has the request's range, [0, MaxK], 0 asking for
// the module's default.
func TestRecommendK(t *testing.T) {
	path := testBundle(t)
	code, out, errOut := edgerec(t, "recommend", "--bundle", path, "--native", "--history", bundletest.ID(1), "--k", "0", "--json")
	require.Equal(t, 0, code, errOut)
	var resp api.Response
	require.NoError(t, json.Unmarshal([]byte(out), &resp))
	assert.Len(t, resp.Items, api.DefaultK)

	for _, k := range []string{"-1", "501"} {
		code, _, errOut := edgerec(t, "recommend", "--bundle", path, "--native", "--history", bundletest.ID(1), "--k", k)
		assert.Equal(t, 2, code, k)
		assert.Contains(t, errOut, "out of range [0, 500]", k)
	}
}

// TestRecommendUnknownIDs: ids the bundle does not hold are named on
// stderr and counted in the response, through the module and natively.
func TestRecommendUnknownIDs(t *testing.T) {
	path := testBundle(t)
	hist := strings.Join([]string{bundletest.ID(3), "nope", bundletest.ID(4), "typo7"}, ",")
	for _, mode := range [][]string{{"--native"}, {"--wasm", wasmPath}} {
		args := append([]string{"recommend", "--bundle", path, "--history", hist, "--json"}, mode...)
		code, out, errOut := edgerec(t, args...)
		require.Equal(t, 0, code, errOut)
		assert.Contains(t, errOut, "warning: 2 of the ids sent are not in the bundle and are ignored: nope, typo7", mode)
		var resp api.Response
		require.NoError(t, json.Unmarshal([]byte(out), &resp))
		assert.Equal(t, 2, resp.UnknownItems, mode)
		assert.NotEmpty(t, resp.Items, mode)

		// Every id known: no warning, and the field is left out.
		args = append([]string{"recommend", "--bundle", path, "--history", bundletest.ID(3), "--json"}, mode...)
		code, out, errOut = edgerec(t, args...)
		require.Equal(t, 0, code, errOut)
		assert.NotContains(t, errOut, "warning", mode)
		assert.NotContains(t, out, "unknown_items", mode)
	}
}

// TestRecommendChecksBeforeWork: a missing bundle or module is reported
// before the data set loads.
func TestRecommendChecksBeforeWork(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	mustRun(t, "synth", "--out", data, "--users", "20", "--items", "30")
	missing := filepath.Join(t.TempDir(), "missing.bundle")
	code, _, errOut := edgerec(t, "recommend", "--bundle", missing, "--data", data, "--user", "u0001")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "missing.bundle")
	assert.NotContains(t, errOut, "loaded", "the data set loaded before the bundle was checked")

	code, _, errOut = edgerec(t, "recommend", "--bundle", testBundle(t), "--wasm", filepath.Join(t.TempDir(), "none.wasm"), "--data", data, "--user", "u0001")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "none.wasm")
	assert.NotContains(t, errOut, "loaded", "the data set loaded before the module was read")
}

// TestRecommendTable: the table's score column is explained when the
// order stage put a lower score above a higher one.
func TestRecommendTable(t *testing.T) {
	code, out, errOut := edgerec(t, "recommend", "--bundle", testBundle(t), "--native", "--history", bundletest.ID(2), "--k", "5")
	require.Equal(t, 0, code, errOut)
	assert.Regexp(t, `rank +item +score +source +title`, out)

	resp := &api.Response{BundleVersion: "v1", Items: []api.Item{
		{ID: "a", Score: 3.1, Source: "two_tower"}, {ID: "b", Score: 2.9335, Source: "two_tower"}, {ID: "c", Score: 2.9690, Source: "popular"}}}
	var b bytes.Buffer
	printResponse(&b, resp, map[string]string{"a": "A", "b": "B", "c": "C"})
	assert.Contains(t, b.String(), "score: the ranker's; the rank is the order stage's")

	resp.Items[2].Score = 2.5
	b.Reset()
	printResponse(&b, resp, nil)
	assert.NotContains(t, b.String(), "score:", "scores in rank order need no note")
}

// TestDataFormatSuggested: a data set loaded in the wrong format names the
// layout it holds, for every command that loads one.
func TestDataFormatSuggested(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"u.data", "u.item", "u.user", "u.genre"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), nil, 0o644))
	}
	for _, args := range [][]string{
		{"train", "--data", dir, "--out", filepath.Join(t.TempDir(), "m")},
		{"eval", "--data", dir},
	} {
		code, _, errOut := edgerec(t, args...)
		assert.Equal(t, 1, code, args)
		assert.Contains(t, errOut, "expects items.csv", args)
		assert.Contains(t, errOut, "--format movielens-100k", args)
	}
}

// TestServeBanner: the banner counts instances as the log does: one
// loaded when the node starts serving, the rest loading.
func TestServeBanner(t *testing.T) {
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}
	var b bytes.Buffer
	serveBanner{addr: addr, status: server.Status{Version: "demo-1", Items: 3000}, pool: 2, web: true}.print(&b)
	assert.Contains(t, b.String(), `(bundle "demo-1", 3000 items, a pool of 2 instances: 1 loaded, the other 1 loading in the background)`)
	b.Reset()
	serveBanner{addr: addr, status: server.Status{Version: "demo-1", Items: 3000}, pool: 1}.print(&b)
	assert.Contains(t, b.String(), `(bundle "demo-1", 3000 items, 1 instance)`)
}

// TestSubcommandUsage: a usage error of a bundle subcommand points at that
// subcommand's --help, whose page lists its flags, not at `bundle --help`.
func TestSubcommandUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bundle", "build", "--out", "x"}, "edgerec bundle build: --model is required"},
		{[]string{"bundle", "inspect"}, "edgerec bundle inspect: want the bundle FILE to inspect"},
		{[]string{"bundle", "diff", "a"}, "edgerec bundle diff: "},
		{[]string{"bundle", "upgrade", "x.bundle"}, "edgerec bundle upgrade: --out is required"},
		{[]string{"bundle", "sign", "x.bundle"}, "edgerec bundle sign: "},
		{[]string{"bundle", "verify"}, "edgerec bundle verify: "},
	} {
		code, out, errOut := edgerec(t, tc.args...)
		assert.Equal(t, 2, code, tc.args)
		assert.Empty(t, out, tc.args)
		assert.Contains(t, errOut, tc.want, tc.args)
		assert.Contains(t, errOut, "Run 'edgerec "+strings.Join(tc.args[:2], " ")+" --help' for usage.", tc.args)
	}
	// The bundle command's own errors point at its own page.
	code, _, errOut := edgerec(t, "bundle", "frobnicate")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "Run 'edgerec bundle --help' for usage.")
}

// TestHelpOnStdout: help that was asked for goes to stdout with exit 0,
// so that it can be piped; usage printed because of an error goes to
// stderr with exit 2.
func TestHelpOnStdout(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"help"}, {"train", "--help"}, {"serve", "-h"}, {"help", "serve"},
		{"bundle", "--help"}, {"help", "bundle"}, {"bundle", "build", "--help"}, {"help", "bundle", "build"},
		{"bundle", "upgrade", "--help"}, {"bench", "--help"},
		{"help", "help"}, {"--help", "--help"}, {"-h", "help"},
	} {
		code, out, errOut := edgerec(t, args...)
		assert.Equal(t, 0, code, args)
		assert.Contains(t, out, "Usage", args)
		assert.Empty(t, errOut, args)
	}
	_, out, _ := edgerec(t, "bundle", "build", "--help")
	assert.Contains(t, out, "--compact-bytes", "bundle build --help | grep compact finds nothing")
	_, out, _ = edgerec(t, "help", "bundle", "build")
	assert.Contains(t, out, "--compact-bytes", "help bundle build is not bundle build --help")

	for _, args := range [][]string{{}, {"frobnicate"}, {"bundle"}, {"bundle", "build"}, {"help", "frobnicate"}} {
		code, out, errOut := edgerec(t, args...)
		assert.Equal(t, 2, code, args)
		assert.Empty(t, out, args)
		assert.NotEmpty(t, errOut, args)
	}
}

// TestHelpTexts: the help pages say what the code does.
func TestHelpTexts(t *testing.T) {
	help := mustRun(t, "help")
	assert.Regexp(t, `bundle +build, inspect, diff, upgrade, sign or verify`, help)

	build := mustRun(t, "bundle", "build", "--help")
	assert.Contains(t, build, fmt.Sprintf("%.0f%% of the exact top 100", 100*builder.DefaultCompactTarget))
	assert.Contains(t, build, "Unix seconds, 1 to 253402300799")

	bench := strings.Join(strings.Fields(mustRun(t, "bench", "--help")), " ")
	assert.Contains(t, bench, "2·√N for the IVF index, 4·√N with --compact")
	assert.Contains(t, bench, "against the exact int8 scan for the IVF index, against exact float32 search with --compact")
	assert.Contains(t, bench, "the query tower is the embed stage")
	assert.NotContains(t, bench, "slower requests")
	assert.Contains(t, bench, "removes the stalls")
}

// TestRecommendTitles: a bundle built with --no-titles is shown with the
// data set's titles when --data is given, else with the ids: never a
// blank title or "because you watched )".
func TestRecommendTitles(t *testing.T) {
	b := bundletest.Random(60, 8, 1)
	titled := itemTitles(b, nil)
	assert.Equal(t, b.Items.Title(1), titled[bundletest.ID(1)], "the bundle's own title comes first")

	b.Items.Titles = bundle.NewStrings(make([]string, b.Items.Len()))
	ds := &dataset.Dataset{Items: []dataset.Item{{ID: bundletest.ID(1), Title: "One"}}}
	titles := itemTitles(b, ds)
	assert.Equal(t, "One", titles[bundletest.ID(1)])
	assert.Equal(t, bundletest.ID(2), titles[bundletest.ID(2)], "no title in the data set either: the id")
	assert.Equal(t, bundletest.ID(1), itemTitles(b, nil)[bundletest.ID(1)])

	var w bytes.Buffer
	printResponse(&w, &api.Response{Items: []api.Item{{ID: bundletest.ID(2), Score: 1, Source: "covisit", Because: bundletest.ID(1)}}}, titles)
	assert.Contains(t, w.String(), "(because you watched One)")

	// Through the command: every row has a title.
	data, err := bundle.Encode(b)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "notitles.bundle")
	require.NoError(t, os.WriteFile(path, data, 0o644))
	out := mustRun(t, "recommend", "--bundle", path, "--native", "--history", bundletest.ID(1)+","+bundletest.ID(2), "--k", "10")
	assert.NotContains(t, out, "watched )")
	rows := regexp.MustCompile(`(?m)^ +\d+  (\S+) +\S+  \S+ +(\S*)`).FindAllStringSubmatch(out, -1)
	require.NotEmpty(t, rows, out)
	for _, r := range rows {
		assert.Equal(t, r[1], r[2], "a blank title in %q", r[0])
	}
}
