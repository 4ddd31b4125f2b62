package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/host"
)

// generation is one loaded bundle and its pool of instances. Requests
// borrow instances from idle; a reload builds a new generation, swaps it
// in, and the old one closes its instances when its last request returns
// (refs reaches 0).
type generation struct {
	s       *Server
	data    []byte         // the bundle file's bytes
	file    *encoded       // data and its compressed variants, for /v1/bundle/file
	bundle  *host.Verified // data as the instances load it, every section raw
	digest  string         // hex SHA-256 of data
	summary api.Summary
	sig     SignatureStatus
	loaded  time.Time
	// lastGood: the bundle is the last known-good copy, served because
	// the bundle file was refused at start; false again once the file
	// holds these bytes or a newer good bundle.
	lastGood atomic.Bool
	size     int // instances wanted

	idle chan *host.Instance

	// refs counts the requests using the generation, plus one for being
	// current; the instances close when it reaches 0.
	refs atomic.Int64

	mu      sync.Mutex
	retired bool // refs reached 0: instances that come back are closed
	live    int  // instances alive: idle, in use or being loaded
	memory  uint64
}

// newGeneration loads data (whose hex SHA-256 is digest) into ready
// instances before returning (in
// parallel, at most `parallel` at a time) and starts loading the rest of
// size in the background. Any failure to load the first ready instances
// refuses the bundle: they are closed and the error returned.
func (s *Server) newGeneration(ctx context.Context, data []byte, digest string, v *host.Verified, sig SignatureStatus, ready int) (*generation, error) {
	g := &generation{s: s, data: data, bundle: v, digest: digest, sig: sig,
		file:   newEncoded(data, digest),
		loaded: time.Now(), size: s.cfg.Pool, idle: make(chan *host.Instance, s.cfg.Pool)}
	g.refs.Store(1)
	ready = min(max(ready, 1), g.size)
	type result struct {
		in  *host.Instance
		sum api.Summary
		err error
	}
	results := make(chan result, ready)
	sem := make(chan struct{}, s.parallel)
	for range ready {
		go func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			in, summary, err := g.instance(ctx)
			results <- result{in, summary, err}
		}()
	}
	var firstErr error
	var got []*host.Instance
	for range ready {
		r := <-results
		if r.err != nil {
			if firstErr == nil {
				firstErr = r.err
			}
			continue
		}
		g.summary = r.sum
		got = append(got, r.in)
	}
	if firstErr != nil {
		for _, in := range got {
			in.Close(context.Background())
		}
		return nil, firstErr
	}
	g.mu.Lock()
	g.live = len(got)
	for _, in := range got {
		g.memory = max(g.memory, in.MemoryBytes())
		g.idle <- in
	}
	g.mu.Unlock()
	for range g.size - ready {
		g.add(false)
	}
	return g, nil
}

// instance makes a new instance with the generation's bundle loaded.
func (g *generation) instance(ctx context.Context) (*host.Instance, api.Summary, error) {
	in, err := g.s.cfg.Module.Instantiate(ctx)
	if err != nil {
		return nil, api.Summary{}, err
	}
	// LoadVerified copies the bytes into the guest; the generation keeps
	// them.
	summary, err := in.LoadVerified(ctx, g.bundle)
	if err != nil {
		in.Close(ctx)
		return nil, api.Summary{}, err
	}
	return in, summary, nil
}

// acquire takes a reference on the current generation, or returns nil when
// no bundle is loaded.
func (s *Server) acquire() *generation {
	for {
		g := s.cur.Load()
		if g == nil {
			return nil
		}
		n := g.refs.Load()
		if n > 0 && g.refs.CompareAndSwap(n, n+1) {
			return g
		}
		// g was retired between the load and the increment: a newer
		// generation is current (or none), look again.
	}
}

// release drops a reference; the last one closes the idle instances.
func (g *generation) release() {
	if g.refs.Add(-1) != 0 {
		return
	}
	g.mu.Lock()
	g.retired = true
	g.mu.Unlock()
	for {
		select {
		case in := <-g.idle:
			g.close(in)
		default:
			return
		}
	}
}

// get borrows an idle instance, waiting until ctx is done.
func (g *generation) get(ctx context.Context) (*host.Instance, error) {
	select {
	case in := <-g.idle:
		return in, nil
	default:
	}
	g.s.metrics.waits.Add(1)
	select {
	case in := <-g.idle:
		return in, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// errAbandoned reports a call still running in the guest when its
// deadline passed, on a module that cannot be interrupted.
var errAbandoned = errors.New("server: call abandoned at the deadline")

// abandonGrace is how long an abandoned call may still run before its
// instance is given up and replaced.
const abandonGrace = 10

// call runs the encoded request on the borrowed instance in, under ctx,
// and gives the instance back. On an interruptible module the deadline
// stops the call inside the guest (a trap: the instance is replaced).
// Otherwise the call runs in its own goroutine and, when ctx ends first,
// the request gets errAbandoned at once while the instance finishes: it
// returns to the pool if it finishes within abandonGrace times the
// timeout, else a replacement starts and the instance is closed when (if)
// its call returns. The client gets its answer on time either way.
func (g *generation) call(ctx context.Context, in *host.Instance, req []byte) ([]byte, error) {
	if g.s.interruptible {
		out, err := in.RecommendBytes(ctx, req)
		g.put(in)
		return out, err
	}
	type result struct {
		out []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := in.RecommendBytes(ctx, req)
		done <- result{out, err}
	}()
	select {
	case r := <-done:
		g.put(in)
		return r.out, r.err
	case <-ctx.Done():
	}
	g.s.bg.Add(1)
	g.s.metrics.abandoned.Add(1)
	go func() {
		defer g.s.bg.Done()
		defer g.s.metrics.abandoned.Add(-1)
		grace := time.NewTimer(abandonGrace * g.s.cfg.Timeout)
		defer grace.Stop()
		select {
		case <-done:
			g.put(in)
			return
		case <-g.s.ctx.Done():
			return // closing: the instance goes with the module
		case <-grace.C:
		}
		g.s.log.Error("an abandoned module call is still running; replacing its instance", "after", (abandonGrace * g.s.cfg.Timeout).String())
		g.add(true)
		select {
		case <-done:
			g.close(in)
		case <-g.s.ctx.Done():
		}
	}()
	return nil, errAbandoned
}

// put returns a borrowed instance: a broken one is closed and replaced.
func (g *generation) put(in *host.Instance) {
	if in.Broken() {
		g.close(in)
		g.add(true)
		return
	}
	g.mu.Lock()
	if g.retired {
		g.mu.Unlock()
		g.close(in)
		return
	}
	g.memory = max(g.memory, in.MemoryBytes())
	g.idle <- in // never blocks: at most size instances exist
	g.mu.Unlock()
}

// close closes an instance and counts it out.
func (g *generation) close(in *host.Instance) {
	in.Close(context.Background())
	g.mu.Lock()
	g.live--
	g.mu.Unlock()
}

// add starts loading one new instance in the background; it joins the
// pool when ready (or is closed if the generation retired meanwhile).
// replacement says it replaces a trapped one (a metric).
func (g *generation) add(replacement bool) {
	g.mu.Lock()
	if g.retired {
		g.mu.Unlock()
		return
	}
	g.live++
	g.mu.Unlock()
	g.s.bg.Add(1)
	go func() {
		defer g.s.bg.Done()
		g.s.sem <- struct{}{}
		in, _, err := g.instance(g.s.ctx)
		<-g.s.sem
		if err != nil {
			g.mu.Lock()
			g.live--
			g.mu.Unlock()
			g.s.log.Error("replacing an instance failed", "err", err, "bundle", g.summary.Version)
			g.s.metrics.replaceFailures.Add(1)
			// Try again later unless the server is closing: the pool
			// must return to full strength.
			select {
			case <-g.s.ctx.Done():
			case <-time.After(time.Second):
				g.add(replacement)
			}
			return
		}
		if replacement {
			g.s.metrics.replacements.Add(1)
		}
		g.put(in)
	}()
}

// stats returns the number of live instances and the largest memory seen.
func (g *generation) stats() (live, idle int, memory uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.live, len(g.idle), g.memory
}

// source returns SourceLastKnownGood or SourceConfigured.
func (g *generation) source() string {
	if g.lastGood.Load() {
		return SourceLastKnownGood
	}
	return SourceConfigured
}

func (g *generation) String() string {
	return fmt.Sprintf("%s (%s)", g.summary.Version, g.digest[:12])
}
