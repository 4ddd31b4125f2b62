package pipeline

import (
	"time"

	"github.com/edgerec/edgerec/core/api"
)

// timer collects the debug stages of one request. A nil *timer (debug off)
// records nothing and costs one comparison per call.
//
// The stages are embed (resolve the request, prepare the filter, run the
// query tower), retrieve (the two-tower search alone, summed over the
// deeper passes a strict filter may need), sources+filter (the other
// sources and the filter: the rest of stages 1 and 2), rank and order.
type timer struct {
	stages []api.Stage
	last   time.Time
	// search and searchStart time the two-tower source; found counts its
	// candidates in the last pass.
	search      time.Duration
	searchStart time.Time
	found       int
}

func newTimer() *timer { return &timer{last: time.Now()} }

// stage ends the stage name, which took in items to out.
func (t *timer) stage(name string, in, out int) {
	if t == nil {
		return
	}
	now := time.Now()
	t.stages = append(t.stages, api.Stage{Name: name, In: in, Out: out, Micros: now.Sub(t.last).Microseconds()})
	t.last = now
}

func (t *timer) startSearch() {
	if t != nil {
		t.searchStart = time.Now()
	}
}

func (t *timer) endSearch(found int) {
	if t != nil {
		t.search += time.Since(t.searchStart)
		t.found = found
	}
}

// sources ends stages 1 and 2, splitting the two-tower search (retrieve)
// from the rest (sources+filter).
func (t *timer) sources(items, cands int) {
	if t == nil {
		return
	}
	now := time.Now()
	rest := now.Sub(t.last) - t.search
	t.stages = append(t.stages,
		api.Stage{Name: "retrieve", In: items, Out: t.found, Micros: t.search.Microseconds()},
		api.Stage{Name: "sources+filter", In: items, Out: cands, Micros: rest.Microseconds()})
	t.last = now
}
