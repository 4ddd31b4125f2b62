// Package sim closes edgerec's loop in a simulation, end to end: users
// with hidden tastes ask a real edge node for lists, take what they like
// with a position bias, and the events come back as an experiment report.
//
// Run generates a data set with tools/synth, keeping its latent tastes
// (synth.GenerateTastes); trains the towers on it (tools/train) and builds
// a bundle whose PIPE section carries two experiment arms (tools/builder,
// bundles/FORMAT.md §5.8); starts the edge node (host/server, the handler
// `edgerec serve` runs) on a loopback port with events stored as Parquet
// in a directory (host/events); and lets Config.Users of the data set's
// users each ask for Config.Lists lists over HTTP, their request's
// experiment key being their id. For each list the user examines and
// takes items as Behaviour says, from the hidden tastes only, posts the
// takes to POST /v1/events, adds them to its history and sends the rest
// as impressions, as a page would. The node logs every list it served as
// an impression. When every user is done the node closes its files and
// tools/report reads them back: each arm's take rate, the difference
// with its interval, the verdict.
//
// The simulator also knows the truth: the expected take rate of each arm,
// the mean of the take probabilities of the items it showed. A report
// that is right finds the arm with the higher expected rate better, with
// an interval that excludes zero.
//
// With Config.Retrain, round 2 closes the loop (retrain.go): a bundle
// trained with round 1's events, as `edgerec train --events` trains one,
// and one trained without are each served to the same users with the
// same draws, and the simulator compares their expected and observed take
// rates (RetrainResult).
//
// The users live on a simulated clock (clock.go), not the wall clock:
// their requests and takes are stamped with it, and the node's
// impressions are re-stamped with it when a round ends, so that the
// events, and every model trained from them, are a function of the
// configuration, its seed and its day, however the goroutines
// interleave.
//
// Nothing leaves the machine: the node listens on 127.0.0.1 and the
// users are goroutines.
package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/host"
	"github.com/edgerec/edgerec/host/events"
	"github.com/edgerec/edgerec/host/server"
	"github.com/edgerec/edgerec/tools/builder"
	"github.com/edgerec/edgerec/tools/dataset"
	"github.com/edgerec/edgerec/tools/report"
	"github.com/edgerec/edgerec/tools/synth"
	"github.com/edgerec/edgerec/tools/train"
)

// Config configures Run. Start from DefaultConfig.
type Config struct {
	// Synth draws the population and the catalog.
	Synth synth.Config
	// Train trains the towers; the ranker is not trained (an arm that
	// turns it off would compare nothing).
	Train train.Config
	// Arms are the experiment arms written into the bundle, the first
	// the baseline; two or more, with distinct names.
	Arms []builder.ArmRule
	// Users is the number of simulated users, drawn from Synth's users
	// (at most Synth.Users); Lists the lists each asks for, K their
	// length.
	Users, Lists, K int
	// Behaviour is how users take; zero: DefaultBehaviour.
	Behaviour Behaviour
	// Workers is the number of users asking at once; Pool the node's
	// module instances (0: GOMAXPROCS for both).
	Workers, Pool int
	// Seed seeds the users' draws and the report's bootstrap.
	Seed uint64
	// Bootstrap is the number of resamples of users behind the verdict's
	// interval (report.Options.Bootstrap).
	Bootstrap int
	// Wasm is recommender.wasm; Dir the directory the bundle and the
	// events are written to (Dir/sim.bundle, Dir/events). Both required.
	Wasm []byte
	Dir  string
	// Progress, when set, is told of each stage and of the users done.
	Progress func(stage string, done, total int)
	// Retrain runs round 2 (RetrainResult): a bundle trained with round
	// 1's events against one trained without, each served to the same
	// users. Ranker and Events configure both trainings' ranker and what
	// the second takes from the events.
	Retrain bool
	Ranker  train.RankerConfig
	Events  train.EventConfig

	// afterRound1, when set (by a measurement), runs instead of round 2.
	afterRound1 func(*loop) error
}

// loop is what round 1 leaves for round 2: the data set and the tastes,
// the towers trained on it (run) and their bundle b, the compiled
// module, the events and each user's session.
type loop struct {
	cfg      *Config
	mod      *host.Module
	ds       *dataset.Dataset
	ts       *synth.Tastes
	run      *train.Run
	b        *bundle.Bundle
	evs      []events.Event
	sessions []*session
	// start is when round 1 began on the simulated clock (Unix ms).
	start    int64
	progress func(string, int, int)
}

// DefaultArms are the arms Run compares by default: the bundle's
// defaults ("control"), and the same with the personalized sources off
// ("popular-only": two-tower, co-visitation and item-to-item at weight 0),
// so that its lists come from popularity, trends and freshness, the same
// for everyone in a region. Subtler pairs (the two-tower source alone
// off, the ranker off) differ by less than the default run can resolve:
// pass them with --arms and more users.
func DefaultArms() []builder.ArmRule {
	off := map[string]float32{}
	for _, s := range []api.Source{api.SourceTwoTower, api.SourceCovisit, api.SourceSlim} {
		off[api.SourceNames[s]] = 0
	}
	return []builder.ArmRule{
		{Name: "control", Weight: 1},
		{Name: "popular-only", Weight: 1, Params: builder.ParamRules{Weights: off}},
	}
}

// DefaultConfig is a simulation that runs in well under a minute on two
// cores: 400 users and 500 items drawn, towers trained for 2 epochs, 300
// users asking for 4 lists of 10 each, then round 2 (Retrain). The data
// set's log ends at the start of the current day (UTC) and the events
// follow it on the simulated clock (clock.go): the node takes events
// within events.MaxAge of its clock, as a node's follow its bundle's
// training data.
func DefaultConfig() Config {
	s := synth.DefaultConfig()
	s.Users, s.Items = 400, 500
	s.Start = time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -s.Days)
	t := train.DefaultConfig()
	t.Epochs, t.Refit = 2, false
	return Config{Synth: s, Train: t, Arms: DefaultArms(), Users: 300, Lists: 4, K: 10, Seed: 1, Bootstrap: 1000,
		Retrain: true, Ranker: train.DefaultRankerConfig(), Events: train.DefaultEventConfig()}
}

// Limits Run enforces on Config.
const (
	MaxUsers = 100_000
	MaxLists = 100
)

// ArmResult is what the simulator knows of one arm.
type ArmResult struct {
	Name        string `json:"name"`
	Users       int    `json:"users"`
	Lists       int    `json:"lists"`
	Impressions int    `json:"impressions"`
	// Takes is the takes the users posted.
	Takes int `json:"takes"`
	// Expected is the mean take probability of the items shown: the take
	// rate the arm has in truth, of which the report's is an estimate.
	Expected float64 `json:"expected_take_rate"`
}

// Result is the outcome of Run.
type Result struct {
	// Report is tools/report's reading of the events the node stored.
	Report *report.Report `json:"report"`
	// Arms is the simulator's own count, in Config.Arms order.
	Arms []ArmResult `json:"arms"`
	// Truth is the arm with the highest expected take rate; Found the arm
	// the report finds better than the baseline with an interval that
	// excludes zero, or the baseline when the report finds every other
	// arm worse, or "" when it finds no difference. Right: Found is Truth.
	Truth string `json:"truth"`
	Found string `json:"found"`
	Right bool   `json:"right"`
	// Requests is the lists asked for; Failed those the node did not
	// answer with 200 (none in a healthy run).
	Requests int `json:"requests"`
	Failed   int `json:"failed"`
	// Seconds spent training, serving the users, and reading the events.
	TrainSeconds  float64 `json:"train_seconds"`
	ServeSeconds  float64 `json:"serve_seconds"`
	ReportSeconds float64 `json:"report_seconds"`
	// EventsDir is where the events are (Config.Dir/events).
	EventsDir string `json:"events_dir"`
	// Retrain is round 2, when Config.Retrain.
	Retrain *RetrainResult `json:"retrain,omitempty"`
}

func errorf(format string, args ...any) error { return fmt.Errorf("sim: "+format, args...) }

func (c *Config) check() error {
	switch {
	case len(c.Wasm) == 0:
		return errors.New("sim: no module (Config.Wasm)")
	case c.Dir == "":
		return errors.New("sim: no directory (Config.Dir)")
	case len(c.Arms) < 2:
		return fmt.Errorf("sim: %d arms: want two or more", len(c.Arms))
	case c.Users < 1 || c.Users > min(MaxUsers, c.Synth.Users):
		return fmt.Errorf("sim: %d users out of range [1, %d] (at most the data set's)", c.Users, min(MaxUsers, c.Synth.Users))
	case c.Lists < 1 || c.Lists > MaxLists:
		return fmt.Errorf("sim: %d lists per user out of range [1, %d]", c.Lists, MaxLists)
	case c.K < 1 || c.K > api.MaxK:
		return fmt.Errorf("sim: k = %d out of range [1, %d]", c.K, api.MaxK)
	case c.Workers < 0 || c.Pool < 0 || c.Bootstrap < 0:
		return errors.New("sim: Workers, Pool and Bootstrap must not be negative")
	}
	seen := map[string]bool{}
	for _, a := range c.Arms {
		if a.Name == "" || seen[a.Name] || !(a.Weight > 0) {
			return fmt.Errorf("sim: arm %q: want a distinct, non-empty name and a positive weight", a.Name)
		}
		seen[a.Name] = true
	}
	if c.Retrain {
		if err := c.Ranker.Validate(); err != nil {
			return errorf("%v", err)
		}
		if err := c.Events.Validate(); err != nil {
			return errorf("%v", err)
		}
	}
	b := c.Behaviour
	if b != (Behaviour{}) && (!(b.TakeMax > 0 && b.TakeMax <= 1) || !(b.PositionBias >= 0) || !(b.Beta >= 0)) {
		return fmt.Errorf("sim: behaviour %+v: want TakeMax in (0, 1], PositionBias and Beta ≥ 0", b)
	}
	return nil
}

// Run runs the simulation (see the package doc). It stops early, with
// ctx's error, when ctx is done.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	progress := cfg.Progress
	if progress == nil {
		progress = func(string, int, int) {}
	}
	res := &Result{EventsDir: filepath.Join(cfg.Dir, "events")}
	// The report reads every event under the directory: an earlier run's
	// would be counted with this one's.
	if ents, err := os.ReadDir(res.EventsDir); err == nil && len(ents) > 0 {
		return nil, fmt.Errorf("sim: %s holds events already (an earlier run?): remove it or choose another directory", res.EventsDir)
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}

	progress("synth", 0, 1)
	ds, ts, err := synth.GenerateTastes(cfg.Synth)
	if err != nil {
		return nil, err
	}
	if cfg.Behaviour == (Behaviour{}) {
		cfg.Behaviour = DefaultBehaviour(ts)
	}
	progress("train", 0, 1)
	t0 := time.Now()
	tc := cfg.Train
	run, err := train.Fit(ds, tc, nil)
	if err != nil {
		return nil, err
	}
	m := run.Model
	progress("bundle", 0, 1)
	b, err := builder.Build(m, ds, builder.Options{Version: "sim", Builder: "edgerec sim", Rules: &builder.Rules{Arms: cfg.Arms}})
	if err != nil {
		return nil, err
	}
	raw, err := bundle.Encode(b)
	if err != nil {
		return nil, err
	}
	res.TrainSeconds = time.Since(t0).Seconds()
	bundlePath := filepath.Join(cfg.Dir, "sim.bundle")
	if err := os.WriteFile(bundlePath, raw, 0o644); err != nil {
		return nil, err
	}

	progress("serve", 0, cfg.Users)
	t0 = time.Now()
	mod, err := host.Compile(ctx, cfg.Wasm, host.Options{})
	if err != nil {
		return nil, err
	}
	defer mod.Close(context.WithoutCancel(ctx))
	start := roundStart(ds)
	rr, err := serveUsers(ctx, &cfg, mod, ds, ts, bundlePath, start, res, progress)
	if err != nil {
		return nil, err
	}
	res.ServeSeconds = time.Since(t0).Seconds()

	progress("report", 0, 1)
	t0 = time.Now()
	evs := rr.events // as the files hold them (retimeDir)
	res.Report, err = report.Build(evs, report.Options{Baseline: cfg.Arms[0].Name, Items: len(ds.Items),
		Bootstrap: cfg.Bootstrap, Seed: cfg.Seed})
	if err != nil {
		return nil, err
	}
	res.ReportSeconds = time.Since(t0).Seconds()
	res.judge()
	lp := &loop{cfg: &cfg, mod: mod, ds: ds, ts: ts, run: run, b: b, evs: evs, sessions: rr.sessions, start: start, progress: progress}
	switch {
	case cfg.afterRound1 != nil:
		return res, cfg.afterRound1(lp)
	case cfg.Retrain:
		if res.Retrain, err = retrain(ctx, lp); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// judge sets Truth, Found and Right.
func (r *Result) judge() {
	best := -1.0
	for _, a := range r.Arms {
		if a.Impressions > 0 && a.Expected > best {
			best, r.Truth = a.Expected, a.Name
		}
	}
	worse := 0
	for _, c := range r.Report.Comparisons {
		if !c.Significant {
			continue
		}
		if c.Diff > 0 {
			r.Found = c.Arm
			break
		}
		worse++
	}
	if r.Found == "" && worse > 0 && worse == len(r.Report.Comparisons) {
		r.Found = r.Report.Baseline
	}
	r.Right = r.Found != "" && r.Found == r.Truth
}

// serveUsers runs round 1: the node serves the bundle's arms to the
// users, and closes, which writes the events out.
func serveUsers(ctx context.Context, cfg *Config, mod *host.Module, ds *dataset.Dataset, ts *synth.Tastes, bundlePath string, start int64, res *Result, progress func(string, int, int)) (*roundResult, error) {
	names := make([]string, len(cfg.Arms))
	for i, a := range cfg.Arms {
		names[i] = a.Name
	}
	rr, err := serveRound(ctx, cfg, mod, ds, ts, round{stage: "serve", bundlePath: bundlePath, eventsDir: res.EventsDir, arms: names, start: start, tag: "r1"}, progress)
	if rr != nil {
		res.Arms, res.Requests, res.Failed = rr.arms, rr.requests, rr.failed
	}
	if err != nil {
		return nil, err
	}
	return rr, nil
}

// round is one round of serving: a bundle, where its events go, the arms
// counted (by the response's arm name; "" for a bundle without arms),
// what each user's client adds to its history (by user index), when on
// the simulated clock the round starts (Unix ms), and its tag in request
// ids.
type round struct {
	stage                 string
	bundlePath, eventsDir string
	arms                  []string
	history               map[int][]api.Event
	start                 int64
	tag                   string
}

// roundResult is what the simulator saw in a round.
type roundResult struct {
	arms     []ArmResult
	sessions []*session // in the order of pickUsers
	requests int
	failed   int
	// events are the round's events as its directory holds them once the
	// round ends (on the simulated clock).
	events []events.Event
}

// serveRound starts a node on rd's bundle with events stored in
// rd.eventsDir, lets the users ask and take, and closes the node, which
// writes the events out.
func serveRound(ctx context.Context, cfg *Config, mod *host.Module, ds *dataset.Dataset, ts *synth.Tastes, rd round, progress func(string, int, int)) (*roundResult, error) {
	sink, err := events.OpenDir(rd.eventsDir, events.DirOptions{Format: events.FormatParquet})
	if err != nil {
		return nil, err
	}
	srv, err := server.New(ctx, server.Config{Module: mod, BundlePath: rd.bundlePath, Pool: cfg.Pool, WatchInterval: -1,
		Events: sink, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		sink.Close()
		return nil, err
	}
	// Loopback only: the simulation is no one else's business.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return nil, err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	base := "http://" + ln.Addr().String()

	workers := cfg.Workers
	if workers == 0 {
		workers = max(2, runtime.GOMAXPROCS(0))
	}
	rr := &roundResult{}
	arms := make(map[string]*ArmResult, len(rd.arms))
	for _, a := range rd.arms {
		rr.arms = append(rr.arms, ArmResult{Name: a})
	}
	for i := range rr.arms {
		arms[rr.arms[i].Name] = &rr.arms[i]
	}
	users := pickUsers(ds, cfg.Users, cfg.Seed)
	rr.sessions = make([]*session, len(users))
	byUser := ds.ByUser()
	items := ds.ItemIndex()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}

	var (
		mu       sync.Mutex
		done     int
		firstErr error
		next     = make(chan int)
		wg       sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range next {
				u := users[k]
				s, err := simulateUser(ctx, client, base, cfg, ds, ts, items, byUser[ds.Users[u].ID], rd.history[u], u, rd.tag, sessionStart(rd.start, k))
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				rr.sessions[k] = s
				s.addTo(arms, rr)
				done++
				progress(rd.stage, done, len(users))
				mu.Unlock()
			}
		}()
	}
feed:
	for k := range users {
		mu.Lock()
		stop := firstErr != nil
		mu.Unlock()
		if stop {
			break
		}
		select {
		case next <- k:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	hs.Shutdown(sctx)
	srv.Close() // closes the sink: the Parquet files are renamed into place
	if firstErr != nil {
		return rr, firstErr
	}
	if rr.events, err = rr.retimeDir(rd.eventsDir); err != nil {
		return rr, err
	}
	for i := range rr.arms {
		if a := &rr.arms[i]; a.Impressions > 0 {
			a.Expected /= float64(a.Impressions)
		}
	}
	return rr, ctx.Err()
}

// pickUsers draws n user indices of ds without replacement, seeded.
func pickUsers(ds *dataset.Dataset, n int, seed uint64) []int {
	r := rand.New(rand.NewPCG(seed, 0x5e5510))
	return r.Perm(len(ds.Users))[:n]
}

// session is what one user did, by arm.
type session struct {
	arm                              string
	lists, impressions, takes, fails int
	expected                         float64
	// taken is what the user took, as its client adds it to the history.
	taken []api.Event
	// served is each list's request id and its time on the simulated
	// clock (Unix ms).
	served []servedList
}

func (s *session) addTo(arms map[string]*ArmResult, res *roundResult) {
	res.requests += s.lists + s.fails
	res.failed += s.fails
	a := arms[s.arm]
	if a == nil {
		return // no list answered
	}
	a.Users++
	a.Lists += s.lists
	a.Impressions += s.impressions
	a.Takes += s.takes
	a.Expected += s.expected
}

// historyCap is the history a simulated client sends, the most recent
// interactions (a page keeps about as much).
const historyCap = 50

// simulateUser is user u's session: Config.Lists lists asked for, each
// examined and taken from, the takes posted once the session ends. Its
// history is the last historyCap of the data's interactions and of more
// (what it took in an earlier round). Its j-th list is asked for at
// listTime(start, j) on the simulated clock, and taken from a second
// later.
func simulateUser(ctx context.Context, client *http.Client, base string, cfg *Config, ds *dataset.Dataset, ts *synth.Tastes,
	items map[string]int, past []dataset.Interaction, more []api.Event, u int, round string, start int64) (*session, error) {
	s := &session{}
	user := ds.Users[u]
	r := rand.New(rand.NewPCG(cfg.Seed, uint64(u)+1))
	hist := make([]api.Event, 0, historyCap+len(more)+cfg.Lists*cfg.K)
	for _, x := range past {
		hist = append(hist, api.Event{Item: x.Item, Time: x.Time})
	}
	hist = append(hist, more...)
	hist = slices.Clone(hist[max(0, len(hist)-historyCap):])
	shown := map[string]*api.Impression{}
	var takes []events.Event
	for j := range cfg.Lists {
		at := listTime(start, j)
		req := api.Request{UserID: user.ID, ExperimentKey: user.ID, Context: user.Context, History: hist, K: cfg.K,
			RequestID: requestID(round, user.ID, at)}
		req.Context.Time = at / 1000
		// Recorded before asking: a list the node logged and the client
		// never got is re-stamped too.
		s.served = append(s.served, servedList{req.RequestID, at})
		for _, im := range shown {
			req.Impressions = append(req.Impressions, *im)
		}
		slices.SortFunc(req.Impressions, func(a, b api.Impression) int { return cmpString(a.Item, b.Item) })
		resp, err := recommend(ctx, client, base, &req)
		if err != nil {
			if ctx.Err() != nil {
				return s, ctx.Err()
			}
			s.fails++
			continue
		}
		if resp.RequestID != req.RequestID {
			return s, fmt.Errorf("sim: the node answered request %q as %q", req.RequestID, resp.RequestID)
		}
		s.arm = resp.Arm
		s.lists++
		took := at + takeDelayMs
		for p, it := range resp.Items {
			i, ok := items[it.ID]
			if !ok {
				return s, fmt.Errorf("sim: the node recommended %q, which is not in the catalog", it.ID)
			}
			prob := cfg.Behaviour.TakeProb(ts, u, i, p+1)
			s.impressions++
			s.expected += prob
			if r.Float64() < prob {
				s.takes++
				takes = append(takes, events.Event{Type: events.TypeTake, RequestID: resp.RequestID, TimeMs: took,
					User: user.ID, Item: it.ID, Kind: events.KindWatch, Position: int32(p + 1)})
				hist = append(hist, api.Event{Item: it.ID, Time: took / 1000})
				s.taken = append(s.taken, api.Event{Item: it.ID, Time: took / 1000})
				delete(shown, it.ID)
				continue
			}
			im := shown[it.ID]
			if im == nil {
				im = &api.Impression{Item: it.ID}
				shown[it.ID] = im
			}
			im.Count++
			im.Last = at / 1000
		}
	}
	if len(takes) > 0 {
		if err := postEvents(ctx, client, base, takes); err != nil {
			return s, err
		}
	}
	return s, nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// recommend asks the node for a list, as JSON.
func recommend(ctx context.Context, client *http.Client, base string, req *api.Request) (*api.Response, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var resp api.Response
	if err := post(ctx, client, base+"/v1/recommend", body, http.StatusOK, &resp); err != nil {
		return nil, err
	}
	if resp.RequestID == "" {
		return nil, errors.New("sim: the node answered without a request id")
	}
	return &resp, nil
}

// postEvents posts a user's takes to /v1/events, in batches under the
// node's limits; a batch the node cannot take now (503) is sent again.
func postEvents(ctx context.Context, client *http.Client, base string, evs []events.Event) error {
	const batch = 200 // well under MaxBatchEvents and MaxBatchBytes
	for len(evs) > 0 {
		n := min(batch, len(evs))
		body, err := json.Marshal(events.Batch{Version: events.Version, Events: evs[:n]})
		if err != nil {
			return err
		}
		for try := 0; ; try++ {
			err = post(ctx, client, base+"/v1/events", body, http.StatusAccepted, nil)
			var se *statusError
			if err == nil || !errors.As(err, &se) || se.code != http.StatusServiceUnavailable || try == 20 {
				break
			}
			select {
			case <-time.After(100 * time.Millisecond):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err != nil {
			return fmt.Errorf("sim: posting takes: %w", err)
		}
		evs = evs[n:]
	}
	return nil
}

type statusError struct {
	code int
	msg  string
}

func (e *statusError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.code, e.msg) }

func post(ctx context.Context, client *http.Client, url string, body []byte, want int, out any) error {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(hr)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return &statusError{resp.StatusCode, string(bytes.TrimSpace(data))}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}
