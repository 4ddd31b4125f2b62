package api

import (
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// DecodeMsgpack implements msgpack.CustomDecoder. It accepts any msgpack
// number as a weight (float32, float64 or an integer) and converts it to
// float32, because most msgpack writers (JavaScript's, Python's) write every
// fractional number as float64; the default decoder refuses float64 for a
// float32.
func (w *Weights) DecodeMsgpack(dec *msgpack.Decoder) error {
	n, err := dec.DecodeMapLen()
	if err != nil {
		return err
	}
	if n < 0 {
		*w = nil
		return nil
	}
	m := make(Weights, min(n, MaxListLen))
	for range n {
		k, err := dec.DecodeString()
		if err != nil {
			return err
		}
		v, err := dec.DecodeFloat64()
		if err != nil {
			return fmt.Errorf("source weight %q: %w", k, err)
		}
		m[k] = float32(v)
	}
	*w = m
	return nil
}
