package importer

import (
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
)

// Tensor is a named array of float32 values in row-major (C) order.
type Tensor struct {
	Shape []int
	Data  []float32
}

// Tensors maps tensor names to tensors, as read from a weights file.
type Tensors map[string]*Tensor

// Names returns the tensor names, sorted.
func (ts Tensors) Names() []string {
	names := make([]string, 0, len(ts))
	for n := range ts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Limits on weights files: every length read from a file is checked
// against them before anything is allocated.
const (
	// MaxWeightsBytes is the largest weights file read (4 GiB).
	MaxWeightsBytes = 4 << 30
	// MaxTensors is the largest number of tensors in one file.
	MaxTensors = 1 << 16
	// MaxRank is the largest number of dimensions of one tensor.
	MaxRank = 8
	// MaxHeaderBytes is the largest safetensors JSON header or .npy header.
	MaxHeaderBytes = 100 << 20
	// maxElements bounds one tensor's element count (2³¹−1 float32 values).
	maxElements = math.MaxInt32
)

// FormatError reports a malformed weights or spec file. Typically this
// indicates a truncated or corrupted file, or one written by another tool
// than its extension says.
type FormatError struct {
	File string // the file (or zip member) at fault, may be empty
	Msg  string
}

func (e *FormatError) Error() string {
	if e.File == "" {
		return "importer: " + e.Msg
	}
	return "importer: " + e.File + ": " + e.Msg
}

// UnsupportedError reports a valid file that uses a feature the importer
// does not handle (a dtype, Fortran order beyond two dimensions).
type UnsupportedError struct {
	File string
	Msg  string
}

func (e *UnsupportedError) Error() string {
	return "importer: " + e.File + ": unsupported: " + e.Msg
}

// ErrUnknownFormat is returned by ReadWeights for a file that is neither
// safetensors nor .npz.
var ErrUnknownFormat = errors.New("importer: weights file is neither safetensors (.safetensors) nor NumPy .npz (a zip archive)")

// ReadWeights reads a weights file: safetensors or NumPy .npz, told apart by
// content (an .npz is a zip archive and starts with "PK").
func ReadWeights(path string) (Tensors, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s is a directory, not a weights file", path)
	}
	if st.Size() > MaxWeightsBytes {
		return nil, &FormatError{path, fmt.Sprintf("%d bytes, more than the limit of %d", st.Size(), int64(MaxWeightsBytes))}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ts, err := DecodeWeights(data)
	if err != nil {
		var fe *FormatError
		if errors.As(err, &fe) && fe.File == "" {
			fe.File = path
		}
		var ue *UnsupportedError
		if errors.As(err, &ue) && ue.File == "" {
			ue.File = path
		}
		if errors.Is(err, ErrUnknownFormat) {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return ts, err
}

// DecodeWeights decodes safetensors or .npz bytes.
func DecodeWeights(data []byte) (Tensors, error) {
	switch {
	case len(data) >= 4 && string(data[:4]) == "PK\x03\x04", len(data) >= 4 && string(data[:4]) == "PK\x05\x06":
		return DecodeNPZ(data)
	case len(data) >= 9 && data[8] == '{':
		return DecodeSafetensors(data)
	}
	return nil, ErrUnknownFormat
}

// elements returns the product of shape, or an error when a dimension is
// negative or the product exceeds maxElements.
func elements(shape []int) (int, error) {
	if len(shape) > MaxRank {
		return 0, fmt.Errorf("%d dimensions, more than %d", len(shape), MaxRank)
	}
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in shape %v", shape)
		}
		if d != 0 && n > maxElements/d {
			return 0, fmt.Errorf("shape %v has more than %d elements", shape, maxElements)
		}
		n *= d
	}
	return n, nil
}

// dtype is an element type both readers convert to float32.
type dtype struct {
	size    int
	convert func(dst []float32, src []byte)
}

func f32(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = math.Float32frombits(le32(src[4*i:]))
	}
}

func f64(dst []float32, src []byte) {
	for i := range dst {
		b := src[8*i:]
		dst[i] = float32(math.Float64frombits(uint64(le32(b)) | uint64(le32(b[4:]))<<32))
	}
}

func f16(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = halfToFloat(uint16(src[2*i]) | uint16(src[2*i+1])<<8)
	}
}

func bf16(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = math.Float32frombits(uint32(uint16(src[2*i])|uint16(src[2*i+1])<<8) << 16)
	}
}

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// halfToFloat converts an IEEE 754 binary16 value to float32 exactly.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // inf, NaN
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: mant · 2⁻²⁴
		f := float32(mant) / (1 << 24)
		if sign != 0 {
			f = -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// checkFinite reports the first non-finite value of t.
func checkFinite(name string, t *Tensor) error {
	for i, v := range t.Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("tensor %s: element %d is %v (weights must be finite)", name, i, v)
		}
	}
	return nil
}

func shapeString(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
