package mappings

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"crmsync/pipeline"

	"gopkg.in/yaml.v3"
)

// lookupTable maps keys to values, loaded once at Load.
type lookupTable struct {
	name       string
	ignoreCase bool
	values     map[string]string
}

func (t *lookupTable) get(key string) (string, bool) {
	if t.ignoreCase {
		var buf [64]byte
		if k, ok := lowerASCII(key, &buf); ok {
			v, ok := t.values[string(k)]
			return v, ok
		}
		key = strings.ToLower(key)
	}
	v, ok := t.values[key]
	return v, ok
}

func (t *lookupTable) normKey(k string) string {
	k = strings.TrimSpace(k)
	if t.ignoreCase {
		k = strings.ToLower(k)
	}
	return k
}

func (m *Mapping) lookupNames() []string {
	names := make([]string, 0, len(m.lookups))
	for n := range m.lookups {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// maxLookupFile bounds what a lookup file may hold: tables are read
// whole into memory, where a table of short rows takes about 8 times its
// size, and a lookup is meant for teammates or code lists, not for a
// second data source.
const maxLookupFile = 16 << 20

// loadLookup reads one entry of the lookups section:
//
//	teammates:
//	  file: teammates.csv   # relative to the mapping file
//	  key: email            # column matched
//	  value: id             # column returned
//	  ignore_case: true     # optional
//	  delimiter: ";"        # optional, default ","
//
// or, for a short list kept in the mapping itself:
//
//	categories:
//	  values: {Customer: customer, Lead: lead}
func (l *loader) loadLookup(nameNode, n *yaml.Node) *lookupTable {
	t := &lookupTable{name: nameNode.Value, values: map[string]string{}}
	if isReference(t.name) {
		l.errs.add(nameNode.Line, nameNode.Column, "lookup %q: a name with \":\" is a table read from the target, such as %s:teammates, and is not declared here; name your own table without \":\"", t.name, l.m.schema.API)
		return nil
	}
	if n.Kind != yaml.MappingNode {
		l.errs.add(n.Line, n.Column, "lookup %q: expected file, key and value (or values)", t.name)
		return nil
	}
	var file, keyCol, valCol, values, delim *yaml.Node
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		if seen[k.Value] {
			l.errs.add(k.Line, k.Column, "lookup %q: %s is given twice", t.name, k.Value)
			continue
		}
		seen[k.Value] = true
		switch k.Value {
		case "file":
			file = v
		case "key":
			keyCol = v
		case "value":
			valCol = v
		case "values":
			values = v
		case "delimiter":
			delim = v
		case "ignore_case":
			var b bool
			if v.Kind != yaml.ScalarNode || v.Decode(&b) != nil {
				l.errs.add(v.Line, v.Column, "lookup %q: ignore_case must be true or false", t.name)
			}
			t.ignoreCase = b
		default:
			l.errs.add(k.Line, k.Column, "lookup %q: unknown setting %q%s", t.name, k.Value,
				didYouMean(k.Value, []string{"file", "key", "value", "values", "ignore_case", "delimiter"}))
		}
	}
	for _, s := range []*yaml.Node{file, keyCol, valCol, delim} {
		if s != nil && (s.Kind != yaml.ScalarNode || s.Value == "") {
			l.errs.add(s.Line, s.Column, "lookup %q: expected a name here", t.name)
			return nil
		}
	}
	switch {
	case values != nil && file != nil:
		l.errs.add(values.Line, values.Column, "lookup %q: give either file or values, not both", t.name)
		return nil
	case values != nil:
		if keyCol != nil || valCol != nil || delim != nil {
			l.errs.add(n.Line, n.Column, "lookup %q: key, value and delimiter go with file, not with values", t.name)
			return nil
		}
		return l.inlineLookup(t, values)
	case file == nil:
		l.errs.add(nameNode.Line, nameNode.Column, "lookup %q: needs file (a CSV file) or values", t.name)
		return nil
	case keyCol == nil || valCol == nil:
		l.errs.add(nameNode.Line, nameNode.Column, "lookup %q: needs key and value, the columns to match and to return", t.name)
		return nil
	}
	comma := ','
	if delim != nil {
		r, size := utf8.DecodeRuneInString(delim.Value)
		if size != len(delim.Value) || r == '"' || r == '\n' || r == '\r' || r == utf8.RuneError {
			l.errs.add(delim.Line, delim.Column, "lookup %q: delimiter must be one character, such as \";\"", t.name)
			return nil
		}
		comma = r
	}
	if err := l.readLookupFile(t, file, keyCol, valCol, comma); err != nil {
		return nil
	}
	return t
}

func (l *loader) inlineLookup(t *lookupTable, values *yaml.Node) *lookupTable {
	if values.Kind != yaml.MappingNode {
		l.errs.add(values.Line, values.Column, "lookup %q: values must be a map of key: value", t.name)
		return nil
	}
	ok := true
	for i := 0; i+1 < len(values.Content); i += 2 {
		k, v := values.Content[i], deref(values.Content[i+1])
		if v.Kind != yaml.ScalarNode {
			l.errs.add(v.Line, v.Column, "lookup %q: the value of %q must be text", t.name, k.Value)
			ok = false
			continue
		}
		key := t.normKey(k.Value)
		if prev, dup := t.values[key]; dup && prev != v.Value {
			l.errs.add(k.Line, k.Column, "lookup %q: key %q is given twice with different values", t.name, k.Value)
			ok = false
			continue
		}
		t.values[key] = v.Value
	}
	if !ok {
		return nil
	}
	return t
}

func (l *loader) readLookupFile(t *lookupTable, file, keyCol, valCol *yaml.Node, comma rune) error {
	path := file.Value
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(l.path), path)
	}
	fail := func(n *yaml.Node, format string, args ...any) error {
		l.errs.add(n.Line, n.Column, "lookup %q: %s", t.name, fmt.Sprintf(format, args...))
		return errors.New("lookup failed")
	}
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fail(file, "file %s does not exist", path)
		}
		return fail(file, "%v", err)
	}
	defer f.Close()
	tooLarge := func() error {
		return fail(file, "%s is larger than %d MiB, the most a lookup table may hold (it is kept in memory); join a larger table into the source instead", path, maxLookupFile>>20)
	}
	// Refused before it is read; the limit below holds for a file that
	// grows meanwhile.
	if st, err := f.Stat(); err == nil && st.Size() > maxLookupFile {
		return tooLarge()
	}
	data, err := io.ReadAll(io.LimitReader(f, maxLookupFile+1))
	if err != nil {
		return fail(file, "reading %s: %v", path, err)
	}
	if len(data) > maxLookupFile {
		return tooLarge()
	}
	l.fingerprint([]byte(t.name))
	l.fingerprint(data)
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	r := csv.NewReader(bytes.NewReader(data))
	r.Comma = comma
	r.ReuseRecord = true
	header, err := r.Read()
	if err == io.EOF {
		return fail(file, "%s is empty; it needs a header line naming its columns", path)
	}
	if err != nil {
		return fail(file, "%s: %v", path, err)
	}
	ki, vi := -1, -1
	cols := make([]string, len(header))
	for i, h := range header {
		h = strings.TrimSpace(h)
		cols[i] = h
		if h == keyCol.Value && ki < 0 {
			ki = i
		}
		if h == valCol.Value && vi < 0 {
			vi = i
		}
	}
	if ki < 0 {
		return fail(keyCol, "%s has no column %s%s (its columns: %s)", path, quote(keyCol.Value), didYouMean(keyCol.Value, cols), pipeline.QuoteList(cols))
	}
	if vi < 0 {
		return fail(valCol, "%s has no column %s%s (its columns: %s)", path, quote(valCol.Value), didYouMean(valCol.Value, cols), pipeline.QuoteList(cols))
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail(file, "%s: %v", path, err)
		}
		line, _ := r.FieldPos(0)
		if ki >= len(rec) || vi >= len(rec) {
			return fail(file, "%s:%d: the line has %d fields, the header %d", path, line, len(rec), len(header))
		}
		key := t.normKey(rec[ki])
		if key == "" {
			continue // a blank key can never be looked up
		}
		val := strings.TrimSpace(rec[vi])
		if prev, dup := t.values[key]; dup {
			if prev != val {
				return fail(file, "%s:%d: key %s is also on line %d, with another value", path, line, quote(rec[ki]), t.firstLine(data, comma, ki, key))
			}
			continue
		}
		t.values[key] = val
	}
	return nil
}

// firstLine returns the line of data's first record whose key column
// (ki) holds key. Only a failing Load asks, so the table keeps no line
// numbers, which would cost as much memory as its values.
func (t *lookupTable) firstLine(data []byte, comma rune, ki int, key string) int {
	r := csv.NewReader(bytes.NewReader(data))
	r.Comma = comma
	r.ReuseRecord = true
	r.FieldsPerRecord = -1
	if _, err := r.Read(); err != nil {
		return 0
	}
	for {
		rec, err := r.Read()
		if err != nil {
			return 0
		}
		if ki < len(rec) && t.normKey(rec[ki]) == key {
			line, _ := r.FieldPos(0)
			return line
		}
	}
}
