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
