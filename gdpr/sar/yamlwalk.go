package sar

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// The files of this package are read by walking yaml.v3's node tree
// rather than by decoding into structs: every error can then name the
// file, the line and the key path ("crms.shop.purposes[1]"), and an
// unknown key is an error naming the keys allowed where it stands.

// walker reads one YAML file and collects its errors.
type walker struct {
	file string
	errs []string
}

func (w *walker) errorf(n *yaml.Node, path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	if n != nil && n.Line > 0 {
		msg = fmt.Sprintf("%s:%d:%d: %s", w.file, n.Line, n.Column, msg)
	} else {
		msg = w.file + ": " + msg
	}
	w.errs = append(w.errs, msg)
}

// err returns the collected errors as one, nil for none.
func (w *walker) err() error {
	if len(w.errs) == 0 {
		return nil
	}
	return &FileError{Problems: w.errs}
}

// FileError lists every problem found in a file, one a line, each with
// the file, its line and column where known, and the key path.
type FileError struct {
	Problems []string
}

func (e *FileError) Error() string { return strings.Join(e.Problems, "\n") }

// root returns the document's top node, nil for an empty file.
func root(doc *yaml.Node) *yaml.Node {
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil
		}
		return deref(doc.Content[0])
	}
	return deref(doc)
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// pair is one key of a mapping and its value.
type pair struct {
	key   string
	keyN  *yaml.Node
	value *yaml.Node
}

// pairs returns a mapping's keys in order, those brought in by a merge
// key (<<: *defaults) after the explicit ones they do not override; nil
// and an error for a node that is not a mapping.
func (w *walker) pairs(n *yaml.Node, path string) ([]pair, bool) {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		w.errorf(n, path, "want a mapping of keys to values, found %s", kindName(n))
		return nil, false
	}
	var out, merged []pair
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Tag == "!!merge" {
			for _, m := range mergeSources(v) {
				ps, ok := w.pairs(m, path)
				if ok {
					merged = append(merged, ps...)
				}
			}
			continue
		}
		if k.Kind != yaml.ScalarNode {
			w.errorf(k, path, "a key must be a plain name")
			continue
		}
		if seen[k.Value] {
			w.errorf(k, join(path, k.Value), "given twice")
			continue
		}
		seen[k.Value] = true
		out = append(out, pair{k.Value, k, v})
	}
	for _, p := range merged {
		if !seen[p.key] {
			seen[p.key] = true
			out = append(out, p)
		}
	}
	return out, true
}

func mergeSources(v *yaml.Node) []*yaml.Node {
	v = deref(v)
	if v != nil && v.Kind == yaml.SequenceNode {
		return v.Content
	}
	return []*yaml.Node{v}
}

// fields reads a mapping whose keys are fixed: each key's reader is
// called with its value; any other key is an error naming those allowed.
func (w *walker) fields(n *yaml.Node, path string, readers map[string]func(v *yaml.Node, path string)) {
	ps, ok := w.pairs(n, path)
	if !ok {
		return
	}
	for _, p := range ps {
		read, ok := readers[p.key]
		if !ok {
			allowed := make([]string, 0, len(readers))
			for k := range readers {
				allowed = append(allowed, k)
			}
			slices.Sort(allowed)
			w.errorf(p.keyN, join(path, p.key), "unknown key; the keys allowed here are %s", strings.Join(allowed, ", "))
			continue
		}
		read(p.value, join(path, p.key))
	}
}

// str reads a scalar into *dst, trimmed.
func (w *walker) str(dst *string) func(*yaml.Node, string) {
	return func(v *yaml.Node, path string) {
		v = deref(v)
		if v == nil || v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
			if v != nil && v.Tag == "!!null" {
				return // left empty, as if absent: Validate says so
			}
			w.errorf(v, path, "want a text, found %s", kindName(v))
			return
		}
		*dst = strings.TrimSpace(v.Value)
	}
}

// list reads a list of texts, or a single text as a list of one.
func (w *walker) list(dst *[]string) func(*yaml.Node, string) {
	return func(v *yaml.Node, path string) {
		v = deref(v)
		switch {
		case v == nil || v.Tag == "!!null":
		case v.Kind == yaml.ScalarNode:
			if s := strings.TrimSpace(v.Value); s != "" {
				*dst = append(*dst, s)
			}
		case v.Kind == yaml.SequenceNode:
			for i, item := range v.Content {
				item = deref(item)
				if item.Kind != yaml.ScalarNode {
					w.errorf(item, fmt.Sprintf("%s[%d]", path, i+1), "want a text, found %s", kindName(item))
					continue
				}
				if s := strings.TrimSpace(item.Value); s != "" {
					*dst = append(*dst, s)
				}
			}
		default:
			w.errorf(v, path, "want a text or a list of texts, found %s", kindName(v))
		}
	}
}

// strMap reads a mapping of names to texts.
func (w *walker) strMap(dst map[string]string) func(*yaml.Node, string) {
	return func(v *yaml.Node, path string) {
		if deref(v) != nil && deref(v).Tag == "!!null" {
			return
		}
		ps, ok := w.pairs(v, path)
		if !ok {
			return
		}
		for _, p := range ps {
			var s string
			w.str(&s)(p.value, join(path, p.key))
			dst[p.key] = s
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	if strings.ContainsAny(key, ". ") {
		key = fmt.Sprintf("%q", key)
	}
	return path + "." + key
}

func kindName(n *yaml.Node) string {
	switch {
	case n == nil:
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Tag == "!!null":
		return "nothing"
	default:
		return "a text"
	}
}
