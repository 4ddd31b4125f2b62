// Package builder turns a trained model and a catalog into a bundle: it runs
// the item tower over every catalog item (items the model never saw get the
// unknown id row and are embedded from their content alone), quantizes the
// embeddings, and packs the query tower, the vocabularies and the item
// metadata that the module needs.
//
// The output depends only on the model, the catalog and Options: no clock,
// no map order, no goroutine timing, so a release pipeline can rebuild a
// bundle and compare digests.
package builder

import (
	"fmt"
	"math"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/feature"
	"github.com/edgerec/edgerec/core/quant"
	"github.com/edgerec/edgerec/core/tower"
	"github.com/edgerec/edgerec/tools/dataset"
	"github.com/edgerec/edgerec/tools/model"
)

// Options set what Build records and how it runs.
type Options struct {
	// Version labels the bundle; "" derives one from the data set's name
	// and the creation time.
	Version string
	// Created is the bundle's creation time in Unix seconds: the lists
	// of the other candidate sources count the interactions up to it, and
	// requests without a time are served at it. 0 uses the later of the
	// model's training time and the data set's last interaction, so that
	// rebuilding gives the same bytes.
	Created int64
	// Builder names the tool that built the bundle.
	Builder string
	// Workers is the number of goroutines for item-tower inference; 0 means
	// GOMAXPROCS.
	Workers int
	// Progress, if not nil, is called with the number of items embedded.
	Progress func(done, total int)
	// Rules are business rules and experiment arms (nil: none).
	Rules *Rules
	// NoSources leaves out the other candidate sources' data (section
	// PIPE): the bundle then serves two-tower retrieval alone.
	NoSources bool
	// NoTitles leaves the items' titles out of the bundle (each one
	// empty): responses and catalog pages then carry ids alone, for a
	// catalog whose titles the client holds elsewhere. The item tower
	// still embeds them.
	NoTitles bool
	// Index configures the approximate-search index of large catalogs
	// (index.go); the zero value indexes from DefaultIndexMinItems items.
	Index IndexOptions
	// Compact, if not nil, builds a compact bundle (compact.go): codes in
	// place of the int8 rows and of the index, whatever the catalog's
	// size. Its Queries default to the data set's users (UserSample); its
	// HistoryBytes is set from HistoryBytes.
	Compact *CompactOptions
	// HistoryBytes is the bytes of an item's history row as the query
	// tower pools it: a positive value codes the rows with product
	// quantization in that many bytes (CodeHistory, section HIPQ), a
	// negative one keeps the int8 rows (HIST), and 0 takes the mode's
	// default: int8 rows in a full bundle, codes of half their bytes in a
	// compact one. Codes save 20 bytes an item at width 32 and move the
	// served queries off the trained ones by their quantization error
	// (RATIONALE.md, "History rows as codes in full bundles").
	HistoryBytes int
	// Warnf, if not nil, receives what the build notices in its inputs
	// but does not refuse (one message a call, without a newline): a
	// catalog the model mostly does not know, interactions after the
	// creation time left out of the sources.
	Warnf func(format string, a ...any)
}

// warnf reports a warning through o.Warnf, if set.
func (o *Options) warnf(format string, a ...any) {
	if o.Warnf != nil {
		o.Warnf(format, a...)
	}
}

// checkWeights returns the first NaN or infinity in m's towers and ranker
// as a *bundle.WeightError.
func checkWeights(m *model.Model) error {
	if err := bundle.CheckItemTower(&m.Item); err != nil {
		return err
	}
	if err := bundle.CheckQueryTower(&m.Query); err != nil {
		return err
	}
	if m.Ranker != nil {
		return bundle.CheckRanker(m.Ranker)
	}
	return nil
}

// Build assembles the bundle of m over the catalog ds.Items.
func Build(m *model.Model, ds *dataset.Dataset, opts Options) (*bundle.Bundle, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("builder: model: %w", err)
	}
	// A NaN or an infinity in the item tower would embed the catalog into
	// NaNs that quantize without a word; the query tower's and the
	// ranker's would be refused by every reader. Refuse them here, where
	// retraining is the remedy.
	if err := checkWeights(m); err != nil {
		return nil, fmt.Errorf("builder: model: %w; retrain or re-export the model", err)
	}
	n := len(ds.Items)
	if n == 0 {
		return nil, fmt.Errorf("builder: the catalog of %q is empty", ds.Name)
	}
	created, err := creationTime(m, ds, &opts)
	if err != nil {
		return nil, err
	}
	b := &bundle.Bundle{
		Vocab:      bundle.Vocab{Categories: m.Vocab.Categories},
		Query:      m.Query,
		Ranker:     m.Ranker,
		Embeddings: quant.NewInt8(n, m.Item.Dim()),
		History:    quant.NewInt8(n, m.Item.IDs.Dim),
	}
	pop, recent := popularity(ds, created)
	it := &b.Items
	it.CategoryOffsets = append(it.CategoryOffsets, 0)
	it.RegionOffsets = append(it.RegionOffsets, 0)
	inputs := make([]tower.ItemInput, n)
	ids, titles := make([]string, 0, n), make([]string, 0, n)
	seen := make(map[string]bool, n)
	for i, item := range ds.Items {
		if item.ID == "" || seen[item.ID] {
			return nil, fmt.Errorf("builder: catalog item %d has an empty or repeated id %q", i, item.ID)
		}
		seen[item.ID] = true
		id := m.Vocab.Items.Index(item.ID)
		in := ItemInput(m, &item, created)
		inputs[i] = in
		ids = append(ids, item.ID)
		if !opts.NoTitles {
			titles = append(titles, item.Title)
		} else {
			titles = append(titles, "")
		}
		it.Categories = append(it.Categories, in.Categories...)
		it.CategoryOffsets = append(it.CategoryOffsets, uint32(len(it.Categories)))
		it.Released = append(it.Released, item.Released)
		it.Available = append(it.Available, item.Available)
		it.AgeRating = append(it.AgeRating, uint8(min(max(item.AgeRating, 0), 255)))
		for _, r := range item.Regions {
			it.Regions = append(it.Regions, b.Vocab.Licensing.Add(r))
		}
		it.RegionOffsets = append(it.RegionOffsets, uint32(len(it.Regions)))
		it.Popularity = append(it.Popularity, float32(math.Log1p(float64(pop[item.ID]))))
		it.Recent = append(it.Recent, float32(math.Log1p(float64(recent[item.ID]))))
		it.Known = append(it.Known, id != feature.Unknown)
	}
	it.IDs, it.Titles = bundle.NewStrings(ids), bundle.NewStrings(titles)
	if known := KnownItems(it.Known); 2*known < n {
		opts.warnf("only %d of the catalog's %d items are known to the model (trained on %q): the rest are embedded from their content alone; is the model trained on this catalog?",
			known, n, m.Manifest.Data)
	}

	embed(m, inputs, b, opts)
	// The index orders the rows by inverted list (index.go), so it comes
	// before anything that refers to rows.
	ix := opts.Index
	if ix.Queries == nil {
		// Tune the index on the data set's users, as the module will see
		// them: synthetic queries fall among the items and underestimate
		// the lists real queries need.
		ix.Queries = func(b *bundle.Bundle) [][]float32 { return UserQueries(b, ds, created, 200) }
	}
	if c := opts.Compact; c != nil {
		co := *c
		co.HistoryBytes = opts.HistoryBytes
		if co.Queries == nil {
			co.Queries = func(b *bundle.Bundle) ([][]float32, [][]int32) { return UserSample(b, ds, created, 200) }
		}
		if _, err := Compact(b, co); err != nil {
			return nil, err
		}
	} else {
		if err := Index(b, ix); err != nil {
			return nil, err
		}
		if opts.HistoryBytes > 0 {
			if _, err := CodeHistory(b, opts.HistoryBytes, 1, opts.Workers); err != nil {
				return nil, err
			}
		}
	}
	if !opts.NoSources {
		rows := make(map[string]int32, n)
		for i := range it.Len() {
			rows[it.IDs.At(i)] = int32(i)
		}
		p, err := pipelineData(ds, rows, n, created, opts.Rules)
		if err != nil {
			return nil, err
		}
		b.Pipeline = p
	}

	version := opts.Version
	if version == "" {
		version = fmt.Sprintf("%s-%s", ds.Name, time.Unix(created, 0).UTC().Format("20060102T150405Z"))
	}
	b.Manifest = bundle.Manifest{
		Format:       bundle.FormatName,
		Version:      version,
		Created:      created,
		Items:        n,
		Dim:          m.Item.Dim(),
		HistoryDim:   m.Item.IDs.Dim,
		Quantization: quantization(b),
		Metric:       "dot",
		Builder:      opts.Builder,
		Model: bundle.Model{
			Name:        m.Manifest.Name,
			TrainedAt:   m.Manifest.TrainedAt,
			Temperature: m.Manifest.Temperature,
			PopPrior:    m.Manifest.PopPrior,
			Data:        m.Manifest.Data,
		},
	}
	return b, nil
}

// ItemInput prepares the item tower's input for a catalog item at time
// created (Unix seconds): its id row (0 when the model never saw it), its
// known categories, its hashed title tokens and its numeric features.
func ItemInput(m *model.Model, item *dataset.Item, created int64) tower.ItemInput {
	var cats []int32
	for _, c := range item.Categories {
		if ci := m.Vocab.Categories.Index(c); ci != feature.Unknown {
			cats = append(cats, ci)
		}
	}
	raw := feature.Item{Price: item.Price, Released: item.Released, Time: created}
	return m.Item.Prepare(m.Vocab.Items.Index(item.ID), cats, m.Item.Tokenize(item.Title), &raw)
}

// Regional returns a copy of ds whose catalog keeps only the items licensed
// in region: those that list it among their regions, and those that list
// none (licensed everywhere). Interactions and users are shared with ds;
// interactions with items left out are ignored by Build. A region no item
// names is an error (a typo would otherwise give the global-only catalog). Its name gets
// "-REGION" appended, so default bundle versions tell regions apart. It returns an
// error when no item is licensed there.
func Regional(ds *dataset.Dataset, region string) (*dataset.Dataset, error) {
	out := *ds
	out.Name = ds.Name + "-" + region
	out.Items = nil
	known := map[string]bool{}
	for _, it := range ds.Items {
		ok := len(it.Regions) == 0
		for _, r := range it.Regions {
			ok = ok || r == region
			known[r] = true
		}
		if ok {
			out.Items = append(out.Items, it)
		}
	}
	if !known[region] {
		names := make([]string, 0, len(known))
		for r := range known {
			names = append(names, r)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("builder: no item of %q names region %q (the catalog's regions: %s)", ds.Name, region, strings.Join(names, ", "))
	}
	if len(out.Items) == 0 {
		return nil, fmt.Errorf("builder: no item of %q is licensed in region %q", ds.Name, region)
	}
	return &out, nil
}

// embed fills b.Embeddings and b.History for inputs, in parallel chunks.
// Each row depends only on its input, so the result does not depend on the
// number of workers.
func embed(m *model.Model, inputs []tower.ItemInput, b *bundle.Bundle, opts Options) {
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	const chunk = 4096
	n := len(inputs)
	var (
		mu   sync.Mutex
		done int
		next int
		wg   sync.WaitGroup
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := m.Item.NewScratch()
			for {
				mu.Lock()
				lo := next
				next += chunk
				mu.Unlock()
				if lo >= n {
					return
				}
				hi := min(lo+chunk, n)
				for i := lo; i < hi; i++ {
					b.Embeddings.Set(i, m.Item.Embed(s, inputs[i]))
					b.History.Set(i, m.Item.IDs.Row(int(inputs[i].ID)))
				}
				mu.Lock()
				done += hi - lo
				if opts.Progress != nil {
					opts.Progress(done, n)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// RecentDays is the window of Items.Recent.
const RecentDays = 30

// MaxCreated is the latest creation time a bundle may have, in Unix
// seconds: 9999-12-31T23:59:59Z, the last time RFC 3339 (which inspect
// prints) writes. A time in milliseconds by mistake is past it from 1978
// on.
const MaxCreated int64 = 253_402_300_799

// staleDays is how far past the model's training the data may go before
// the build says the towers are getting old.
const staleDays = 30

// creationTime returns the bundle's creation time: opts.Created, else as
// of the newest data the bundle holds, the model's training or, when the
// data set goes on past it (a rebuild with fresh interactions), its last
// interaction — a function of the inputs either way, so rebuilding gives
// the same bytes. It refuses a time past MaxCreated and warns of what
// looks wrong: interactions an explicit time leaves out, a time in the
// future (an interaction's time in milliseconds, or a client's skewed
// clock: the clock is read for this warning only), data far past the
// training.
func creationTime(m *model.Model, ds *dataset.Dataset, opts *Options) (int64, error) {
	stamp := func(t int64) string { return time.Unix(t, 0).UTC().Format(time.RFC3339) }
	created := opts.Created
	if created == 0 {
		trained, last := m.Manifest.TrainedAt, int64(0)
		if interactionsAfter(ds, trained) > 0 { // else the model's own data: no pairs to index
			last = lastInteraction(ds)
		}
		created = max(trained, last)
		if last > trained+staleDays*86400 {
			opts.warnf("the data set's last interaction (%s) is %d days after the model's training (%s): the bundle is created as of the data, with towers that have not seen its last %d days; retrain to learn them",
				stamp(last), (last-trained)/86400, stamp(trained), (last-trained)/86400)
		}
	} else if late := interactionsAfter(ds, created); late > 0 {
		opts.warnf("%d of the data set's %d interactions are after the creation time %s: the popularity counts (and the other sources' lists) leave them out",
			late, len(ds.Interactions), stamp(created))
	}
	if created > MaxCreated || created < 0 {
		return 0, fmt.Errorf("builder: creation time %d is outside 0 … %d Unix seconds (%s): an interaction's time in milliseconds?", created, MaxCreated, stamp(MaxCreated))
	}
	if now := time.Now().Unix(); created > now+86400 {
		opts.warnf("the creation time %s is in the future: an interaction's time in milliseconds, or from a skewed clock?", stamp(created))
	}
	return created, nil
}

// lastInteraction returns the time of the data set's newest interaction
// that is a user's first with its item (0 when it has none): the time
// training records as the model's (tools/train), so that the model's own
// data gives its training time.
func lastInteraction(ds *dataset.Dataset) int64 {
	var t int64
	seen := make(map[[2]string]bool, len(ds.Interactions))
	for _, in := range ds.Interactions {
		if k := [2]string{in.User, in.Item}; !seen[k] {
			seen[k] = true
			t = max(t, in.Time)
		}
	}
	return t
}

// interactionsAfter counts the interactions later than t.
func interactionsAfter(ds *dataset.Dataset, t int64) int {
	n := 0
	for _, in := range ds.Interactions {
		if in.Time > t {
			n++
		}
	}
	return n
}

// KnownItems counts the items the model has an id embedding for (a
// bundle's Items.Known).
func KnownItems(known []bool) int {
	n := 0
	for _, k := range known {
		if k {
			n++
		}
	}
	return n
}

// popularity counts each item's interactions up to created, in all and in
// the RecentDays before it.
func popularity(ds *dataset.Dataset, created int64) (all, recent map[string]int) {
	all, recent = map[string]int{}, map[string]int{}
	for _, in := range ds.Interactions {
		if in.Time > created {
			continue
		}
		all[in.Item]++
		if in.Time > created-RecentDays*86400 {
			recent[in.Item]++
		}
	}
	return all, recent
}

// quantization names how b stores its item embeddings.
func quantization(b *bundle.Bundle) string {
	if b.Codes != nil {
		return bundle.QuantIVFPQ
	}
	return bundle.QuantInt8
}
