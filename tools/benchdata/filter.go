package benchdata

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/rand/v2"

	"github.com/edgerec/edgerec/core/bloom"
)

// FullFilter returns the serialized consumed filter of m bits and k hash
// functions with every bit set: it may contain every id, the costliest
// filter a request can carry. m must be a multiple of 64 in
// [bloom.MinBits, bloom.MaxBits] and k in [1, bloom.MaxHashes]; FullFilter
// panics otherwise (a programmer error).
func FullFilter(m, k int) []byte {
	if m < bloom.MinBits || m > bloom.MaxBits || m%64 != 0 || k < 1 || k > bloom.MaxHashes {
		panic(fmt.Sprintf("benchdata: filter of m = %d, k = %d out of range", m, k))
	}
	b := make([]byte, 0, bloom.Size(m))
	b = append(b, bloom.Magic...)
	b = append(b, bloom.Version, byte(k), 0, 0)
	b = binary.LittleEndian.AppendUint32(b, uint32(m))
	for range m / 8 {
		b = append(b, 0xff)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
}

// FilterBelow returns a filter made by bloom.New(n, 0.01) and filled with
// random ids (none of them an item id of a synthetic catalog) for as long
// as its estimated false-positive rate stays below rate: with rate
// api.MaxConsumedFPRate, the fullest filter a module still applies. It
// checks the rate after every id, so n should stay in the thousands.
func FilterBelow(n int, rate float64, seed uint64) *bloom.Filter {
	f, err := bloom.New(n, 0.01)
	if err != nil {
		panic(err)
	}
	rng := rand.New(rand.NewPCG(seed, 3))
	for {
		g, _ := bloom.Decode(must(f.MarshalBinary()))
		g.Add(fmt.Sprintf("noise-%x", rng.Uint64()))
		if g.EstimatedFPRate() >= rate {
			return f
		}
		f = g
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
