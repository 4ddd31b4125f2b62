package feature

import (
	"math"
	"strconv"
	"time"

	"github.com/edgerec/edgerec/core/api"
)

// The query tower's user features are read from an api.Context, what is
// known about a user at one moment: the module has it from the request,
// the trainer from the user table (dataset.User carries one) and the event
// time.

// Categorical feature names with a fixed meaning; any other name is looked
// up in Context.Attrs.
const (
	Region    = "region"
	Device    = "device"
	Gender    = "gender"
	AgeGroup  = "age_bucket" // AgeBucket of Age
	Weekday   = "weekday"    // day of the week of Time, UTC
	HourOfDay = "hour"       // hour of Time, UTC
)

// Numeric feature names.
const (
	Age        = "age"         // years
	HistoryLog = "history_len" // log(1 + known history items)
)

// Categorical returns the value of the named categorical feature, "" when
// unknown.
func Categorical(c *api.Context, name string) string {
	switch name {
	case Region:
		return c.Region
	case Device:
		return c.Device
	case Gender:
		return c.Gender
	case AgeGroup:
		if b := AgeBucket(c.Age); b != Unknown {
			return strconv.Itoa(int(b))
		}
		return ""
	case Weekday:
		if c.Time > 0 {
			return strconv.Itoa(int(time.Unix(c.Time, 0).UTC().Weekday()))
		}
		return ""
	case HourOfDay:
		if c.Time > 0 {
			return strconv.Itoa(time.Unix(c.Time, 0).UTC().Hour())
		}
		return ""
	}
	return c.Attrs[name]
}

// Numeric returns the value of the named numeric feature of c with
// historyLen known history items; unknown values and unknown names give 0.
func Numeric(c *api.Context, name string, historyLen int) float32 {
	switch name {
	case Age:
		return float32(max(c.Age, 0))
	case HistoryLog:
		return float32(math.Log1p(float64(max(historyLen, 0))))
	}
	return 0
}

// Item is what is known about an item at one moment: the raw material of
// the item tower's numeric features.
type Item struct {
	Price    float64
	Released int64 // Unix seconds; 0 unknown
	Time     int64 // the moment: the event time in training, the build time in a bundle
}

// Item numeric feature names.
const (
	Price   = "price"
	ItemAge = "age_days" // log(1 + days from release to Time); 0 when either is unknown
)

// Numeric returns the value of the named numeric item feature; unknown
// values and names give 0.
func (it *Item) Numeric(name string) float32 {
	switch name {
	case Price:
		if it.Price > 0 && !math.IsInf(it.Price, 0) {
			return float32(it.Price)
		}
	case ItemAge:
		if it.Released > 0 && it.Time > it.Released {
			return float32(math.Log1p(float64(it.Time-it.Released) / 86400))
		}
	}
	return 0
}
