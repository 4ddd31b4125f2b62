// Package bloom is the Bloom filter of consumed items that a client (a
// browser, an app, an edge cookie) holds and sends with each request, so
// that the pipeline can drop items the user has already consumed without
// the server keeping any history (Bloom 1970).
//
// A filter answers MayContain(id) with no false negatives and a
// false-positive rate chosen when it is made. Items are hashed by their
// external id string, never by a bundle's item index, so a filter stays
// valid across bundle versions. Filters of the same parameters merge with
// Union (a device and a cookie, say).
//
//	f, err := bloom.New(1000, 0.01) // m = 9600 bits, k = 7
//	f.Add("tt0111161")
//	f.MayContain("tt0111161") // true
//	b, err := f.MarshalBinary()  // 1216 bytes, for api.Request.Consumed
//	g, err := bloom.Decode(b)    // *FormatError on bad bytes
//
// The module exports the operations through edgerec_bloom (api.BloomOp,
// Apply; wasm/ABI.md), so a browser need not reimplement anything; the
// hashing and the bytes are specified here in full anyway, so that any
// language can read and write filters.
//
// # Sizing
//
// New(n, p) sizes a filter for n items at a false-positive rate p with the
// classic optimum (Broder and Mitzenmacher 2004, §2.1):
//
//	m = ⌈−n·ln p / (ln 2)²⌉, rounded up to a multiple of 64 (at least 64)
//	k = round(m/n · ln 2), clamped to [1, 30]
//
// After n distinct items the false-positive rate is about
// (1 − e^(−k·n/m))^k ≤ p; it grows past p if more than n items are added
// (EstimatedCount and EstimatedFPRate tell from the bits alone).
//
// # Hashing
//
// An id is hashed as its bytes (UTF-8; Go strings as they are, JS strings
// through TextEncoder), all arithmetic on unsigned 64-bit integers modulo
// 2⁶⁴:
//
//	h := 0xcbf29ce484222325                 // 64-bit FNV-1a (draft-eastlake-fnv §2)
//	for each byte c of id:
//	    h = (h XOR c) · 0x100000001b3
//	h ^= h >> 33; h *= 0xff51afd7ed558ccd    // fmix64, the MurmurHash3 finalizer
//	h ^= h >> 33; h *= 0xc4ceb9fe1a85ec53
//	h ^= h >> 33
//	h1 = h AND 0xffffffff                   // low 32 bits
//	h2 = (h >> 32) OR 1                     // high 32 bits, made odd
//	bit_i = (h1 + i·h2) mod m,  for i = 0, 1, …, k−1
//
// The k positions come from two hashes by double hashing (Kirsch and
// Mitzenmacher 2006), which keeps the false-positive rate of k independent
// hashes. h1 + i·h2 < 31·2³² < 2³⁷ is computed exactly, without wrapping
// (it fits in a JS Number too). Bit j of the filter is bit j mod 64 of
// 64-bit word j/64, that is bit j mod 8 (1 = least significant) of byte
// j/8 of the bit array.
//
// fmix64 is there because FNV-1a alone spreads sequential ids ("item-0",
// "item-1", …) unevenly over the bits: measured when this format was
// designed, with 10,000 such ids in New(10000, 0.001) (m = 143,808, k =
// 10), FNV-1a alone gave a false-positive rate of 0.0027 and FNV-1a with
// fmix64 0.0011, against 0.0010 from the formula. TestFalsePositiveRate
// holds the scheme to the formula on sequential ids.
//
// In JavaScript, with BigInt for the 64-bit steps:
//
//	const M64 = (1n << 64n) - 1n;
//	function positions(id, m, k) {       // m, k: from the filter's header
//	  let h = 0xcbf29ce484222325n;
//	  for (const c of new TextEncoder().encode(id)) h = ((h ^ BigInt(c)) * 0x100000001b3n) & M64;
//	  h ^= h >> 33n; h = (h * 0xff51afd7ed558ccdn) & M64;
//	  h ^= h >> 33n; h = (h * 0xc4ceb9fe1a85ec53n) & M64;
//	  h ^= h >> 33n;
//	  const h1 = Number(h & 0xffffffffn), h2 = Number((h >> 32n) | 1n);
//	  const out = [];
//	  for (let i = 0; i < k; i++) out.push((h1 + i * h2) % m);
//	  return out;                        // test: bits[12 + (j >>> 3)] & (1 << (j & 7))
//	}
//
// testdata/v1-vectors.json lists ids with their h, h1, h2 and positions,
// and testdata/v1-small.erbf the filter they make, for tests in other
// languages.
//
// # Serialized form
//
// Version 1, all integers little-endian, 16 + m/8 bytes in all:
//
//	offset  size   field
//	0       4      magic "ERBF" (0x45 0x52 0x42 0x46)
//	4       1      format version, 1
//	5       1      k, the number of hash functions, 1 to 30
//	6       2      reserved, zero
//	8       4      m, the number of bits (uint32), a multiple of 64,
//	               64 ≤ m ≤ 4,194,176 (MaxBits)
//	12      m/8    the bits: m/64 uint64 words, word w holding bits
//	               64w … 64w+63, bit j of the filter as bit j mod 64
//	               (equivalently: byte 12 + j/8, bit j mod 8)
//	12+m/8  4      CRC-32C (Castagnoli) of bytes 0 … 11+m/8
//
// The largest filter (m = MaxBits) is exactly 512 KiB, MaxBytes, which is
// api.MaxConsumedBytes. The encoding is canonical: a filter has exactly one
// serialized form, and Decode accepts only that.
//
// Decode checks, in this order, and refuses with a *FormatError naming the
// first failure: at least 12 bytes; the magic; the version (any other is
// refused, naming it: a future version bumps the byte and old readers refuse
// it); k in [1, 30]; the reserved bytes zero; m in range and a multiple of
// 64; the exact total length 16 + m/8; the checksum. It allocates only after
// all checks pass.
//
// # References
//
//   - B. H. Bloom. Space/time trade-offs in hash coding with allowable
//     errors. Communications of the ACM 13(7):422–426, 1970.
//   - A. Broder and M. Mitzenmacher. Network applications of Bloom
//     filters: a survey. Internet Mathematics 1(4):485–509, 2004.
//   - A. Kirsch and M. Mitzenmacher. Less hashing, same performance:
//     building a better Bloom filter. ESA 2006, LNCS 4168:456–467; Random
//     Structures & Algorithms 33(2):187–218, 2008.
//   - G. Fowler, L. C. Noll, K.-P. Vo, D. Eastlake. The FNV
//     non-cryptographic hash algorithm. IETF draft-eastlake-fnv.
//   - A. Appleby. MurmurHash3 (fmix64), public domain, 2011.
//   - S. J. Swamidass and P. Baldi. Mathematical correction for fingerprint
//     similarity measures to improve chemical retrieval. J. Chem. Inf.
//     Model. 47(3):952–964, 2007 (the count estimate).
//   - G. Castagnoli, S. Bräuer, M. Herrmann. Optimization of cyclic
//     redundancy-check codes with 24 and 32 parity bits. IEEE Trans.
//     Communications 41(6):883–892, 1993 (CRC-32C; RFC 3720 §B.4).
package bloom
