package eval

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/tools/builder"
	"github.com/edgerec/edgerec/tools/dataset"
	"github.com/edgerec/edgerec/tools/slim"
	"github.com/edgerec/edgerec/tools/train"
)

// TestDiagnoseCandidates is a measurement, not a check: where the
// pipeline's gap to EASE lies (RESULTS.md, "The slim source over the whole
// history"). It prints, on the data set named by EDGEREC_DIAG (a directory
// under ../shared/data or a path, with EDGEREC_DIAG_FORMAT), EASE's and
// the slim model's recall at several depths (slim for 10, 20 and 40
// neighbours per item and a fixed λ grid), the pipeline's, and the share
// of the test targets among the pipeline's candidates, per source and in
// all. EDGEREC_DIAG_EASE=0, EDGEREC_DIAG_SLIM=0 and EDGEREC_DIAG_PIPE=0
// leave a part out.
func TestDiagnoseCandidates(t *testing.T) {
	name := os.Getenv("EDGEREC_DIAG")
	if name == "" {
		t.Skip("set EDGEREC_DIAG (and EDGEREC_DIAG_FORMAT) to run the candidate diagnosis")
	}
	dir := filepath.Join("../../../shared/data", name)
	if _, err := os.Stat(name); err == nil {
		dir = name
	}
	ds, err := dataset.Load(dir, os.Getenv("EDGEREC_DIAG_FORMAT"))
	if err != nil {
		t.Skipf("%s: %v", dir, err)
	}
	s, err := TemporalSplit(ds, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	depths := []int{10, 20, 50, 100, 200}
	report := func(label string, rank Ranker) {
		sum := make([]float64, len(depths))
		for _, u := range s.Users {
			top := rank(u, depths[len(depths)-1])
			want := map[string]bool{}
			for _, x := range u.Targets {
				want[x] = true
			}
			for i, d := range depths {
				sum[i] += Recall(top, want, d)
			}
		}
		line := label + ":"
		for i, d := range depths {
			line += fmt.Sprintf("  R@%d %.4f", d, sum[i]/float64(len(s.Users)))
		}
		t.Log(line)
	}
	if os.Getenv("EDGEREC_DIAG_EASE") != "0" {
		e := &EASE{}
		r, err := e.Fit(s)
		if err != nil {
			t.Fatal(err)
		}
		report("ease λ="+strconv.FormatFloat(e.Lambda, 'g', -1, 64), r)
	}
	defer func(l []float64) { slim.DefaultLambdas = l }(slim.DefaultLambdas)
	for _, top := range []int{10, 20, 40} {
		for _, l := range []float64{32, 128, 512, 2048} {
			if os.Getenv("EDGEREC_DIAG_SLIM") == "0" {
				break
			}
			slim.DefaultLambdas = []float64{l}
			c := slim.DefaultConfig()
			c.Top = top
			m := &SLIM{Config: c}
			r, err := m.Fit(s)
			if err != nil {
				t.Fatal(err)
			}
			report(fmt.Sprintf("slim top %d (λ %g), whole history", top, m.Lambda), r)
		}
	}
	if os.Getenv("EDGEREC_DIAG_PIPE") == "0" {
		return
	}
	cfg := train.DefaultConfig()
	tw := &TwoTower{Towers: &Towers{Config: cfg, Ranker: train.DefaultRankerConfig()}, WithRanker: true}
	rec, err := tw.load(s)
	if err != nil {
		t.Fatal(err)
	}
	report("pipeline", Pipeline(rec, s.Train.Users))
	// Candidate recall per source and in all, as Candidates returns them
	// for a request of 20.
	var per [api.NumSources]float64
	var all, size float64
	for _, u := range s.Users {
		cands, err := rec.Candidates(Request(u.History, dataset.User{ID: u.ID}, 20))
		if err != nil {
			t.Fatal(err)
		}
		want := map[int32]bool{}
		for _, x := range u.Targets {
			if row, ok := rec.Lookup(x); ok {
				want[row] = true
			}
		}
		var hit float64
		var hs [api.NumSources]float64
		for _, c := range cands {
			if !want[c.Row] {
				continue
			}
			hit++
			for src, rk := range c.SourceRank {
				if rk >= 0 {
					hs[src]++
				}
			}
		}
		n := float64(len(u.Targets))
		all += hit / n
		for src := range hs {
			per[src] += hs[src] / n
		}
		size += float64(len(cands))
	}
	n := float64(len(s.Users))
	line := fmt.Sprintf("candidates: %.0f per user, recall %.4f;", size/n, all/n)
	for src := range per {
		line += fmt.Sprintf(" %s %.4f", api.SourceNames[src], per[src]/n)
	}
	t.Log(line)
	t.Log("slim top per item in the bundle:", builder.SlimTop)
}
