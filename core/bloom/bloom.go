package bloom

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
)

// Limits on a filter's parameters.
const (
	// MaxHashes is the largest number of hash functions k. New clamps to it;
	// Decode refuses a larger k.
	MaxHashes = 30

	// MaxBytes is the largest serialized filter, equal to
	// api.MaxConsumedBytes (512 KiB) so that any filter fits in a request.
	MaxBytes = 512 << 10

	// MinBits and MaxBits bound m, the number of bits. m is a multiple of
	// 64; MaxBits = (MaxBytes − HeaderSize − TrailerSize) / 8 · 64 =
	// 65534 · 64 = 4,194,176 bits, so that the largest filter serializes to
	// exactly MaxBytes. At p = 0.01 it holds about 437,000 items.
	MinBits = 64
	MaxBits = (MaxBytes - HeaderSize - TrailerSize) / 8 * 64
)

// ErrIncompatible is wrapped by Union when the two filters differ in m or
// k: their bits hash the same id to different positions and cannot be
// merged.
var ErrIncompatible = errors.New("bloom: filters have different parameters")

// Filter is a Bloom filter of item ids: m bits and k hash functions per id
// (see the package documentation for the hashing). Make one with New or
// Decode; the zero Filter has no bits, and Add and MayContain panic on it
// (a programmer error).
//
// A Filter is not safe for concurrent use when one of the calls is Add,
// Union or UnmarshalBinary.
type Filter struct {
	words []uint64 // bit j is words[j/64] bit j%64
	k     int
}

// New returns an empty filter sized for n items at a false-positive rate
// of p (Bloom 1970; sizing as in Broder and Mitzenmacher 2004, §2.1):
//
//	m = ⌈−n·ln p / (ln 2)²⌉ rounded up to a multiple of 64 (at least 64)
//	k = round(m/n · ln 2), clamped to [1, MaxHashes]
//
// k is computed from the rounded m. After n distinct adds, the expected
// false-positive rate is (1 − e^(−k·n/m))^k, at most about p (less when
// the rounding of m is large against n, and more after more than n adds).
//
// New fails when n < 1, when p is not in (0, 1), or when the filter would
// need more than MaxBits bits.
//
// # Notes
//
//   - m and k depend on floating-point logarithms: clients must take them
//     from a serialized filter (or from the module), never recompute them.
func New(n int, p float64) (*Filter, error) {
	m, k, err := size(n, p)
	if err != nil {
		return nil, err
	}
	return &Filter{words: make([]uint64, m/64), k: k}, nil
}

// size returns m and k for n items at false-positive rate p.
func size(n int, p float64) (m, k int, err error) {
	if n < 1 {
		return 0, 0, fmt.Errorf("bloom: expected item count n = %d, want at least 1", n)
	}
	if !(p > 0 && p < 1) {
		return 0, 0, fmt.Errorf("bloom: false-positive rate p = %g, want 0 < p < 1", p)
	}
	// The explicit conversions keep the compiler from fusing the
	// multiplication and division into an FMA, which would change the
	// rounding on some architectures.
	bitsF := float64(-float64(n)*math.Log(p)) / float64(math.Ln2*math.Ln2)
	words := math.Ceil(bitsF / 64)
	if words > MaxBits/64 {
		return 0, 0, fmt.Errorf("bloom: %d items at p = %g need %.0f bits, more than the limit of %d (%d bytes serialized); lower n or raise p",
			n, p, bitsF, MaxBits, MaxBytes)
	}
	m = 64 * max(1, int(words))
	k = int(math.Round(float64(m) / float64(n) * math.Ln2))
	return m, min(max(k, 1), MaxHashes), nil
}

// M returns the number of bits m, a multiple of 64.
func (f *Filter) M() int { return 64 * len(f.words) }

// K returns the number of hash functions k.
func (f *Filter) K() int { return f.k }

// Hash constants: 64-bit FNV-1a (Fowler, Noll and Vo; draft-eastlake-fnv
// §2) and the 64-bit finalizer of MurmurHash3 (fmix64, Appleby).
const (
	fnvOffset64 = 0xcbf29ce484222325
	fnvPrime64  = 0x100000001b3
	fmixMul1    = 0xff51afd7ed558ccd
	fmixMul2    = 0xc4ceb9fe1a85ec53
)

// sum64 returns h, the 64-bit hash of id (package documentation,
// "Hashing"): fmix64 of the 64-bit FNV-1a of id's bytes.
func sum64(id string) uint64 {
	h := uint64(fnvOffset64)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= fnvPrime64
	}
	h ^= h >> 33
	h *= fmixMul1
	h ^= h >> 33
	h *= fmixMul2
	h ^= h >> 33
	return h
}

// hash returns the two 32-bit hashes of id, as uint64s: h1 is the low half
// of sum64(id), h2 the high half with its lowest bit set.
func hash(id string) (h1, h2 uint64) {
	h := sum64(id)
	return h & 0xffffffff, h>>32 | 1
}

// probe returns the first of id's bit positions in a filter of m bits and
// the step to the next (Add says how they are walked).
func probe(id string, m uint64) (pos, step uint64) {
	h1, h2 := hash(id)
	return h1 % m, h2 % m
}

// Add adds the item id. It panics on the zero Filter.
//
// The bits set are, for i = 0 … k−1, (h1 + i·h2) mod m (Kirsch and
// Mitzenmacher 2006); Add walks them incrementally, adding h2 mod m and
// subtracting m on overflow, which gives the same positions.
func (f *Filter) Add(id string) {
	m := uint64(len(f.words)) * 64
	pos, step := probe(id, m)
	for range f.k {
		f.words[pos>>6] |= 1 << (pos & 63)
		if pos += step; pos >= m {
			pos -= m
		}
	}
}

// MayContain reports whether id may have been added: always true for an
// added id, and true for another id with a probability of about
// EstimatedFPRate. It panics on the zero Filter.
func (f *Filter) MayContain(id string) bool {
	m := uint64(len(f.words)) * 64
	pos, step := probe(id, m)
	for range f.k {
		if f.words[pos>>6]&(1<<(pos&63)) == 0 {
			return false
		}
		if pos += step; pos >= m {
			pos -= m
		}
	}
	return true
}

// Union adds every item of other to f (a bitwise OR), so that f may contain
// whatever either filter may contain. It returns an error wrapping
// ErrIncompatible, and leaves f unchanged, unless both have the same m and
// k; a nil other is an error too.
func (f *Filter) Union(other *Filter) error {
	if other == nil {
		return errors.New("bloom: union with a nil filter")
	}
	if f.M() != other.M() || f.k != other.k {
		return fmt.Errorf("%w: m = %d bits, k = %d and m = %d bits, k = %d; only filters made with the same expected count and rate merge",
			ErrIncompatible, f.M(), f.k, other.M(), other.k)
	}
	for i, w := range other.words {
		f.words[i] |= w
	}
	return nil
}

// ones returns the number of bits set.
func (f *Filter) ones() int {
	n := 0
	for _, w := range f.words {
		n += bits.OnesCount64(w)
	}
	return n
}

// fpRate is the estimated false-positive rate of a filter of m bits, k
// hashes and the given bits set.
func fpRate(ones, m, k int) float64 {
	return math.Pow(float64(ones)/float64(m), float64(k))
}

// EstimatedFPRate returns the probability that MayContain reports true for
// an id that was never added, from the filter's fill: (X/m)^k, where X is
// the number of bits set. With ideal hashing this is exact for the filter as
// it is; it grows as items are added.
func (f *Filter) EstimatedFPRate() float64 {
	if len(f.words) == 0 {
		return 0
	}
	return fpRate(f.ones(), f.M(), f.k)
}

// EstimatedCount returns an estimate of the number of distinct items added,
// from the filter's fill (Swamidass and Baldi 2007):
//
//	n̂ = −(m/k) · ln(1 − X/m)
//
// where X is the number of bits set; +Inf when every bit is set. A filter
// serializes its bits only, so this is also how to tell how full a decoded
// filter is: when n̂ passes the n it was made for, its false-positive rate
// passes p, and a client should start a larger filter.
func (f *Filter) EstimatedCount() float64 {
	if len(f.words) == 0 {
		return 0
	}
	m := float64(f.M())
	return -m / float64(f.k) * math.Log1p(-float64(f.ones())/m)
}
