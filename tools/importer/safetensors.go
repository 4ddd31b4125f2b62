package importer

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"sort"
)

// safetensorsDtypes are the element types DecodeSafetensors converts.
var safetensorsDtypes = map[string]dtype{
	"F32":  {4, f32},
	"F64":  {8, f64},
	"F16":  {2, f16},
	"BF16": {2, bf16},
}

// stEntry is one tensor of a safetensors header.
type stEntry struct {
	Dtype       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets []uint64 `json:"data_offsets"`
}

// DecodeSafetensors decodes a safetensors file
// (https://github.com/huggingface/safetensors, "Format"): an 8-byte
// little-endian header length N, N bytes of JSON mapping each tensor name to
// {"dtype", "shape", "data_offsets": [begin, end]} (offsets into the data
// that follows the header; an optional "__metadata__" entry maps strings to
// strings), then the data. Tensors of dtype F32, F64, F16 and BF16 are
// converted to float32; other dtypes give an *UnsupportedError.
//
// It checks, in order: the header length against the file, the JSON, every
// entry's dtype, shape and offsets (within the data, end − begin = elements ×
// dtype size, no overlap between tensors), and that values are finite.
func DecodeSafetensors(data []byte) (Tensors, error) {
	if len(data) < 8 {
		return nil, &FormatError{Msg: fmt.Sprintf("safetensors: %d bytes, too short for the 8-byte header length", len(data))}
	}
	n := binary.LittleEndian.Uint64(data)
	if n > MaxHeaderBytes || n > uint64(len(data)-8) {
		return nil, &FormatError{Msg: fmt.Sprintf("safetensors: header length %d exceeds the file (%d bytes) or the limit %d", n, len(data), MaxHeaderBytes)}
	}
	header, body := data[8:8+n], data[8+n:]
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(header))
	if err := dec.Decode(&raw); err != nil {
		return nil, &FormatError{Msg: fmt.Sprintf("safetensors: header is not a JSON object: %v", err)}
	}
	if len(raw) > MaxTensors+1 {
		return nil, &FormatError{Msg: fmt.Sprintf("safetensors: %d tensors, more than %d", len(raw), MaxTensors)}
	}
	type span struct {
		name       string
		begin, end uint64
	}
	var spans []span
	ts := Tensors{}
	names := make([]string, 0, len(raw))
	for name := range raw {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if name == "__metadata__" {
			var meta map[string]string
			if err := json.Unmarshal(raw[name], &meta); err != nil {
				return nil, &FormatError{Msg: fmt.Sprintf("safetensors: __metadata__ is not a map of strings: %v", err)}
			}
			continue
		}
		var e stEntry
		if err := json.Unmarshal(raw[name], &e); err != nil {
			return nil, &FormatError{Msg: fmt.Sprintf("safetensors: tensor %q: %v", name, err)}
		}
		dt, ok := safetensorsDtypes[e.Dtype]
		if !ok {
			return nil, &UnsupportedError{Msg: fmt.Sprintf("safetensors: tensor %q has dtype %q (want F32, F64, F16 or BF16)", name, e.Dtype)}
		}
		count, err := elements(e.Shape)
		if err != nil {
			return nil, &FormatError{Msg: fmt.Sprintf("safetensors: tensor %q: %v", name, err)}
		}
		if len(e.DataOffsets) != 2 {
			return nil, &FormatError{Msg: fmt.Sprintf("safetensors: tensor %q: data_offsets has %d values, want 2", name, len(e.DataOffsets))}
		}
		begin, end := e.DataOffsets[0], e.DataOffsets[1]
		if begin > end || end > uint64(len(body)) {
			return nil, &FormatError{Msg: fmt.Sprintf("safetensors: tensor %q: data_offsets [%d, %d] outside the %d data bytes", name, begin, end, len(body))}
		}
		if end-begin != uint64(count)*uint64(dt.size) {
			return nil, &FormatError{Msg: fmt.Sprintf("safetensors: tensor %q: %d data bytes for shape %s of %s (want %d)",
				name, end-begin, shapeString(e.Shape), e.Dtype, uint64(count)*uint64(dt.size))}
		}
		spans = append(spans, span{name, begin, end})
		t := &Tensor{Shape: append([]int{}, e.Shape...), Data: make([]float32, count)}
		dt.convert(t.Data, body[begin:end])
		if err := checkFinite(name, t); err != nil {
			return nil, &FormatError{Msg: "safetensors: " + err.Error()}
		}
		ts[name] = t
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].begin < spans[j].begin })
	for i := 1; i < len(spans); i++ {
		if spans[i].begin < spans[i-1].end {
			return nil, &FormatError{Msg: fmt.Sprintf("safetensors: tensors %q and %q overlap", spans[i-1].name, spans[i].name)}
		}
	}
	return ts, nil
}

// EncodeSafetensors writes ts as a safetensors file of F32 tensors, names
// sorted, so the same tensors always give the same bytes. Tests use it.
func EncodeSafetensors(ts Tensors) []byte {
	header := map[string]any{}
	var off uint64
	names := ts.Names()
	for _, name := range names {
		t := ts[name]
		end := off + 4*uint64(len(t.Data))
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		header[name] = stEntry{Dtype: "F32", Shape: shape, DataOffsets: []uint64{off, end}}
		off = end
	}
	h, _ := json.Marshal(header) // maps marshal with sorted keys
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	out = append(out, h...)
	for _, name := range names {
		for _, v := range ts[name].Data {
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
		}
	}
	return out
}
