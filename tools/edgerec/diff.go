package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/pipeline"
	"github.com/edgerec/edgerec/core/vec"
)

// diffReport is what `bundle diff --json` prints.
type diffReport struct {
	Old       diffFile     `json:"old"`
	New       diffFile     `json:"new"`
	Identical bool         `json:"identical"` // byte-identical files
	Items     diffItems    `json:"items"`
	Metadata  []diffChange `json:"metadata_changes"`
	Sections  []diffChange `json:"section_changes"`
	Drift     *diffDrift   `json:"embedding_drift"` // null when the embeddings are not comparable
	DriftNote string       `json:"embedding_drift_note,omitempty"`
	Overlap   *diffOverlap `json:"top_overlap"` // null when the bundles share too few items
}

type diffFile struct {
	File    string `json:"file"`
	Bytes   int    `json:"bytes"`
	SHA256  string `json:"sha256"`
	Version string `json:"version"`
}

type diffItems struct {
	Old     int `json:"old"`
	New     int `json:"new"`
	Shared  int `json:"shared"`
	Added   int `json:"added"`
	Removed int `json:"removed"`
	// AddedIDs and RemovedIDs list up to diffListMax ids, sorted.
	AddedIDs   []string `json:"added_ids"`
	RemovedIDs []string `json:"removed_ids"`
}

type diffChange struct {
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

// diffDrift compares the int8-decoded embedding of each shared item in the
// two bundles: cosine = a·b / (‖a‖‖b‖).
type diffDrift struct {
	Shared      int     `json:"shared_items"`
	MeanCosine  float64 `json:"mean_cosine"`
	MinCosine   float64 `json:"min_cosine"`
	Below09     int     `json:"items_below_0_9"` // shared items whose cosine is below 0.9
	MinCosineID string  `json:"min_cosine_item"`
}

// diffOverlap runs the same sample requests through both bundles' whole
// pipeline (natively) and compares the top-K lists: overlap =
// |old ∩ new| / K.
type diffOverlap struct {
	Queries   int     `json:"queries"`
	K         int     `json:"k"`
	Mean      float64 `json:"mean"`
	Min       float64 `json:"min"`
	Identical int     `json:"identical_lists"` // same items in the same order
}

const diffListMax = 20

func runBundleDiff(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bundle diff", "bundle diff OLD NEW [--json] [--queries N] [--k K] [--seed S]", `
Compare two bundles for a release review: items added and removed,
metadata changes (version, model, shapes, index, sections), embedding drift
(the cosine between the two versions of each shared item's embedding: mean,
minimum, items below 0.9) and how much the recommendations move (the same
sample requests, histories of shared items, through both bundles' whole
pipeline: mean overlap of the top-K lists). Both bundles are validated
completely first; exit status 1 when either is corrupt.`)
	asJSON := fs.Bool("json", false, "print JSON")
	queries := fs.Int("queries", 200, "sample requests for the top-K overlap")
	k := fs.Int("k", 20, "list depth of the overlap")
	seed := fs.Uint64("seed", 1, "seed of the sample requests")
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 2 {
		return usagef("want two bundle files, OLD and NEW (got %d)", len(files))
	}
	if *queries <= 0 || *k <= 0 || *k > api.MaxK {
		return usagef("--queries must be > 0 and --k in 1…%d", api.MaxK)
	}
	var raw [2][]byte
	var recs [2]*pipeline.Recommender
	var hs [2]*bundle.Header
	for i, f := range files {
		data, err := readBundleFile(f)
		if err != nil {
			return err
		}
		if hs[i], err = bundle.ReadHeader(data); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		// The serving pipeline decodes and validates the whole bundle
		// (bundle.Decode) and keeps it; one copy serves both the
		// comparison and the sample requests.
		if recs[i], err = pipeline.Load(bytes.Clone(data)); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		raw[i] = data
	}
	rep := diffBundles(files, raw, recs, hs, *queries, *k, *seed)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printDiff(stdout, rep)
	return nil
}

func diffBundles(files []string, raw [2][]byte, recs [2]*pipeline.Recommender, hs [2]*bundle.Header, queries, k int, seed uint64) *diffReport {
	bs := [2]*bundle.Bundle{recs[0].Bundle(), recs[1].Bundle()}
	rep := &diffReport{Identical: bytes.Equal(raw[0], raw[1]), Metadata: []diffChange{}, Sections: []diffChange{},
		Items: diffItems{AddedIDs: []string{}, RemovedIDs: []string{}}}
	for i, f := range []*diffFile{&rep.Old, &rep.New} {
		sum := sha256.Sum256(raw[i])
		*f = diffFile{File: files[i], Bytes: len(raw[i]), SHA256: hex.EncodeToString(sum[:]), Version: bs[i].Manifest.Version}
	}
	old, nw := bs[0], bs[1]

	// Items.
	oldRow := make(map[string]int, old.Items.Len())
	for i, id := range old.Items.IDs.Slice() {
		oldRow[id] = i
	}
	newRow := make(map[string]int, nw.Items.Len())
	for i, id := range nw.Items.IDs.Slice() {
		newRow[id] = i
	}
	it := &rep.Items
	it.Old, it.New = old.Items.Len(), nw.Items.Len()
	var shared []string
	for _, id := range nw.Items.IDs.Slice() {
		if _, ok := oldRow[id]; ok {
			shared = append(shared, id)
		} else {
			it.Added++
			it.AddedIDs = append(it.AddedIDs, id)
		}
	}
	for _, id := range old.Items.IDs.Slice() {
		if _, ok := newRow[id]; !ok {
			it.Removed++
			it.RemovedIDs = append(it.RemovedIDs, id)
		}
	}
	sort.Strings(shared)
	it.Shared = len(shared)
	for _, l := range []*[]string{&it.AddedIDs, &it.RemovedIDs} {
		sort.Strings(*l)
		*l = (*l)[:min(len(*l), diffListMax)]
	}

	// Metadata.
	meta := func(b *bundle.Bundle, h *bundle.Header) []diffChange {
		m := b.Manifest
		idx := "none"
		if x := b.Index; x != nil {
			idx = fmt.Sprintf("IVF %d lists, nprobe %d", x.Lists(), x.NProbe)
		}
		if c := b.Codes; c != nil {
			idx = fmt.Sprintf("compact %d-byte codes, %d lists, nprobe %d", c.PQ.M, c.Lists(), c.NProbe)
		}
		return []diffChange{
			{"format_version", fmt.Sprintf("%d.%d", h.Major, h.Minor), ""},
			{"version", m.Version, ""}, {"created", fmt.Sprint(m.Created), ""},
			{"builder", m.Builder, ""}, {"items", fmt.Sprint(m.Items), ""},
			{"dim", fmt.Sprint(m.Dim), ""}, {"history_dim", fmt.Sprint(m.HistoryDim), ""},
			{"quantization", m.Quantization, ""}, {"metric", m.Metric, ""},
			{"model.name", m.Model.Name, ""}, {"model.trained_at", fmt.Sprint(m.Model.TrainedAt), ""},
			{"model.data", m.Model.Data, ""}, {"model.temperature", fmt.Sprint(m.Model.Temperature), ""},
			{"model.pop_prior", fmt.Sprint(m.Model.PopPrior), ""},
			{"index", idx, ""}, {"ranker", fmt.Sprint(b.Ranker != nil), ""},
			{"pipeline_section", fmt.Sprint(b.Pipeline != nil), ""},
		}
	}
	mo, mn := meta(old, hs[0]), meta(nw, hs[1])
	for i := range mo {
		if mo[i].Old != mn[i].Old {
			rep.Metadata = append(rep.Metadata, diffChange{mo[i].Field, mo[i].Old, mn[i].Old})
		}
	}
	sec := func(h *bundle.Header) map[string]string {
		out := map[string]string{}
		for _, e := range h.Entries {
			out[e.Tag] = fmt.Sprintf("%d bytes, crc32c %08x", e.Stored, e.Checksum)
		}
		return out
	}
	so, sn := sec(hs[0]), sec(hs[1])
	var tags []string
	for t := range so {
		tags = append(tags, t)
	}
	for t := range sn {
		if _, ok := so[t]; !ok {
			tags = append(tags, t)
		}
	}
	sort.Strings(tags)
	for _, t := range tags {
		if so[t] != sn[t] {
			rep.Sections = append(rep.Sections, diffChange{t, orNone(so[t]), orNone(sn[t])})
		}
	}

	// Embedding drift.
	switch {
	case len(shared) == 0:
		rep.DriftNote = "no shared items"
	case old.Manifest.Dim != nw.Manifest.Dim:
		rep.DriftNote = fmt.Sprintf("embedding dims differ (%d, %d): not comparable", old.Manifest.Dim, nw.Manifest.Dim)
	default:
		d := &diffDrift{Shared: len(shared), MinCosine: 2}
		a, b := make([]float32, old.Manifest.Dim), make([]float32, nw.Manifest.Dim)
		for _, id := range shared {
			old.Vector(a, oldRow[id])
			nw.Vector(b, newRow[id])
			c := cosine(a, b)
			d.MeanCosine += c
			if c < d.MinCosine {
				d.MinCosine, d.MinCosineID = c, id
			}
			if c < 0.9 {
				d.Below09++
			}
		}
		d.MeanCosine /= float64(len(shared))
		rep.Drift = d
	}

	// Top-K overlap through both pipelines on the same requests.
	po, pn := recs[0], recs[1]
	var pool []string // shared items both models know
	for _, id := range shared {
		if old.Items.Known[oldRow[id]] && nw.Items.Known[newRow[id]] {
			pool = append(pool, id)
		}
	}
	if len(pool) > 0 {
		rng := rand.New(rand.NewPCG(seed, 0x0d1ff))
		regions := append([]string{""}, old.Vocab.Licensing.Values...)
		ov := &diffOverlap{Queries: queries, K: k, Min: 1}
		for q := 0; q < queries; q++ {
			req := &api.Request{K: k, Context: api.Context{Region: regions[rng.IntN(len(regions))], Age: 18 + rng.IntN(50),
				Time: max(old.Manifest.Created, nw.Manifest.Created)}}
			for range 1 + rng.IntN(10) {
				req.History = append(req.History, api.Event{Item: pool[rng.IntN(len(pool))]})
			}
			ro, e1 := po.Recommend(diffRequest(req))
			rn, e2 := pn.Recommend(diffRequest(req))
			if e1 != nil || e2 != nil {
				continue
			}
			in := map[string]bool{}
			for _, x := range ro.Items {
				in[x.ID] = true
			}
			same, hit := len(ro.Items) == len(rn.Items), 0
			for j, x := range rn.Items {
				if in[x.ID] {
					hit++
				}
				same = same && ro.Items[j].ID == x.ID
			}
			o := float64(hit) / float64(k)
			ov.Mean += o
			ov.Min = min(ov.Min, o)
			if same {
				ov.Identical++
			}
		}
		ov.Mean /= float64(queries)
		rep.Overlap = ov
	}
	return rep
}

func diffRequest(r *api.Request) *api.Request {
	c := *r
	c.History = append([]api.Event(nil), r.History...)
	return &c
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func cosine(a, b []float32) float64 {
	na, nb := math.Sqrt(float64(vec.Dot(a, a))), math.Sqrt(float64(vec.Dot(b, b)))
	if na == 0 || nb == 0 {
		return 0
	}
	return float64(vec.Dot(a, b)) / (na * nb)
}

func printDiff(w io.Writer, r *diffReport) {
	// Strings from the bundles go through safe: a crafted version or id
	// must not forge a line of the report or drive the terminal.
	fmt.Fprintf(w, "old  %s: version %s, %d bytes, sha256 %s\n", r.Old.File, safe(r.Old.Version), r.Old.Bytes, r.Old.SHA256)
	fmt.Fprintf(w, "new  %s: version %s, %d bytes, sha256 %s\n", r.New.File, safe(r.New.Version), r.New.Bytes, r.New.SHA256)
	if r.Identical {
		fmt.Fprintln(w, "the files are byte-identical")
	}
	it := r.Items
	fmt.Fprintf(w, "items       %d → %d: %d shared, %d added, %d removed\n", it.Old, it.New, it.Shared, it.Added, it.Removed)
	if len(it.AddedIDs) > 0 {
		fmt.Fprintf(w, "  added     %v%s\n", safeAll(it.AddedIDs), more(it.Added))
	}
	if len(it.RemovedIDs) > 0 {
		fmt.Fprintf(w, "  removed   %v%s\n", safeAll(it.RemovedIDs), more(it.Removed))
	}
	if len(r.Metadata) == 0 {
		fmt.Fprintln(w, "metadata    unchanged")
	} else {
		fmt.Fprintln(w, "metadata:")
		for _, c := range r.Metadata {
			fmt.Fprintf(w, "  %-18s %s → %s\n", c.Field, safe(c.Old), safe(c.New))
		}
	}
	if len(r.Sections) > 0 {
		fmt.Fprintln(w, "sections:")
		for _, c := range r.Sections {
			fmt.Fprintf(w, "  %s  %s → %s\n", c.Field, c.Old, c.New)
		}
	}
	if d := r.Drift; d != nil {
		fmt.Fprintf(w, "drift       mean cosine %.4f over %d shared items; min %.4f (%s); %d below 0.9\n",
			d.MeanCosine, d.Shared, d.MinCosine, safe(d.MinCosineID), d.Below09)
	} else {
		fmt.Fprintf(w, "drift       %s\n", r.DriftNote)
	}
	if o := r.Overlap; o != nil {
		fmt.Fprintf(w, "%-11s mean overlap %.3f over %d sample requests; min %.3f; %d lists identical\n",
			fmt.Sprintf("top-%d", o.K), o.Mean, o.Queries, o.Min, o.Identical)
	} else {
		fmt.Fprintln(w, "top-k       no shared items known to both models: no sample requests")
	}
}

// safeAll applies safe to each string.
func safeAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = safe(s)
	}
	return out
}

func more(n int) string {
	if n > diffListMax {
		return fmt.Sprintf(" and %d more", n-diffListMax)
	}
	return ""
}
