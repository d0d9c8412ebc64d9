package slo

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// Limits that keep hostile or accidental YAML (deep nesting, alias bombs)
// from making the schema check slow.
const (
	maxDepth = 64
	maxNodes = 200_000
)

// decodeStrict decodes one YAML document from data into out, which must be a
// pointer to a struct. It reports every unknown field, duplicate key and
// value of the wrong type with its line, not just the first: a schema check
// walks the node tree against out's type before the real decode. It returns
// the document's node tree for locating later validation problems, or nil
// when data is not valid YAML.
//
// Custom UnmarshalYAML(*yaml.Node) methods would lose yaml.v3's
// KnownFields strictness, so the spec types have none; the v2-style
// unmarshalers in prometheus/common (durations, HTTP client config) keep it.
func decodeStrict(file string, data []byte, out any, what string) (root *yaml.Node, problems Problems) {
	defer func() {
		// yaml.v3 has panicked on malformed input before; a bad file must
		// never take down the server, so report it as a problem instead.
		if r := recover(); r != nil {
			root = nil
			problems = append(problems, Problem{File: file, Message: fmt.Sprintf("cannot parse YAML: %v", r)})
		}
	}()

	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, Problems{{File: file, Message: "file is empty; want " + what}}
		}
		return nil, Problems{syntaxProblem(file, err)}
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, Problems{syntaxProblem(file, err)}
	default:
		line := extra.Line
		if c := docContent(&extra); c != nil {
			line = c.Line
		}
		problems = append(problems, Problem{File: file, Line: line,
			Message: "found a second YAML document; put one per file"})
	}
	if c := docContent(&doc); c == nil || c.Kind == yaml.ScalarNode && c.Tag == "!!null" {
		return nil, append(problems, Problem{File: file, Message: "file is empty; want " + what})
	}

	c := &schemaChecker{r: reporter{file: file, root: &doc}, expanding: map[*yaml.Node]bool{}}
	c.check(docContent(&doc), reflect.TypeOf(out).Elem(), "", 0)
	problems = append(problems, c.r.problems...)
	if len(problems) > 0 {
		return &doc, problems
	}

	// The schema check passed, so this decode should too; if it does not,
	// report what yaml.v3 says rather than lose it.
	dec = yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, msg := range te.Errors {
				line, rest := splitLine(msg)
				problems = append(problems, Problem{File: file, Line: line, Message: rest})
			}
		} else {
			problems = append(problems, Problem{File: file, Message: err.Error()})
		}
	}
	return &doc, problems
}

var yamlLineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// splitLine takes "line 3: msg" (as yaml.v3 words errors) apart.
func splitLine(msg string) (int, string) {
	m := yamlLineRE.FindStringSubmatch(msg)
	if m == nil {
		return 0, strings.TrimPrefix(msg, "yaml: ")
	}
	n, _ := strconv.Atoi(m[1])
	return n, m[2]
}

func syntaxProblem(file string, err error) Problem {
	line, msg := splitLine(err.Error())
	return Problem{File: file, Line: line, Message: "invalid YAML: " + msg}
}

type obsoleteUnmarshaler interface {
	UnmarshalYAML(unmarshal func(any) error) error
}

var (
	obsoleteUnmarshalerType = reflect.TypeFor[obsoleteUnmarshaler]()
	nodeUnmarshalerType     = reflect.TypeFor[yaml.Unmarshaler]()
	textUnmarshalerType     = reflect.TypeFor[encoding.TextUnmarshaler]()
	timeType                = reflect.TypeFor[time.Time]()
	durationType            = reflect.TypeFor[time.Duration]()
	modelDurationType       = reflect.TypeFor[model.Duration]()
)

// schemaChecker walks a YAML node tree alongside the Go type it will be
// decoded into and reports every mismatch at its field path.
type schemaChecker struct {
	r         reporter
	nodes     int
	expanding map[*yaml.Node]bool
	stopped   bool
}

func (c *schemaChecker) check(n *yaml.Node, t reflect.Type, path string, depth int) {
	if c.stopped {
		return
	}
	c.nodes++
	if c.nodes > maxNodes || depth > maxDepth {
		c.r.add(path, "document is too large or too deeply nested")
		c.stopped = true
		return
	}
	if n.Kind == yaml.AliasNode {
		if c.expanding[n] {
			c.r.add(path, "alias *%s refers to a node that contains it", n.Value)
			return
		}
		c.expanding[n] = true
		c.check(n.Alias, t, path, depth+1)
		delete(c.expanding, n)
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // decodes to the zero value; validation decides if that is allowed
	}

	pt := reflect.PointerTo(t)
	custom := pt.Implements(obsoleteUnmarshalerType) || pt.Implements(nodeUnmarshalerType) ||
		t != timeType && pt.Implements(textUnmarshalerType)
	if custom || t == timeType {
		before := len(c.r.problems)
		if t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode && t != timeType {
			c.fields(n, t, path, depth)
		}
		if len(c.r.problems) == before {
			if err := n.Decode(reflect.New(t).Interface()); err != nil {
				c.r.add(path, "%s", c.valueMessage(n, t, err))
			}
		}
		return
	}

	switch t.Kind() {
	case reflect.Pointer:
		c.check(n, t.Elem(), path, depth+1)
	case reflect.Struct:
		if c.wantKind(n, yaml.MappingNode, path) {
			c.fields(n, t, path, depth)
		}
	case reflect.Slice, reflect.Array:
		if c.wantKind(n, yaml.SequenceNode, path) {
			for i, e := range n.Content {
				c.check(e, t.Elem(), index(path, i), depth+1)
			}
		}
	case reflect.Map:
		if c.wantKind(n, yaml.MappingNode, path) {
			c.mapEntries(n, t, path, depth)
		}
	case reflect.Interface:
		// Anything decodes into an interface.
	default:
		if c.wantKind(n, yaml.ScalarNode, path) {
			if err := n.Decode(reflect.New(t).Interface()); err != nil {
				c.r.add(path, "%s", c.valueMessage(n, t, err))
			}
		}
	}
}

// wantKind reports a value of the wrong shape (a list where a mapping
// belongs, and so on).
func (c *schemaChecker) wantKind(n *yaml.Node, want yaml.Kind, path string) bool {
	if n.Kind == want {
		return true
	}
	c.r.add(path, "must be %s, got %s", kindName(want), describe(n))
	return false
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "a mapping (key: value lines)"
	case yaml.SequenceNode:
		return "a list"
	default:
		return "a single value"
	}
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	default:
		return strconv.Quote(n.Value)
	}
}

// valueMessage words a failed scalar decode for a person.
func (c *schemaChecker) valueMessage(n *yaml.Node, t reflect.Type, err error) string {
	got := describe(n)
	switch {
	case t == timeType:
		return "must be a timestamp such as 2026-06-01T02:00:00Z, got " + got
	case t == durationType || t == modelDurationType:
		return "must be a duration such as 30s, 5m or 1d, got " + got
	}
	pt := reflect.PointerTo(t)
	custom := pt.Implements(obsoleteUnmarshalerType) || pt.Implements(nodeUnmarshalerType) || pt.Implements(textUnmarshalerType)
	switch k := t.Kind(); {
	case custom:
	case k == reflect.Float32 || k == reflect.Float64:
		return "must be a number, got " + got
	case k >= reflect.Int && k <= reflect.Uint64:
		return "must be a whole number, got " + got
	case k == reflect.Bool:
		return "must be true or false, got " + got
	case k == reflect.String:
		return "must be a string, got " + got
	}
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		_, msg := splitLine(te.Errors[0])
		return msg
	}
	return err.Error()
}

// fields checks a mapping against a struct's yaml fields.
func (c *schemaChecker) fields(n *yaml.Node, t reflect.Type, path string, depth int) {
	info := structFields(t)
	seen := map[string]int{}
	c.fieldsInto(n, t, info, path, depth, seen, true)
}

func (c *schemaChecker) fieldsInto(n *yaml.Node, t reflect.Type, info *fieldInfo, path string, depth int, seen map[string]int, top bool) {
	c.nodes++
	if c.stopped || c.nodes > maxNodes || depth > maxDepth {
		if !c.stopped {
			c.r.add(path, "document is too large or too deeply nested")
			c.stopped = true
		}
		return
	}
	// Keys written in the mapping win over merged ones, as in yaml.v3, so
	// check them first and merges after.
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if isMergeKey(k) {
			merges = append(merges, v)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			c.r.add(path, "keys must be plain names, got %s", describe(k))
			continue
		}
		name := k.Value
		if first, dup := seen[name]; dup {
			if top {
				c.r.problems = append(c.r.problems, Problem{File: c.r.file, Line: k.Line, Field: field(path, name),
					Message: fmt.Sprintf("set twice (first at line %d)", first)})
			}
			continue
		}
		seen[name] = k.Line
		ft, ok := info.byName[name]
		if !ok {
			if info.inlineMap != nil {
				c.check(v, info.inlineMap.Elem(), field(path, name), depth+1)
				continue
			}
			c.r.problems = append(c.r.problems, Problem{File: c.r.file, Line: k.Line, Field: field(path, name),
				Message: unknownFieldMessage(name, info.names)})
			continue
		}
		c.check(v, ft, field(path, name), depth+1)
	}
	for _, v := range merges {
		for _, m := range mergeSources(v) {
			if m == nil || m.Kind != yaml.MappingNode || depth > maxDepth {
				c.r.add(path, "merge key << must name a mapping")
				continue
			}
			c.fieldsInto(m, t, info, path, depth+1, seen, false)
		}
	}
}

func (c *schemaChecker) mapEntries(n *yaml.Node, t reflect.Type, path string, depth int) {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			c.r.add(path, "keys must be plain names, got %s", describe(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			c.r.problems = append(c.r.problems, Problem{File: c.r.file, Line: k.Line, Field: field(path, k.Value),
				Message: fmt.Sprintf("set twice (first at line %d)", first)})
			continue
		}
		seen[k.Value] = k.Line
		if t.Key().Kind() != reflect.String {
			if err := k.Decode(reflect.New(t.Key()).Interface()); err != nil {
				c.r.add(field(path, k.Value), "invalid key: %s", c.valueMessage(k, t.Key(), err))
				continue
			}
		}
		c.check(v, t.Elem(), field(path, k.Value), depth+1)
	}
}

func unknownFieldMessage(name string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		d := editDistance(strings.ToLower(name), strings.ToLower(k))
		if d < bestDist {
			best, bestDist = k, d
		}
	}
	if best != "" {
		return fmt.Sprintf("unknown field; did you mean %q?", best)
	}
	if len(known) <= 12 {
		return "unknown field; want one of " + strings.Join(known, ", ")
	}
	return "unknown field"
}

// fieldInfo is a struct's YAML keys, with inline structs flattened.
type fieldInfo struct {
	byName    map[string]reflect.Type
	names     []string
	inlineMap reflect.Type // type of an ",inline" map field, if any
}

var fieldInfoCache sync.Map // reflect.Type → *fieldInfo

func structFields(t reflect.Type) *fieldInfo {
	if fi, ok := fieldInfoCache.Load(t); ok {
		return fi.(*fieldInfo)
	}
	fi := &fieldInfo{byName: map[string]reflect.Type{}}
	collectFields(t, fi, 0)
	slices.Sort(fi.names)
	fieldInfoCache.Store(t, fi)
	return fi
}

func collectFields(t reflect.Type, fi *fieldInfo, depth int) {
	if depth > 8 {
		return
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() && !f.Anonymous {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if slices.Contains(strings.Split(opts, ","), "inline") {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			switch ft.Kind() {
			case reflect.Struct:
				collectFields(ft, fi, depth+1)
			case reflect.Map:
				fi.inlineMap = ft
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name) // yaml.v3's default key
		}
		fi.byName[name] = f.Type
		fi.names = append(fi.names, name)
	}
}
