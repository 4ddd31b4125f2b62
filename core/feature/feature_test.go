package feature

import (
	"testing"

	"github.com/edgerec/edgerec/core/wire"
)

func TestVocab(t *testing.T) {
	v := NewVocab([]string{"eu", "us", "eu", ""})
	if v.Size() != 3 || v.Index("eu") != 1 || v.Index("us") != 2 || v.Index("asia") != Unknown || v.Index("") != Unknown {
		t.Fatalf("vocab %v: size %d", v.Values, v.Size())
	}
	b, err := wire.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var w Vocab
	if err := wire.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	if w.Index("us") != 2 || w.Size() != 3 {
		t.Errorf("decoded vocab lost its indices: %v", w.Values)
	}
}

func TestAgeBucket(t *testing.T) {
	for _, tc := range []struct{ age, want int }{{0, 0}, {-3, 0}, {12, 1}, {18, 2}, {24, 2}, {25, 3}, {44, 4}, {54, 5}, {64, 6}, {65, 7}, {120, 7}} {
		if got := AgeBucket(tc.age); int(got) != tc.want {
			t.Errorf("AgeBucket(%d) = %d, want %d", tc.age, got, tc.want)
		}
		if got := AgeBucket(tc.age); got < 0 || got >= AgeBuckets {
			t.Errorf("AgeBucket(%d) = %d outside [0, %d)", tc.age, got, AgeBuckets)
		}
	}
}
