package pipeline

import (
	"fmt"
	"testing"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/bundle/bundletest"
)

func TestExperimentArms(t *testing.T) {
	b := bundletest.Random(200, 32, 6)
	b.Pipeline.Arms = []bundle.Arm{{Name: "a", Weight: 1, Params: bundle.DefaultParams()}, {Name: "b", Weight: 3, Params: bundle.DefaultParams()}}
	r := loadBundle(t, b)
	count := map[string]int{}
	for i := 0; i < 2000; i++ {
		resp, err := r.Recommend(&api.Request{K: 1, ExperimentKey: fmt.Sprintf("user-%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		count[resp.Arm]++
	}
	if count["a"] < 380 || count["a"] > 620 || count["a"]+count["b"] != 2000 {
		t.Errorf("arms %v, want about 500 a and 1500 b", count)
	}
	if resp, _ := r.Recommend(&api.Request{K: 1}); resp.Arm != "" {
		t.Errorf("no experiment key gave arm %q", resp.Arm)
	}
}

// TestExperimentArmsShortKeys: keys that differ only in their last
// characters (user ids "u0" … "u699") split between two equal arms as
// any keys do; with FNV-1a's high bits unmixed, u0–u99 all fell in one
// arm and u100–u699 in the other.
func TestExperimentArmsShortKeys(t *testing.T) {
	b := bundletest.Random(200, 32, 6)
	b.Pipeline.Arms = []bundle.Arm{{Name: "a", Weight: 1, Params: bundle.DefaultParams()}, {Name: "b", Weight: 1, Params: bundle.DefaultParams()}}
	r := loadBundle(t, b)
	for _, c := range []struct{ from, to, lo, hi int }{{0, 100, 30, 70}, {100, 700, 250, 350}} {
		a := 0
		for i := c.from; i < c.to; i++ {
			resp, err := r.Recommend(&api.Request{K: 1, ExperimentKey: fmt.Sprintf("u%d", i)})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Arm == "a" {
				a++
			}
		}
		if a < c.lo || a > c.hi {
			t.Errorf("keys u%d…u%d: %d of %d in arm a, want %d…%d", c.from, c.to-1, a, c.to-c.from, c.lo, c.hi)
		}
	}
}
