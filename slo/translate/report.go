package translate

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/slogate/slogate/slo"
)

// report collects what could not be translated, located in the sources by
// file, line and field as slo.Problem renders them.
type report struct {
	problems slo.Problems
	// order is each file's position among the inputs, so that the report
	// reads file by file in the order given, top to bottom within a file.
	order map[string]int
}

// problem records something whose meaning is lost: the output would not
// do what the source says.
func (r *report) problem(file string, line int, field, format string, args ...any) {
	r.problems = append(r.problems, slo.Problem{File: file, Line: line, Field: field,
		Message: "cannot translate: " + fmt.Sprintf(format, args...)})
}

// warn records something left out that does not change what is measured
// or who is alerted, such as display names and labels.
func (r *report) warn(file string, line int, field, format string, args ...any) {
	r.problems = append(r.problems, slo.Problem{File: file, Line: line, Field: field,
		Message: "not kept: " + fmt.Sprintf(format, args...), Warning: true})
}

func (r *report) sorted() slo.Problems {
	slices.SortStableFunc(r.problems, func(a, b slo.Problem) int {
		return cmp.Or(cmp.Compare(r.order[a.File], r.order[b.File]), cmp.Compare(a.Line, b.Line))
	})
	return r.problems
}

// source is one input file being read.
type source struct {
	file string
	rep  *report
	// format names the source format in messages about unknown fields.
	format string
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): `)

// documents decodes every YAML document in data, reporting a syntax error
// with its line. Empty documents are skipped.
func (s *source) documents(data []byte) (docs []*yaml.Node) {
	defer func() {
		// yaml.v3 has panicked on malformed input before.
		if r := recover(); r != nil {
			s.rep.problem(s.file, 0, "", "cannot parse YAML: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			line := 0
			msg := err.Error()
			if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
				line, _ = strconv.Atoi(m[1])
				msg = msg[len(m[0]):]
			}
			s.rep.problem(s.file, line, "", "cannot parse YAML: %s", strings.TrimPrefix(msg, "yaml: "))
			return docs
		}
		if len(doc.Content) == 0 {
			continue
		}
		if c := deref(doc.Content[0]); c == nil || c.Kind == yaml.ScalarNode && c.Tag == "!!null" {
			continue
		}
		docs = append(docs, doc.Content[0])
	}
}

// deref follows an alias to its anchored node.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 64; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// mapping is a YAML mapping in a source, with its field path for the
// report. It remembers which keys were read so that rest can report the
// others: nothing in a source is dropped without a word.
type mapping struct {
	src  *source
	n    *yaml.Node
	path string
	line int
	seen map[string]bool
}

// mappingAt returns n as a mapping at path, or nil, reporting a value that
// is not a mapping. A null value is taken as absent.
func (s *source) mappingAt(n *yaml.Node, path string, line int) *mapping {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		s.rep.problem(s.file, line, path, "must be a mapping")
		return nil
	}
	return &mapping{src: s, n: n, path: path, line: line, seen: map[string]bool{}}
}

// join appends a key or index to a field path the way slo.Problem fields
// are written.
func join(path, key string) string {
	switch {
	case path == "":
		return key
	case strings.HasPrefix(key, "["):
		return path + key
	}
	return path + "." + key
}

func index(path string, i int) string { return join(path, "["+strconv.Itoa(i)+"]") }

// lookup finds the first of keys (alternative spellings of one field) and
// marks it read. It returns the key as written, its line and its value.
func (m *mapping) lookup(keys ...string) (key string, line int, v *yaml.Node) {
	for i := 0; i+1 < len(m.n.Content); i += 2 {
		k := m.n.Content[i]
		if slices.Contains(keys, k.Value) {
			m.seen[k.Value] = true
			return k.Value, k.Line, deref(m.n.Content[i+1])
		}
	}
	return "", 0, nil
}

// has reports whether one of keys is set to something other than null.
func (m *mapping) has(keys ...string) bool {
	for i := 0; i+1 < len(m.n.Content); i += 2 {
		if slices.Contains(keys, m.n.Content[i].Value) && !isNull(m.n.Content[i+1]) {
			return true
		}
	}
	return false
}

// missing reports whether a list field is absent, null or empty: a value
// of another kind is reported by list.
func (m *mapping) missing(key string) bool {
	_, _, v := m.lookup(key)
	return isNull(v) || v.Kind == yaml.SequenceNode && len(v.Content) == 0
}

// field returns the path of key in m.
func (m *mapping) field(key string) string { return join(m.path, key) }

// lineOf returns the line of key, or of m when key is not set.
func (m *mapping) lineOf(keys ...string) int {
	for i := 0; i+1 < len(m.n.Content); i += 2 {
		if slices.Contains(keys, m.n.Content[i].Value) {
			return m.n.Content[i].Line
		}
	}
	return m.line
}

// str returns a string field; ok is false when it is absent, null or not
// a scalar (which is reported).
func (m *mapping) str(keys ...string) (s string, line int, ok bool) {
	key, line, v := m.lookup(keys...)
	if isNull(v) {
		return "", line, false
	}
	if v.Kind != yaml.ScalarNode {
		m.src.rep.problem(m.src.file, line, m.field(key), "must be a string")
		return "", line, false
	}
	return v.Value, line, true
}

// num returns a number field; ok is false when it is absent, null or not
// a number (which is reported).
func (m *mapping) num(keys ...string) (f float64, line int, ok bool) {
	key, line, v := m.lookup(keys...)
	if isNull(v) {
		return 0, line, false
	}
	if v.Kind == yaml.ScalarNode {
		if f, err := strconv.ParseFloat(strings.TrimSpace(v.Value), 64); err == nil {
			return f, line, true
		}
	}
	m.src.rep.problem(m.src.file, line, m.field(key), "must be a number, got %s", describe(v))
	return 0, line, false
}

// boolean returns a boolean field; ok is false when it is absent, null or
// not a boolean (which is reported).
func (m *mapping) boolean(keys ...string) (b bool, line int, ok bool) {
	key, line, v := m.lookup(keys...)
	if isNull(v) {
		return false, line, false
	}
	if v.Kind == yaml.ScalarNode {
		if err := v.Decode(&b); err == nil {
			return b, line, true
		}
	}
	m.src.rep.problem(m.src.file, line, m.field(key), "must be true or false, got %s", describe(v))
	return false, line, false
}

// sub returns a mapping field, or nil when it is absent, null or not a
// mapping (which is reported).
func (m *mapping) sub(keys ...string) *mapping {
	key, line, v := m.lookup(keys...)
	if v == nil {
		return nil
	}
	return m.src.mappingAt(v, m.field(key), line)
}

// item is one entry of a list field.
type item struct {
	n    *yaml.Node
	path string
	line int
}

// list returns the entries of a list field; nil when it is absent, null or
// not a list (which is reported).
func (m *mapping) list(keys ...string) []item {
	key, line, v := m.lookup(keys...)
	if isNull(v) {
		return nil
	}
	if v.Kind != yaml.SequenceNode {
		m.src.rep.problem(m.src.file, line, m.field(key), "must be a list")
		return nil
	}
	items := make([]item, len(v.Content))
	for i, c := range v.Content {
		items[i] = item{n: deref(c), path: index(m.field(key), i), line: c.Line}
	}
	return items
}

// entry is one key of a string map such as labels or annotations.
type entry struct {
	key, value string
	// values holds a list value (OpenSLO labels may be lists of strings);
	// value is then empty.
	values []string
	line   int
	field  string
}

// entries returns the keys of a map of strings in file order, reporting
// values that are neither strings nor lists of strings.
func (m *mapping) entries(keys ...string) []entry {
	key, line, v := m.lookup(keys...)
	if isNull(v) {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		m.src.rep.problem(m.src.file, line, m.field(key), "must be a mapping of names to strings")
		return nil
	}
	var out []entry
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], deref(v.Content[i+1])
		e := entry{key: k.Value, line: k.Line, field: join(m.field(key), fieldKey(k.Value))}
		switch {
		case val.Kind == yaml.ScalarNode:
			e.value = val.Value
		case val.Kind == yaml.SequenceNode && scalars(val):
			for _, c := range val.Content {
				e.values = append(e.values, deref(c).Value)
			}
		default:
			m.src.rep.problem(m.src.file, k.Line, e.field, "must be a string, got %s", describe(val))
			continue
		}
		out = append(out, e)
	}
	return out
}

func scalars(n *yaml.Node) bool {
	for _, c := range n.Content {
		if deref(c).Kind != yaml.ScalarNode {
			return false
		}
	}
	return true
}

// fieldKey writes a map key into a field path, quoted when it is not a
// plain word (annotation keys such as example.com/runbook have dots).
func fieldKey(k string) string {
	for _, c := range k {
		if !(c == '_' || c == '-' || c == '/' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return "[" + strconv.Quote(k) + "]"
		}
	}
	if k == "" {
		return `[""]`
	}
	return k
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return strconv.Quote(n.Value)
}

// problem reports a field of m whose meaning is lost.
func (m *mapping) problem(key, format string, args ...any) {
	m.src.rep.problem(m.src.file, m.lineOf(key), m.field(key), format, args...)
}

// warn reports a field of m that is left out.
func (m *mapping) warn(key, format string, args ...any) {
	m.src.rep.warn(m.src.file, m.lineOf(key), m.field(key), format, args...)
}

// drop marks the keys as read and, when one is set, reports it as a
// problem: a field that slogate has no equivalent for.
func (m *mapping) drop(key, format string, args ...any) {
	if m.has(key) {
		m.problem(key, format, args...)
	}
	m.seen[key] = true
}

// omit marks the key as read and, when it is set, reports it as left out.
func (m *mapping) omit(key, format string, args ...any) {
	if m.has(key) {
		m.warn(key, format, args...)
	}
	m.seen[key] = true
}

// skip marks keys as read without a word: fields that only identify an
// object, or a whole object already reported.
func (m *mapping) skip(keys ...string) {
	for _, k := range keys {
		m.seen[k] = true
	}
}

// skipAll marks every key as read.
func (m *mapping) skipAll() {
	for i := 0; i+1 < len(m.n.Content); i += 2 {
		m.seen[m.n.Content[i].Value] = true
	}
}

// rest reports every key that was not read: it is not a field of the
// source format, so its meaning is unknown.
func (m *mapping) rest() {
	for i := 0; i+1 < len(m.n.Content); i += 2 {
		k := m.n.Content[i]
		if !m.seen[k.Value] {
			m.seen[k.Value] = true
			m.src.rep.problem(m.src.file, k.Line, m.field(fieldKey(k.Value)), "unknown field: not part of %s", m.src.format)
		}
	}
}
