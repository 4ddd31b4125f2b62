package synth

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Config controls Generate. Start from [DefaultConfig] and override fields;
// every field is validated and a zero value is not replaced by a default.
type Config struct {
	// Users and Items are the numbers of users and catalog items.
	Users, Items int
	// Seed selects the random stream; the same Config always gives the same
	// Dataset.
	Seed int64
	// Start is the first instant of the simulated log; Days its length.
	Start time.Time
	Days  int
	// EventsPerUser is the mean number of events planned per user. Each
	// user's count is log-normal with this mean and log-space standard
	// deviation ActivitySigma (0 gives every user the mean), so activity is
	// long-tailed. A user never picks an item twice, so users who exhaust the
	// items they would pick end with fewer events than planned.
	EventsPerUser float64
	ActivitySigma float64
	// Topics is the number of latent topics, 1 to 12 (see the package doc).
	Topics int
	// Beta scales the user–item topic affinity in the choice weight
	// exp(Beta·<pref, topics>); larger is more personalized.
	Beta float64
	// Alpha is the exponent on base popularity 1/rank (a Zipf law); the
	// choice weight has the factor (1/rank)^Alpha.
	Alpha float64
	// NewItemFraction of the items are released uniformly over the log's
	// span; the others before Start.
	NewItemFraction float64
	// RecencyDays and RecencyBoost: an item released within the last
	// RecencyDays days has its choice weight multiplied by 1+RecencyBoost.
	RecencyDays  int
	RecencyBoost float64
	// Drift is how far preferences move towards a second preference vector
	// by the end of the log: pref(t) = (1-λ)·p1 + λ·p2 with λ growing
	// linearly from 0 at Start to Drift at the end.
	Drift float64
}

// Upper bounds enforced by Validate.
const (
	MaxUsers         = 10_000_000
	MaxItems         = 5_000_000
	MaxDays          = 3650
	MaxEventsPerUser = 100_000
	MaxEvents        = 500_000_000 // Users × EventsPerUser
)

// DefaultConfig returns the configuration used by `make demo`: 2000 users,
// 1000 items, 60 events per user on average (log-normal, σ = 1), 180 days
// from 2026-01-01 UTC, 12 topics, Beta 12, Alpha 1.2, 40% of items released
// during the log, new items boosted ×4 for 14 days, drift 0.3, seed 1.
func DefaultConfig() Config {
	return Config{
		Users:           2000,
		Items:           1000,
		Seed:            1,
		Start:           time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC),
		Days:            180,
		EventsPerUser:   60,
		ActivitySigma:   1,
		Topics:          12,
		Beta:            12,
		Alpha:           1.2,
		NewItemFraction: 0.4,
		RecencyDays:     14,
		RecencyBoost:    3,
		Drift:           0.3,
	}
}

// ErrConfig is wrapped by every error Validate returns.
var ErrConfig = errors.New("synth: invalid config")

// Validate reports the first field out of range, naming the field, the
// accepted range and the default.
func (c Config) Validate() error {
	def := DefaultConfig()
	intIn := func(name string, v, lo, hi, d int) error {
		if v < lo || v > hi {
			return fmt.Errorf("%w: %s = %d, want %d to %d (default %d)", ErrConfig, name, v, lo, hi, d)
		}
		return nil
	}
	floatIn := func(name string, v, lo, hi, d float64) error {
		if math.IsNaN(v) || v < lo || v > hi {
			return fmt.Errorf("%w: %s = %v, want %v to %v (default %v)", ErrConfig, name, v, lo, hi, d)
		}
		return nil
	}
	for _, err := range []error{
		intIn("Users", c.Users, 1, MaxUsers, def.Users),
		intIn("Items", c.Items, 1, MaxItems, def.Items),
		intIn("Days", c.Days, 1, MaxDays, def.Days),
		floatIn("EventsPerUser", c.EventsPerUser, 0, MaxEventsPerUser, def.EventsPerUser),
		floatIn("ActivitySigma", c.ActivitySigma, 0, 3, def.ActivitySigma),
		intIn("Topics", c.Topics, 1, len(themes), def.Topics),
		floatIn("Beta", c.Beta, 0, 50, def.Beta),
		floatIn("Alpha", c.Alpha, 0, 4, def.Alpha),
		floatIn("NewItemFraction", c.NewItemFraction, 0, 1, def.NewItemFraction),
		intIn("RecencyDays", c.RecencyDays, 0, c.Days, def.RecencyDays),
		floatIn("RecencyBoost", c.RecencyBoost, 0, 1000, def.RecencyBoost),
		floatIn("Drift", c.Drift, 0, 1, def.Drift),
	} {
		if err != nil {
			return err
		}
	}
	if c.EventsPerUser == 0 {
		return fmt.Errorf("%w: EventsPerUser = 0, want more than 0 (default %v)", ErrConfig, def.EventsPerUser)
	}
	if c.Start.IsZero() {
		return fmt.Errorf("%w: Start is unset (default %s)", ErrConfig, def.Start.Format(time.RFC3339))
	}
	if y := c.Start.Year(); y < 1900 || y > 3000 {
		return fmt.Errorf("%w: Start %s is outside years 1900 to 3000", ErrConfig, c.Start.Format(time.RFC3339))
	}
	if ev := float64(c.Users) * c.EventsPerUser; ev > MaxEvents {
		return fmt.Errorf("%w: Users × EventsPerUser = %.0f events, want at most %d", ErrConfig, ev, MaxEvents)
	}
	return nil
}
