package slo

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Problem is one thing wrong in a spec or config file, located by file, line
// and field path (e.g. "slos[1].sli.ratio.good").
type Problem struct {
	// File is the path as given to the loader; empty for values built in
	// code.
	File string
	// Line is the 1-based line in File; 0 when the problem concerns the
	// whole file.
	Line int
	// Field is the path of the field in the YAML document; empty when the
	// problem concerns the whole document.
	Field string
	// Message says what is wrong and what was expected.
	Message string
	// Warning marks something that works but is likely a mistake or a gap,
	// such as a service without a runbook. Warnings never make loading
	// fail.
	Warning bool
}

// String renders p as FILE:LINE: FIELD: MESSAGE, or FILE:LINE: FIELD:
// warning: MESSAGE for a warning, leaving out the parts that are unknown.
func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(p.Line))
		}
		b.WriteString(": ")
	}
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	if p.Warning {
		b.WriteString("warning: ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Problems is every problem found while loading, in file order. It is the
// error the loaders return, so callers can list each problem on its own.
// When loading fails it holds the warnings too, in their places, so that
// everything about a file is listed at once.
type Problems []Problem

// Count returns how many of ps are problems and how many are warnings.
func (ps Problems) Count() (problems, warnings int) {
	for _, p := range ps {
		if p.Warning {
			warnings++
		} else {
			problems++
		}
	}
	return problems, warnings
}

// failed reports whether ps holds a problem that is not a warning.
func (ps Problems) failed() bool {
	n, _ := ps.Count()
	return n > 0
}

// Error renders one problem per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// err returns ps as an error, or nil when it holds nothing but warnings; a
// nil Problems in an error interface would not compare equal to nil.
func (ps Problems) err() error {
	if !ps.failed() {
		return nil
	}
	return ps
}

// reporter collects problems for one file, resolving field paths to lines in
// the file's YAML node tree. A reporter without a tree (values built in code)
// reports line 0.
type reporter struct {
	file     string
	root     *yaml.Node
	problems Problems
}

// add records a problem at a field path.
func (r *reporter) add(field, format string, args ...any) {
	r.problems = append(r.problems, Problem{
		File:    r.file,
		Line:    lineOf(r.root, field),
		Field:   field,
		Message: fmt.Sprintf(format, args...),
	})
}

// warn records a warning at a field path. near locates it when the field
// is not in the file (a warning about a missing field): the line of the
// field at path near, rather than of the field's nearest parent.
func (r *reporter) warn(field, near, format string, args ...any) {
	line := lineOf(r.root, field)
	if near != "" && lookup(r.root, field) == nil {
		line = lineOf(r.root, near)
	}
	r.problems = append(r.problems, Problem{
		File:    r.file,
		Line:    line,
		Field:   field,
		Message: fmt.Sprintf(format, args...),
		Warning: true,
	})
}

// sorted returns the problems and warnings in line order, so they read top
// to bottom like the file; those at the same line keep the order they were
// found.
func (r *reporter) sorted() Problems {
	slices.SortStableFunc(r.problems, func(a, b Problem) int { return cmp.Compare(a.Line, b.Line) })
	return r.problems
}

// field joins a parent path and a key the way lineOf parses it back.
func field(parent, key string) string {
	if !plainKey(key) {
		key = "[" + strconv.Quote(key) + "]"
		if parent == "" {
			return key
		}
		return parent + key
	}
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// index joins a parent path and a list index.
func index(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}

func plainKey(k string) bool {
	if k == "" {
		return false
	}
	for _, c := range k {
		if !(c == '_' || c == '-' || c == '/' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// pathSegment is one step of a field path: a mapping key or a list index.
type pathSegment struct {
	key   string
	index int // -1 for keys
}

// parsePath splits "slos[1].sli.ratio.good" or `labels["a.b"]` into
// segments. It is lenient: whatever it cannot parse ends the path.
func parsePath(p string) []pathSegment {
	var segs []pathSegment
	for len(p) > 0 {
		switch p[0] {
		case '.':
			p = p[1:]
		case '[':
			end := strings.IndexByte(p, ']')
			if end < 0 {
				return segs
			}
			inner := p[1:end]
			if strings.HasPrefix(inner, `"`) {
				// A quoted key may contain ']': find its closing quote.
				q, err := strconv.QuotedPrefix(p[1:])
				if err != nil {
					return segs
				}
				k, _ := strconv.Unquote(q)
				segs = append(segs, pathSegment{key: k, index: -1})
				p = p[1+len(q):]
				if !strings.HasPrefix(p, "]") {
					return segs
				}
				p = p[1:]
				continue
			}
			i, err := strconv.Atoi(inner)
			if err != nil {
				return segs
			}
			segs = append(segs, pathSegment{index: i})
			p = p[end+1:]
		default:
			end := strings.IndexAny(p, ".[")
			if end < 0 {
				end = len(p)
			}
			segs = append(segs, pathSegment{key: p[:end], index: -1})
			p = p[end:]
		}
	}
	return segs
}

// lineOf returns the line of the key or list item at path, or of its nearest
// existing parent when the field is missing; 0 without a tree.
func lineOf(root *yaml.Node, path string) int {
	n := docContent(root)
	if n == nil {
		return 0
	}
	line := n.Line
	for _, seg := range parsePath(path) {
		n = deref(n)
		if seg.index >= 0 {
			if n.Kind != yaml.SequenceNode || seg.index >= len(n.Content) {
				return line
			}
			n = n.Content[seg.index]
			line = n.Line
			continue
		}
		k, v := lookupKey(n, seg.key)
		if k == nil {
			return line
		}
		line, n = k.Line, v
	}
	return line
}

// lookup returns the value node at path, or nil when it is not in the file.
func lookup(root *yaml.Node, path string) *yaml.Node {
	n := docContent(root)
	for _, seg := range parsePath(path) {
		if n == nil {
			return nil
		}
		n = deref(n)
		if seg.index >= 0 {
			if n.Kind != yaml.SequenceNode || seg.index >= len(n.Content) {
				return nil
			}
			n = n.Content[seg.index]
			continue
		}
		_, n = lookupKey(n, seg.key)
	}
	return n
}

// lookupKey finds key in a mapping node, following merge keys.
func lookupKey(n *yaml.Node, key string) (k, v *yaml.Node) {
	return lookupKeyDepth(n, key, 0)
}

func lookupKeyDepth(n *yaml.Node, key string, depth int) (k, v *yaml.Node) {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode || depth > maxDepth {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Kind == yaml.ScalarNode && n.Content[i].Value == key {
			return n.Content[i], n.Content[i+1]
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if isMergeKey(n.Content[i]) {
			for _, m := range mergeSources(n.Content[i+1]) {
				if k, v := lookupKeyDepth(m, key, depth+1); k != nil {
					return k, v
				}
			}
		}
	}
	return nil, nil
}

func docContent(root *yaml.Node) *yaml.Node {
	if root == nil {
		return nil
	}
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil
		}
		return root.Content[0]
	}
	return root
}

// deref follows an alias to its anchored node. Alias chains cannot loop: an
// alias always names an anchor defined before it.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && (k.Tag == "" || k.Tag == "!!merge" || k.Tag == "tag:yaml.org,2002:merge")
}

// mergeSources returns the mappings a merge key's value names: one mapping
// or a list of them.
func mergeSources(v *yaml.Node) []*yaml.Node {
	v = deref(v)
	if v == nil {
		return nil
	}
	if v.Kind == yaml.SequenceNode {
		out := make([]*yaml.Node, 0, len(v.Content))
		for _, c := range v.Content {
			out = append(out, deref(c))
		}
		return out
	}
	return []*yaml.Node{v}
}
