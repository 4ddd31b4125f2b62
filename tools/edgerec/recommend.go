package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/pipeline"
	"github.com/edgerec/edgerec/tools/dataset"
	"github.com/edgerec/edgerec/tools/eval"
)

func runRecommend(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("recommend", "recommend --bundle FILE (--user ID --data DIR | --history ID,ID,...) [--k N] [--json]", `
Load a bundle into recommender.wasm (run by wazero) and ask it for the top K
items for one user: either a user of a data set (their whole history and
demographics are sent) or an explicit history. --native runs the same
pipeline compiled natively instead of the module, for comparison. The
table shows the bundle's titles; for a bundle built with --no-titles,
the data set's when --data is given, else the ids.`)
	bundlePath := fs.String("bundle", "", "bundle file")
	wasmPath := fs.String("wasm", "", "recommender.wasm (default: next to the edgerec binary, then bin/recommender.wasm)")
	user := fs.String("user", "", "user id in --data whose history and demographics to send")
	dir, format := dataFlags(fs)
	history := fs.String("history", "", "comma-separated item ids, oldest first")
	seed := fs.String("seed", "", "item the user is looking at now")
	k := fs.Int("k", api.DefaultK, fmt.Sprintf("number of items, 0 to %d as in a request's k (0: the module's default, %d)", api.MaxK, api.DefaultK))
	region := fs.String("region", "", "context: region")
	device := fs.String("device", "", "context: device")
	age := fs.Int("age", 0, "context: age in years")
	asJSON := fs.Bool("json", false, "print the response as JSON")
	native := fs.Bool("native", false, "run the pipeline natively instead of in the module")
	debug := fs.Bool("debug", false, "ask for per-stage counts and timings")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "bundle"); err != nil {
		return err
	}
	if (*user == "") == (*history == "") {
		return usagef("give either --user (with --data) or --history")
	}
	if *user != "" && *dir == "" {
		return usagef("--user needs --data")
	}
	// One range with the module's: a request's k is in [0, MaxK].
	if *k < 0 || *k > api.MaxK {
		return usagef("--k %d out of range [0, %d] (0: the module's default, %d)", *k, api.MaxK, api.DefaultK)
	}

	// What the flags name is read and checked before the data set loads,
	// which can take seconds: the bundle, then the module.
	data, err := readBundleFile(*bundlePath)
	if err != nil {
		return err
	}
	b, err := bundle.Decode(data)
	if err != nil {
		return err
	}
	var wasm []byte
	if !*native {
		if _, wasm, err = readModule(*wasmPath); err != nil {
			return err
		}
	}

	req := &api.Request{K: *k, Seed: *seed, Debug: *debug}
	var ds *dataset.Dataset
	if *dir != "" {
		// The user's history, and the titles of a bundle built without
		// them (--no-titles).
		if ds, err = loadData(*dir, *format, stderr); err != nil {
			return err
		}
	}
	if *user != "" {
		r, err := userRequest(ds, *user, *k)
		if err != nil {
			return err
		}
		r.Seed, r.Debug = *seed, *debug
		req = r
	} else {
		for _, id := range strings.Split(*history, ",") {
			if id = strings.TrimSpace(id); id != "" {
				req.History = append(req.History, api.Event{Item: id})
			}
		}
	}
	if *region != "" {
		req.Context.Region = *region
	}
	if *device != "" {
		req.Context.Device = *device
	}
	if *age != 0 {
		req.Context.Age = *age
	}
	titles := itemTitles(b, ds)
	warnUnknown(stderr, req, titles)

	var resp *api.Response
	if *native {
		rec, err := pipeline.Load(data)
		if err != nil {
			return err
		}
		if resp, err = rec.Recommend(req); err != nil {
			return err
		}
	} else {
		if resp, err = recommendWasm(wasm, data, req); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(resp)
	}
	if *user != "" {
		printHistory(stdout, *user, req, titles)
	}
	printResponse(stdout, resp, titles)
	return nil
}

// itemTitles maps each item id of b to the title the table prints: the
// bundle's, else (a bundle built with --no-titles) the data set's when ds
// is not nil, else the id itself, so that no line reads "because you
// watched " with nothing after it.
func itemTitles(b *bundle.Bundle, ds *dataset.Dataset) map[string]string {
	var fromData map[string]string
	if ds != nil {
		fromData = make(map[string]string, len(ds.Items))
		for _, it := range ds.Items {
			fromData[it.ID] = it.Title
		}
	}
	titles := make(map[string]string, b.Items.Len())
	for i, id := range b.Items.IDs.Slice() {
		t := b.Items.Title(i)
		if t == "" {
			t = fromData[id]
		}
		if t == "" {
			t = id
		}
		titles[id] = t
	}
	return titles
}

// printHistory shows what the user did last, so the recommendations can be
// read against it.
func printHistory(w io.Writer, user string, req *api.Request, titles map[string]string) {
	h := req.History
	fmt.Fprintf(w, "user %s (%s, %s, age %d): %d items in history; the last ones:\n", user,
		req.Context.Region, req.Context.Device, req.Context.Age, len(h))
	for _, e := range h[max(0, len(h)-5):] {
		fmt.Fprintf(w, "      %-12s %s\n", e.Item, titles[e.Item])
	}
}

// warnUnknown says on stderr which history and seed ids the bundle does
// not hold: the module ignores them (the response counts them in
// unknown_items) and a typo would otherwise pass unseen.
func warnUnknown(stderr io.Writer, req *api.Request, titles map[string]string) {
	var unknown []string
	for _, e := range req.History {
		if _, ok := titles[e.Item]; !ok {
			unknown = append(unknown, e.Item)
		}
	}
	if _, ok := titles[req.Seed]; req.Seed != "" && !ok {
		unknown = append(unknown, req.Seed)
	}
	if len(unknown) == 0 {
		return
	}
	const show = 5
	list := strings.Join(unknown[:min(len(unknown), show)], ", ")
	if len(unknown) > show {
		list += fmt.Sprintf(", and %d more", len(unknown)-show)
	}
	fmt.Fprintf(stderr, "warning: %d of the ids sent are not in the bundle and are ignored: %s\n", len(unknown), list)
}

// userRequest builds the request for a user of ds: all their interactions,
// oldest first, and their demographics.
func userRequest(ds *dataset.Dataset, user string, k int) (*api.Request, error) {
	var hist []string
	for _, in := range ds.Interactions {
		if in.User == user {
			hist = append(hist, in.Item)
		}
	}
	var u dataset.User
	found := len(hist) > 0
	for _, x := range ds.Users {
		if x.ID == user {
			u, found = x, true
		}
	}
	if !found {
		return nil, fmt.Errorf("user %q is not in data set %s", user, ds.Name)
	}
	u.ID = user
	return eval.Request(hist, u, k), nil
}

// recommendWasm runs one request through the module wasm in wazero.
func recommendWasm(wasm, bundleData []byte, req *api.Request) (*api.Response, error) {
	ctx := context.Background()
	inst, closeAll, err := openInstance(ctx, wasm)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	if _, err := inst.LoadBundle(ctx, bundleData); err != nil {
		return nil, err
	}
	return inst.Recommend(ctx, req)
}

func printResponse(w io.Writer, resp *api.Response, titles map[string]string) {
	fmt.Fprintf(w, "bundle %s\n", resp.BundleVersion)
	if resp.Arm != "" {
		fmt.Fprintf(w, "experiment arm %s\n", resp.Arm)
	}
	fmt.Fprintf(w, "%4s  %-12s %8s  %-9s %s\n", "rank", "item", "score", "source", "title")
	unordered := false
	for i, it := range resp.Items {
		why := ""
		if it.Because != "" {
			why = fmt.Sprintf("  (because you watched %s)", titles[it.Because])
		}
		unordered = unordered || i > 0 && it.Score > resp.Items[i-1].Score
		fmt.Fprintf(w, "%4d  %-12s %8.4f  %-9s %s%s\n", i+1, it.ID, it.Score, it.Source, titles[it.ID], why)
	}
	if unordered {
		// The order stage re-orders the ranked list (MMR trades relevance
		// for diversity; caps, exploration slots and pins move items):
		// the rank is its order, the score is the ranker's.
		fmt.Fprintln(w, "score: the ranker's; the rank is the order stage's (diversity, category caps, exploration, pins), so a lower rank can score higher")
	}
	if d := resp.Debug; d != nil {
		for _, s := range d.Stages {
			fmt.Fprintf(w, "stage %-9s in %d out %d  %d µs\n", s.Name, s.In, s.Out, s.Micros)
		}
		fmt.Fprintf(w, "unknown items %d, truncated %d\n", d.UnknownItems, d.Truncated)
	}
}
