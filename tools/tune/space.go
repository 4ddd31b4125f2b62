package tune

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/edgerec/edgerec/tools/train"
)

// Space maps a train.Config JSON key to the values a search draws from,
// each equally likely.
type Space map[string][]any

// DefaultSpace is what `edgerec tune` searches: the settings that moved
// validation recall in the measurements RATIONALE.md records (width,
// temperature, step size and schedule, weight decay, batch and negatives, the softmax,
// history pooling and length, id dropout).
func DefaultSpace() Space {
	return Space{
		"dim":          {32, 64, 128},
		"hidden":       {[]int{}, []int{128}, []int{256}},
		"temperature":  {0.05, 0.1, 0.2},
		"lr":           {0.001, 0.003, 0.01},
		"lr_schedule":  {"constant", "cosine"},
		"batch":        {128, 256, 512},
		"negatives":    {0, 256, 1024},
		"full_softmax": {0, 5000},
		"decays":       {[]float32{1}, []float32{1, 0.8}, []float32{1, 0.9, 0.5}},
		"max_history":  {20, 50, 200},
		"id_dropout":   {0.0, 0.1, 0.3},
		"weight_decay": {0.0, 0.01, 0.1},
	}
}

// ParseSpace reads a space as JSON: {"key": [value, ...], ...}. Every key
// must be a train.Config key and every value must fit it.
func ParseSpace(b []byte) (Space, error) {
	var s Space
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("tune: search space: %w", err)
	}
	for _, k := range s.keys() {
		if len(s[k]) == 0 {
			return nil, fmt.Errorf("tune: search space: %q has no values", k)
		}
		for _, v := range s[k] {
			if _, err := apply(train.DefaultConfig(), map[string]any{k: v}); err != nil {
				return nil, fmt.Errorf("tune: search space: %q: %w", k, err)
			}
		}
	}
	return s, nil
}

func (s Space) keys() []string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// draw picks one value per key, keys in sorted order.
func (s Space) draw(rng *rand.Rand) map[string]any {
	p := make(map[string]any, len(s))
	for _, k := range s.keys() {
		p[k] = s[k][rng.IntN(len(s[k]))]
	}
	return p
}

// apply returns base with params set (by JSON key), validated.
func apply(base train.Config, params map[string]any) (train.Config, error) {
	b, err := json.Marshal(base)
	if err != nil {
		return base, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return base, err
	}
	for k, v := range params {
		if _, ok := m[k]; !ok {
			return base, fmt.Errorf("unknown config key %q", k)
		}
		m[k] = v
	}
	if b, err = json.Marshal(m); err != nil {
		return base, err
	}
	// A fresh value: decoding into a copy of base would write the drawn
	// lists (hidden, decays) into the arrays base shares with its copies.
	// The map holds every key, so nothing is lost but the unexported-to-
	// JSON Workers.
	var out train.Config
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return base, err
	}
	out.Workers = base.Workers
	if err := out.Validate(); err != nil {
		return base, err
	}
	return out, nil
}

// Describe returns params as "key=value" pairs in key order, "base" for
// none.
func Describe(params map[string]any) string {
	if len(params) == 0 {
		return "base"
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		v, _ := json.Marshal(params[k])
		fmt.Fprintf(&b, "%s=%s", k, v)
	}
	return b.String()
}
