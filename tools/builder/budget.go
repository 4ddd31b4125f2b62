package builder

import (
	"fmt"

	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/tools/dataset"
	"github.com/edgerec/edgerec/tools/model"
)

// Budget is what a release pipeline allows a bundle: a size, and a floor
// on how much of the exact answer its retrieval serves (Recall). The zero
// Budget allows everything and measures nothing.
type Budget struct {
	// MaxBytes is the largest encoded bundle allowed; 0: no limit.
	MaxBytes int64
	// MinRecall is the lowest recall@K allowed, in [0, 1]; 0: recall is not
	// measured.
	MinRecall float64
	// Recall configures the measurement MinRecall is held to.
	Recall RecallOptions
}

// The limits a BudgetError names.
const (
	OverBytes   = "bytes"
	UnderRecall = "recall"
)

// BudgetError is a bundle outside its Budget: which limit it broke, and
// the figures that broke it.
type BudgetError struct {
	// Limit is OverBytes or UnderRecall.
	Limit string
	// Bytes is the encoded bundle's size and MaxBytes the budget's, Items
	// the bundle's item count (OverBytes).
	Bytes, MaxBytes int64
	Items           int
	// Recall is what was measured and MinRecall the floor (UnderRecall).
	Recall    RecallReport
	MinRecall float64
}

func (e *BudgetError) Error() string {
	if e.Limit == OverBytes {
		return fmt.Sprintf("builder: budget exceeded: the bundle is %d bytes, over the limit of %d by %d (%.1f bytes/item)",
			e.Bytes, e.MaxBytes, e.Bytes-e.MaxBytes, e.BytesPerItem())
	}
	return fmt.Sprintf("builder: budget exceeded: recall@%d is %.4f, below the floor of %g (%d sample users, %s)",
		e.Recall.K, e.Recall.Recall, e.MinRecall, e.Recall.Queries, e.Recall.Served)
}

// BytesPerItem is the bundle's size per item.
func (e *BudgetError) BytesPerItem() float64 { return float64(e.Bytes) / float64(max(e.Items, 1)) }

// Validate returns an error when no bundle can be held to bg: a negative size, a recall floor outside [0, 1], or a negative
// recall depth or sample.
func (bg Budget) Validate() error {
	switch {
	case bg.MaxBytes < 0:
		return fmt.Errorf("builder: budget: MaxBytes %d is negative", bg.MaxBytes)
	case bg.MinRecall < 0 || bg.MinRecall > 1:
		return fmt.Errorf("builder: budget: MinRecall %g is outside [0, 1]", bg.MinRecall)
	case bg.Recall.K < 0 || bg.Recall.Queries < 0:
		return fmt.Errorf("builder: budget: recall depth %d or sample %d is negative", bg.Recall.K, bg.Recall.Queries)
	}
	return nil
}

// Check holds b, the bundle of m over ds encoded in size bytes, to bg:
// first its size, which costs nothing, then, when bg.MinRecall is set, its
// recall (Recall, which runs the item tower over the catalog again). It
// returns the recall measured (nil when bg asks for none, or the size
// already broke the budget) and, for a bundle outside bg, a *BudgetError.
func (bg Budget) Check(m *model.Model, ds *dataset.Dataset, b *bundle.Bundle, size int64) (*RecallReport, error) {
	if err := bg.Validate(); err != nil {
		return nil, err
	}
	if bg.MaxBytes > 0 && size > bg.MaxBytes {
		return nil, &BudgetError{Limit: OverBytes, Bytes: size, MaxBytes: bg.MaxBytes, Items: b.Manifest.Items}
	}
	if bg.MinRecall == 0 {
		return nil, nil
	}
	rep, err := Recall(m, ds, b, bg.Recall)
	if err != nil {
		return nil, err
	}
	if rep.Recall < bg.MinRecall {
		return &rep, &BudgetError{Limit: UnderRecall, Recall: rep, MinRecall: bg.MinRecall}
	}
	return &rep, nil
}
