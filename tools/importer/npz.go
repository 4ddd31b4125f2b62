package importer

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// npyDtypes are the .npy element types DecodeNPY converts ('<' little-endian,
// '|' or '=' not byte-swapped; big-endian arrays are unsupported).
var npyDtypes = map[string]dtype{
	"f4": {4, f32},
	"f8": {8, f64},
	"f2": {2, f16},
}

// DecodeNPZ decodes a NumPy .npz file (numpy.savez or savez_compressed): a
// zip archive with one .npy member per array, named after the array with
// ".npy" appended (the suffix is dropped from the tensor name). Members are
// stored or deflated; their declared sizes are checked against
// MaxWeightsBytes before they are read.
func DecodeNPZ(data []byte) (Tensors, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, &FormatError{Msg: fmt.Sprintf("npz: not a readable zip archive: %v", err)}
	}
	if len(zr.File) > MaxTensors {
		return nil, &FormatError{Msg: fmt.Sprintf("npz: %d members, more than %d", len(zr.File), MaxTensors)}
	}
	ts := Tensors{}
	var total uint64
	for _, f := range zr.File {
		if !strings.HasSuffix(f.Name, ".npy") {
			return nil, &FormatError{Msg: fmt.Sprintf("npz: member %q is not a .npy array", f.Name)}
		}
		name := strings.TrimSuffix(f.Name, ".npy")
		if _, dup := ts[name]; dup {
			return nil, &FormatError{Msg: fmt.Sprintf("npz: array %q appears twice", name)}
		}
		total += f.UncompressedSize64
		if f.UncompressedSize64 > MaxWeightsBytes || total > MaxWeightsBytes {
			return nil, &FormatError{Msg: fmt.Sprintf("npz: member %q declares %d bytes, more than the limit", f.Name, f.UncompressedSize64)}
		}
		rc, err := f.Open()
		if err != nil {
			return nil, &FormatError{Msg: fmt.Sprintf("npz: member %q: %v", f.Name, err)}
		}
		// Read at most the declared size + 1 so that a member longer than
		// declared is caught, without trusting the declaration for memory.
		b, err := io.ReadAll(io.LimitReader(rc, int64(f.UncompressedSize64)+1))
		rc.Close()
		if err != nil {
			return nil, &FormatError{Msg: fmt.Sprintf("npz: member %q: %v", f.Name, err)}
		}
		if uint64(len(b)) != f.UncompressedSize64 {
			return nil, &FormatError{Msg: fmt.Sprintf("npz: member %q holds %d bytes, declares %d", f.Name, len(b), f.UncompressedSize64)}
		}
		t, err := DecodeNPY(b)
		if err != nil {
			return nil, prefixErr(err, "npz: array "+strconv.Quote(name)+": ")
		}
		if err := checkFinite(name, t); err != nil {
			return nil, &FormatError{Msg: "npz: " + err.Error()}
		}
		ts[name] = t
	}
	return ts, nil
}

func prefixErr(err error, prefix string) error {
	switch e := err.(type) {
	case *FormatError:
		return &FormatError{e.File, prefix + e.Msg}
	case *UnsupportedError:
		return &UnsupportedError{e.File, prefix + e.Msg}
	}
	return err
}

// DecodeNPY decodes one array in the NumPy .npy format, versions 1.0, 2.0
// and 3.0 (numpy.lib.format): the magic "\x93NUMPY", a major and minor
// version byte, a little-endian header length (2 bytes in 1.0, 4 in 2.0 and
// 3.0), a Python dict literal with 'descr', 'fortran_order' and 'shape',
// then the data. Little-endian float32, float64 and float16 arrays are
// converted to float32; a Fortran-ordered array of one or two dimensions is
// transposed into row-major order.
func DecodeNPY(b []byte) (*Tensor, error) {
	const magic = "\x93NUMPY"
	if len(b) < 10 || string(b[:6]) != magic {
		return nil, &FormatError{Msg: "npy: missing the \\x93NUMPY magic"}
	}
	major := b[6]
	var hlen, start int
	switch major {
	case 1:
		hlen, start = int(binary.LittleEndian.Uint16(b[8:])), 10
	case 2, 3:
		if len(b) < 12 {
			return nil, &FormatError{Msg: "npy: truncated header length"}
		}
		h := binary.LittleEndian.Uint32(b[8:])
		if h > MaxHeaderBytes {
			return nil, &FormatError{Msg: fmt.Sprintf("npy: header length %d over the limit", h)}
		}
		hlen, start = int(h), 12
	default:
		return nil, &UnsupportedError{Msg: fmt.Sprintf("npy: format version %d.%d", major, b[7])}
	}
	if hlen > len(b)-start {
		return nil, &FormatError{Msg: fmt.Sprintf("npy: header length %d exceeds the %d bytes left", hlen, len(b)-start)}
	}
	descr, fortran, shape, err := parseNPYHeader(string(b[start : start+hlen]))
	if err != nil {
		return nil, &FormatError{Msg: "npy: header: " + err.Error()}
	}
	if len(descr) != 3 || (descr[0] != '<' && descr[0] != '|' && descr[0] != '=') {
		return nil, &UnsupportedError{Msg: fmt.Sprintf("npy: dtype %q (want little-endian <f4, <f8 or <f2)", descr)}
	}
	dt, ok := npyDtypes[descr[1:]]
	if !ok {
		return nil, &UnsupportedError{Msg: fmt.Sprintf("npy: dtype %q (want <f4, <f8 or <f2)", descr)}
	}
	count, err := elements(shape)
	if err != nil {
		return nil, &FormatError{Msg: "npy: " + err.Error()}
	}
	body := b[start+hlen:]
	if uint64(len(body)) != uint64(count)*uint64(dt.size) {
		return nil, &FormatError{Msg: fmt.Sprintf("npy: %d data bytes for shape %s of %s (want %d)", len(body), shapeString(shape), descr, uint64(count)*uint64(dt.size))}
	}
	t := &Tensor{Shape: shape, Data: make([]float32, count)}
	dt.convert(t.Data, body)
	if fortran && len(shape) == 2 {
		r, c := shape[0], shape[1]
		rowMajor := make([]float32, count)
		for j := 0; j < c; j++ {
			for i := 0; i < r; i++ {
				rowMajor[i*c+j] = t.Data[j*r+i]
			}
		}
		t.Data = rowMajor
	} else if fortran && len(shape) > 2 {
		return nil, &UnsupportedError{Msg: fmt.Sprintf("npy: Fortran-ordered array of %d dimensions (save it with numpy.ascontiguousarray)", len(shape))}
	}
	return t, nil
}

// parseNPYHeader reads the dict literal of a .npy header, for example
//
//	{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
//
// It accepts exactly the three keys, in any order, with string, boolean and
// tuple-of-integers values.
func parseNPYHeader(h string) (descr string, fortran bool, shape []int, err error) {
	p := &pyLexer{s: strings.TrimRight(h, " \n\x00")}
	if !p.eat('{') {
		return "", false, nil, fmt.Errorf("want a dict literal, got %.40q", h)
	}
	seen := map[string]bool{}
	for {
		p.space()
		if p.eat('}') {
			break
		}
		key, err := p.str()
		if err != nil {
			return "", false, nil, err
		}
		if seen[key] {
			return "", false, nil, fmt.Errorf("key %q twice", key)
		}
		seen[key] = true
		p.space()
		if !p.eat(':') {
			return "", false, nil, fmt.Errorf("want ':' after %q", key)
		}
		p.space()
		switch key {
		case "descr":
			if descr, err = p.str(); err != nil {
				return "", false, nil, err
			}
		case "fortran_order":
			switch {
			case p.word("True"):
				fortran = true
			case p.word("False"):
				fortran = false
			default:
				return "", false, nil, fmt.Errorf("fortran_order is not True or False")
			}
		case "shape":
			if shape, err = p.tuple(); err != nil {
				return "", false, nil, err
			}
		default:
			return "", false, nil, fmt.Errorf("unknown key %q", key)
		}
		p.space()
		if !p.eat(',') {
			p.space()
			if !p.eat('}') {
				return "", false, nil, fmt.Errorf("want ',' or '}' after the value of %q", key)
			}
			break
		}
	}
	if p.space(); p.i != len(p.s) {
		return "", false, nil, fmt.Errorf("trailing bytes after the dict")
	}
	if !seen["descr"] || !seen["fortran_order"] || !seen["shape"] {
		return "", false, nil, fmt.Errorf("want the keys descr, fortran_order and shape")
	}
	return descr, fortran, shape, nil
}

type pyLexer struct {
	s string
	i int
}

func (p *pyLexer) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\n' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *pyLexer) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *pyLexer) word(w string) bool {
	if strings.HasPrefix(p.s[p.i:], w) {
		p.i += len(w)
		return true
	}
	return false
}

// str reads a quoted string without escapes.
func (p *pyLexer) str() (string, error) {
	if p.i >= len(p.s) || (p.s[p.i] != '\'' && p.s[p.i] != '"') {
		return "", fmt.Errorf("want a quoted string at byte %d", p.i)
	}
	q := p.s[p.i]
	end := strings.IndexByte(p.s[p.i+1:], q)
	if end < 0 {
		return "", fmt.Errorf("unterminated string at byte %d", p.i)
	}
	v := p.s[p.i+1 : p.i+1+end]
	p.i += end + 2
	return v, nil
}

// tuple reads (d0, d1, …) of non-negative integers; "(3,)" is one element.
func (p *pyLexer) tuple() ([]int, error) {
	if !p.eat('(') {
		return nil, fmt.Errorf("shape is not a tuple")
	}
	shape := []int{}
	for {
		p.space()
		if p.eat(')') {
			return shape, nil
		}
		j := p.i
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		d, err := strconv.Atoi(p.s[j:p.i])
		if err != nil || d > math.MaxInt32 {
			return nil, fmt.Errorf("shape entry %q is not a dimension", p.s[j:p.i])
		}
		if len(shape) == MaxRank {
			return nil, fmt.Errorf("shape has more than %d dimensions", MaxRank)
		}
		shape = append(shape, d)
		p.space()
		if !p.eat(',') {
			p.space()
			if !p.eat(')') {
				return nil, fmt.Errorf("want ',' or ')' in the shape")
			}
			return shape, nil
		}
	}
}

// EncodeNPZ writes ts as an uncompressed .npz of little-endian float32
// arrays (npy format 1.0), names sorted, with zero modification times so
// the same tensors always give the same bytes. Tests use it.
func EncodeNPZ(ts Tensors) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range ts.Names() {
		t := ts[name]
		dims := make([]string, len(t.Shape))
		for i, d := range t.Shape {
			dims[i] = strconv.Itoa(d)
		}
		tuple := "(" + strings.Join(dims, ", ")
		if len(dims) == 1 {
			tuple += ","
		}
		tuple += ")"
		h := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", tuple)
		for (10+len(h)+1)%64 != 0 {
			h += " "
		}
		h += "\n"
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: name + ".npy", Method: zip.Store})
		hdr := append([]byte("\x93NUMPY\x01\x00"), byte(len(h)), byte(len(h)>>8))
		w.Write(hdr)
		w.Write([]byte(h))
		for _, v := range t.Data {
			w.Write(binary.LittleEndian.AppendUint32(nil, math.Float32bits(v)))
		}
	}
	zw.Close()
	return buf.Bytes()
}
