package feature

import (
	"hash/fnv"
	"strings"
	"unicode"
)

// Tokens splits text into lower-case words of letters and digits.
func Tokens(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// Hash maps a token to one of buckets rows 1..buckets of an embedding table
// (row 0 stays Unknown) with 32-bit FNV-1a: the hashing trick
// (Weinberger et al., "Feature Hashing for Large Scale Multitask
// Learning", ICML 2009), so no vocabulary has to ship.
func Hash(token string, buckets int) int32 {
	h := fnv.New32a()
	h.Write([]byte(token))
	return int32(h.Sum32()%uint32(buckets)) + 1
}

// HashTokens returns the distinct bucket rows of text's tokens, in order of
// first appearance.
func HashTokens(text string, buckets int) []int32 {
	var out []int32
	for _, t := range Tokens(text) {
		r := Hash(t, buckets)
		dup := false
		for _, o := range out {
			dup = dup || o == r
		}
		if !dup {
			out = append(out, r)
		}
	}
	return out
}
