package bus

import (
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/opencommerce/opencommerce/contracts"
)

// checkJSON applies the input rules encoding/json does not: every string
// (keys included) must be valid UTF-8 without NUL (\u0000) and without
// bidirectional override/isolate controls (U+202A–U+202E, U+2066–U+2069);
// no object may repeat a key; and a key of a struct must match a field's
// name exactly (encoding/json matches case-insensitively). t is the type
// decoded into (nil: untyped). Malformed JSON is left to the decoder: the
// check stops there and returns nil.
func checkJSON(data []byte, t reflect.Type) error {
	s := strictScanner{data: data}
	err := s.value(t, "")
	if err == errStop {
		return nil
	}
	return err
}

// errStop: malformed JSON, for the decoder to report.
var errStop = errors.New("malformed JSON")

type strictScanner struct {
	data []byte
	i    int
}

func (s *strictScanner) ws() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

var (
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	rawMessageType  = reflect.TypeFor[json.RawMessage]()
)

// plain dereferences t and reports nil where the check cannot follow the
// type (interfaces, custom unmarshalers, raw messages).
func plain(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t == rawMessageType || t.Kind() == reflect.Interface || reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil
	}
	return t
}

func (s *strictScanner) value(t reflect.Type, field string) error {
	t = plain(t)
	s.ws()
	if s.i >= len(s.data) {
		return errStop
	}
	switch c := s.data[s.i]; {
	case c == '{':
		return s.object(t, field)
	case c == '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		s.i++
		s.ws()
		if s.i < len(s.data) && s.data[s.i] == ']' {
			s.i++
			return nil
		}
		for {
			if err := s.value(elem, field); err != nil {
				return err
			}
			s.ws()
			if s.i >= len(s.data) {
				return errStop
			}
			switch s.data[s.i] {
			case ',':
				s.i++
			case ']':
				s.i++
				return nil
			default:
				return errStop
			}
		}
	case c == '"':
		_, err := s.str(field, false)
		return err
	default:
		// A number, true, false, null (or garbage, for the decoder).
		for s.i < len(s.data) {
			switch s.data[s.i] {
			case ',', ']', '}', ' ', '\t', '\n', '\r':
				return nil
			}
			s.i++
		}
		return nil
	}
}

func (s *strictScanner) object(t reflect.Type, field string) error {
	var fields *structFields
	var elem reflect.Type
	if t != nil {
		switch t.Kind() {
		case reflect.Struct:
			fields = fieldsOf(t)
		case reflect.Map:
			elem = t.Elem()
		}
	}
	s.i++ // '{'
	var small [16]string
	seen := small[:0]
	var many map[string]struct{}
	for n := 0; ; n++ {
		s.ws()
		if s.i >= len(s.data) {
			return errStop
		}
		if n == 0 && s.data[s.i] == '}' {
			s.i++
			return nil
		}
		if s.data[s.i] != '"' {
			return errStop
		}
		key, err := s.str(field, true)
		if err != nil {
			return err
		}
		if many != nil {
			if _, dup := many[key]; dup {
				return duplicate(key)
			}
			many[key] = struct{}{}
		} else {
			for _, k := range seen {
				if k == key {
					return duplicate(key)
				}
			}
			seen = append(seen, key)
			if len(seen) > 64 {
				many = make(map[string]struct{}, 2*len(seen))
				for _, k := range seen {
					many[k] = struct{}{}
				}
			}
		}
		child := elem
		if fields != nil {
			ft, ok := fields.byName[key]
			if !ok {
				for name := range fields.byName { // unordered: any match refuses
					if strings.EqualFold(name, key) {
						return contracts.InvalidArgument(key, "unknown field %q (field names are case-sensitive)", key)
					}
				}
			}
			child = ft
		}
		s.ws()
		if s.i >= len(s.data) || s.data[s.i] != ':' {
			return errStop
		}
		s.i++
		if err := s.value(child, key); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.data) {
			return errStop
		}
		switch s.data[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return errStop
		}
	}
}

func duplicate(key string) error {
	return contracts.InvalidArgument(key, "duplicate key %q", key)
}

// str checks the string at s.i (on its opening quote) and, when want is
// set, returns its decoded value (a key).
func (s *strictScanner) str(field string, want bool) (string, error) {
	start := s.i
	s.i++
	escaped := false
	for s.i < len(s.data) {
		c := s.data[s.i]
		switch {
		case c == '"':
			s.i++
			if !want {
				return "", nil
			}
			raw := s.data[start:s.i]
			if !escaped {
				return string(raw[1 : len(raw)-1]), nil
			}
			v, err := strconv.Unquote(string(raw))
			if err != nil {
				var out string
				if json.Unmarshal(raw, &out) != nil {
					return "", errStop
				}
				return out, nil
			}
			return v, nil
		case c == '\\':
			escaped = true
			if s.i+1 >= len(s.data) {
				return "", errStop
			}
			if s.data[s.i+1] == 'u' {
				if s.i+6 > len(s.data) {
					return "", errStop
				}
				r, err := strconv.ParseUint(string(s.data[s.i+2:s.i+6]), 16, 32)
				if err != nil {
					return "", errStop
				}
				if err := badRune(rune(r), field, want); err != nil {
					return "", err
				}
				s.i += 6
				switch {
				case r >= 0xDC00 && r <= 0xDFFF:
					return "", loneSurrogate(r, field, want)
				case r >= 0xD800 && r <= 0xDBFF:
					// Must be followed by the low half: \uDC00–\uDFFF.
					if s.i+6 > len(s.data) || s.data[s.i] != '\\' || s.data[s.i+1] != 'u' {
						return "", loneSurrogate(r, field, want)
					}
					lo, err := strconv.ParseUint(string(s.data[s.i+2:s.i+6]), 16, 32)
					if err != nil {
						return "", errStop
					}
					if lo < 0xDC00 || lo > 0xDFFF {
						return "", loneSurrogate(r, field, want)
					}
					s.i += 6
				}
				continue
			}
			s.i += 2
		case c < utf8.RuneSelf:
			s.i++
		default:
			r, size := utf8.DecodeRune(s.data[s.i:])
			if r == utf8.RuneError && size == 1 {
				return "", textError(field, want, "is not valid UTF-8")
			}
			if err := badRune(r, field, want); err != nil {
				return "", err
			}
			s.i += size
		}
	}
	return "", errStop
}

// IsBidiControl reports whether r is a bidirectional embedding, override
// or isolate control (U+202A–U+202E, U+2066–U+2069): characters that make
// text display in another order than it is stored.
func IsBidiControl(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}

func badRune(r rune, field string, key bool) error {
	switch {
	case r == 0:
		return textError(field, key, "contains a NUL character (\\u0000)")
	case IsBidiControl(r):
		return textError(field, key, "contains the bidirectional control character U+"+strconv.FormatInt(int64(r), 16))
	}
	return nil
}

func loneSurrogate(r uint64, field string, key bool) error {
	return textError(field, key, "holds a lone UTF-16 surrogate (\\u"+strconv.FormatUint(r, 16)+"), which is not text")
}

func textError(field string, key bool, what string) error {
	switch {
	case key:
		return contracts.InvalidArgument(field, "a key in the request body %s", what)
	case field == "":
		return contracts.InvalidArgument("", "a string in the request body %s", what)
	}
	return contracts.InvalidArgument(field, "field %q %s", field, what)
}

type structFields struct {
	byName map[string]reflect.Type
}

var fieldCache sync.Map // reflect.Type → *structFields

func fieldsOf(t reflect.Type) *structFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*structFields)
	}
	f := &structFields{byName: map[string]reflect.Type{}}
	addFields(f, t, 0)
	fieldCache.Store(t, f)
	return f
}

func addFields(f *structFields, t reflect.Type, depth int) {
	if depth > 8 {
		return
	}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if sf.Anonymous && name == "" {
			et := sf.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				addFields(f, et, depth+1)
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		if _, ok := f.byName[name]; !ok || depth == 0 {
			f.byName[name] = sf.Type
		}
	}
}
