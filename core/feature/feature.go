// Package feature turns raw user, context and item attributes into the
// indices and numbers the towers consume. Training and serving both call it,
// so a feature is computed the same way on both sides.
package feature

// Unknown is the index of the reserved row for a missing or unseen value.
const Unknown = 0

// Vocab maps the distinct values of a categorical feature to indices
// 1..len(Values); index 0 (Unknown) stands for any value not in it.
type Vocab struct {
	Values []string `msgpack:"values"`
	index  map[string]int32
}

// NewVocab returns a vocabulary of the given values in order; repeated
// values keep their first index.
func NewVocab(values []string) *Vocab {
	v := &Vocab{}
	for _, s := range values {
		v.Add(s)
	}
	return v
}

// Add appends s if it is new and returns its index. The empty string is
// never added: it is Unknown.
func (v *Vocab) Add(s string) int32 {
	if s == "" {
		return Unknown
	}
	v.build()
	if i, ok := v.index[s]; ok {
		return i
	}
	v.Values = append(v.Values, s)
	i := int32(len(v.Values))
	v.index[s] = i
	return i
}

// Index returns the index of s, or Unknown.
func (v *Vocab) Index(s string) int32 {
	v.build()
	return v.index[s]
}

// Size returns the number of rows an embedding table needs: the values plus
// the Unknown row.
func (v *Vocab) Size() int { return len(v.Values) + 1 }

// build makes the lookup map after construction or decoding. Not safe for
// concurrent first use: call Index once before sharing a decoded Vocab.
func (v *Vocab) build() {
	if v.index != nil {
		return
	}
	v.index = make(map[string]int32, len(v.Values))
	for i, s := range v.Values {
		if _, dup := v.index[s]; !dup {
			v.index[s] = int32(i + 1)
		}
	}
}

// AgeBuckets is the number of age buckets AgeBucket returns, Unknown included.
const AgeBuckets = 8

// AgeBucket maps an age in years to a bucket: Unknown for age ≤ 0, then
// <18, 18–24, 25–34, 35–44, 45–54, 55–64, ≥65.
func AgeBucket(age int) int32 {
	switch {
	case age <= 0:
		return Unknown
	case age < 18:
		return 1
	case age < 25:
		return 2
	case age < 35:
		return 3
	case age < 45:
		return 4
	case age < 55:
		return 5
	case age < 65:
		return 6
	}
	return 7
}
