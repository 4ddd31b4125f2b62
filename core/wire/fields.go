package wire

import (
	"reflect"
	"strings"
	"sync"
)

// structInfo is how a struct type encodes: its fields in order and by name.
type structInfo struct {
	fields []field
	byName map[string]int
}

type field struct {
	name      string
	index     []int
	omitEmpty bool
}

var structs sync.Map // reflect.Type → *structInfo

// fieldsOf returns the encoded fields of struct type t, as msgpack/v5
// names them: exported fields, named by their msgpack tag (or the Go name
// when the tag gives none), "-" left out, an untagged embedded struct's
// fields in its place.
func fieldsOf(t reflect.Type) *structInfo {
	if s, ok := structs.Load(t); ok {
		return s.(*structInfo)
	}
	s := &structInfo{byName: map[string]int{}}
	collectFields(s, t, nil)
	got, _ := structs.LoadOrStore(t, s)
	return got.(*structInfo)
}

func collectFields(s *structInfo, t reflect.Type, parent []int) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("msgpack")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		index := append(append([]int(nil), parent...), i)
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			collectFields(s, f.Type, index)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := s.byName[name]; dup {
			continue
		}
		s.byName[name] = len(s.fields)
		s.fields = append(s.fields, field{name: name, index: index, omitEmpty: strings.Contains(","+opts+",", ",omitempty,")})
	}
}
