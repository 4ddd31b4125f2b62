package eval

import (
	"fmt"
	"testing"

	"github.com/edgerec/edgerec/tools/dataset"
)

// rollingLog has one interaction per second 0…39: users u0…u7 each have
// four training items at times 4k…4k+3 (items i(k)…i(k+3) mod 8), then
// user uk meets its next item i(k+4) at time 32+k.
func rollingLog() *dataset.Dataset {
	ds := &dataset.Dataset{Name: "rolling"}
	item := func(i int) string { return fmt.Sprintf("i%d", i%8) }
	for k := range 8 {
		ds.Items = append(ds.Items, dataset.Item{ID: item(k)})
		for j := range 4 {
			ds.Interactions = append(ds.Interactions, dataset.Interaction{User: fmt.Sprintf("u%d", k), Item: item(k + j), Time: int64(4*k + j)})
		}
	}
	for k := range 8 {
		ds.Interactions = append(ds.Interactions, dataset.Interaction{User: fmt.Sprintf("u%d", k), Item: item(k + 4), Time: int64(32 + k)})
	}
	return ds
}

func TestRollingWindows(t *testing.T) {
	splits, err := RollingSplits(rollingLog())
	if err != nil {
		t.Fatal(err)
	}
	if len(splits) != len(RollingCuts) {
		t.Fatalf("%d splits, want %d", len(splits), len(RollingCuts))
	}
	// 40 timestamps: cut q is at index ⌊40q⌋ = 32, 33, 34, 35, 36 and the
	// last window ends at ⌊40·0.925⌋ = 37, so each window holds exactly
	// the one second [32+c, 33+c) and its one user uc.
	for c, s := range splits {
		t.Run(fmt.Sprintf("cut %d", c), func(t *testing.T) {
			if s.T != int64(32+c) || s.End != int64(33+c) {
				t.Errorf("window [%d, %d), want [%d, %d)", s.T, s.End, 32+c, 33+c)
			}
			if len(s.Train.Interactions) != 32+c {
				t.Errorf("%d training interactions, want %d", len(s.Train.Interactions), 32+c)
			}
			if len(s.Users) != 1 || s.Users[0].ID != fmt.Sprintf("u%d", c) || len(s.Users[0].Targets) != 1 {
				t.Errorf("test users %+v, want u%d alone with one target", s.Users, c)
			}
			st := s.Stats()
			if st.TestUsers != 1 || st.MeanTargets != 1 || st.End != int64(33+c) || st.EndDate == "" {
				t.Errorf("stats %+v", st)
			}
		})
	}
	// Unbounded from 0.8: all five users u0…u4 and also u5…u7.
	s, err := WindowSplit(rollingLog(), 0.8, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Users) != 8 || s.End != 0 {
		t.Errorf("unbounded split: %d users, End %d; want 8 and 0", len(s.Users), s.End)
	}
	st := s.Stats()
	if st.TrainUsers != 8 || st.TrainItems != 8 || st.TrainEvents != 32 || st.TDate != "1970-01-01T00:00:32Z" {
		t.Errorf("stats %+v", st)
	}
	for _, q := range [][2]float64{{0.8, 0.8}, {0.8, 0.7}, {0.8, 1.1}, {0, 0.5}} {
		if _, err := WindowSplit(rollingLog(), q[0], q[1]); err == nil {
			t.Errorf("WindowSplit(%v, %v) accepted", q[0], q[1])
		}
	}
}
