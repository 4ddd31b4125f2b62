package wire

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
)

// structInfo is how a struct type encodes: its fields in order and by name,
// or why the codec cannot encode it.
type structInfo struct {
	fields []field
	byName map[string]int
	err    error
}

type field struct {
	name      string
	index     []int
	depth     int // how many embedded structs deep
	omitEmpty bool
}

var structs sync.Map // reflect.Type → *structInfo

// fieldsOf returns the encoded fields of struct type t: exported fields,
// named by their msgpack tag (or the Go name when the tag gives none), "-"
// left out, and an untagged embedded struct's fields in its place, where a
// field of the outer struct hides an embedded one of the same name (Go's
// rule). What no type of ours uses is refused rather than guessed at: an
// embedded pointer or tagged embedded struct (msgpack/v5 flattens those
// too), and two fields of one name at the same depth.
func fieldsOf(t reflect.Type) *structInfo {
	if s, ok := structs.Load(t); ok {
		return s.(*structInfo)
	}
	var all []field
	var err error
	collectFields(&all, &err, t, nil)
	s := &structInfo{byName: map[string]int{}, err: err}
	for _, f := range all {
		i, dup := s.byName[f.name]
		switch {
		case !dup:
			s.byName[f.name] = len(s.fields)
			s.fields = append(s.fields, f)
		case f.depth < s.fields[i].depth:
			s.fields[i] = f
		case f.depth == s.fields[i].depth && s.err == nil:
			s.err = fmt.Errorf("msgpack: %s has two fields named %q", t, f.name)
		}
	}
	got, _ := structs.LoadOrStore(t, s)
	return got.(*structInfo)
}

func collectFields(all *[]field, err *error, t reflect.Type, parent []int) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("msgpack"), ",")
		if name == "-" {
			continue
		}
		index := append(append([]int(nil), parent...), i)
		if f.Anonymous {
			if name == "" && f.Type.Kind() == reflect.Struct {
				collectFields(all, err, f.Type, index)
				continue
			}
			if f.Type.Kind() == reflect.Pointer || f.Type.Kind() == reflect.Struct {
				if *err == nil {
					*err = fmt.Errorf("msgpack: embedded field %s of %s is not supported", f.Name, t)
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		*all = append(*all, field{name: name, index: index, depth: len(parent),
			omitEmpty: strings.Contains(","+opts+",", ",omitempty,")})
	}
}
