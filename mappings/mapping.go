package mappings

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"

	"crmsync/pipeline"

	"gopkg.in/yaml.v3"

	"github.com/zeebo/xxh3"
)

// Mapping is a loaded, compiled mapping file. It is immutable and safe to
// share; bind it to a source's columns with Bind.
type Mapping struct {
	path   string
	api    string
	schema *pipeline.Schema

	key    string
	keyPos pos

	phoneRegion     string
	phoneMeta       *phoneMeta // phoneRegion's metadata, looked up once
	phoneValidation string
	lookups         map[string]*lookupTable
	// refs are the reference tables the mapping looks values up in
	// (see References), sorted.
	refs []string

	fields []*fieldProg // mapped fields, in schema order
	exprs  []string     // per schema field: its expression, "" when unmapped
	mapped []bool

	// cols are the source columns the mapping reads, the key first; an
	// expression refers to a column by its index here.
	cols   []string
	colPos []pos // where each column is first used
	colIdx map[string]int

	warnings []string

	// fingerprint hashes what a row's mapped values depend on besides the
	// row: the mapping file, its lookup tables, and this build of crmsync
	// (see SourceDigest).
	fingerprint uint64
}

type pos struct{ line, col int }

// Path returns the mapping file's path as given to Load.
func (m *Mapping) Path() string { return m.path }

// API returns the name of the target the mapping is written for, as its
// api: says.
func (m *Mapping) API() string { return m.api }

// KeyColumn returns the source column that identifies a row across runs.
func (m *Mapping) KeyColumn() string { return m.key }

// Columns returns the source columns the mapping reads: the key column
// first, then the others in the order the file first uses them.
func (m *Mapping) Columns() []string { return append([]string(nil), m.cols...) }

// Schema returns the schema the mapping fills: the one given to Load,
// extended with the fields of its open families the mapping names
// (pipeline.Schema.Extend), which the run hands to the connector.
// Callers must not modify it.
func (m *Mapping) Schema() *pipeline.Schema { return m.schema }

// Mapped reports, per schema field, whether the mapping fills it.
func (m *Mapping) Mapped() []bool { return append([]bool(nil), m.mapped...) }

// Expression returns the expression mapped to schema field i as written
// in the file ("" when the field is unmapped); a constant given as
// {const: x} is shown as a quoted expression.
func (m *Mapping) Expression(i int) string {
	if i < 0 || i >= len(m.exprs) {
		return ""
	}
	return m.exprs[i]
}

// Warnings lists what is legal but likely a mistake: a field the target
// requires to create a record that the mapping leaves unmapped (every new
// row will be rejected; fine for an update-only run).
func (m *Mapping) Warnings() []string { return append([]string(nil), m.warnings...) }

// topKeys are the sections of a mapping file.
var topKeys = []string{"api", "key", "options", "lookups", "fields"}

// MaxFileSize bounds a mapping file; real ones are a few KiB. Whatever
// reads a mapping reads no more than this and one byte.
const MaxFileSize = 4 << 20

const maxMappingFile = MaxFileSize

// Load reads and compiles a mapping file for the given target schema.
// Everything that does not depend on a source's columns is checked here:
// YAML structure, field names, expressions (syntax, functions and their
// arguments, constant patterns and layouts), lookup tables. The error, if
// any, is an Errors listing every problem with its file:line:column.
func Load(path string, schema *pipeline.Schema) (*Mapping, error) {
	if schema == nil {
		return nil, errors.New("mappings.Load: nil schema")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxMappingFile+1))
	if err != nil {
		return nil, fmt.Errorf("mapping %s: %w", path, err)
	}
	if len(data) > maxMappingFile {
		return nil, Errors{{File: path, Msg: fmt.Sprintf("the file is larger than %d MiB; is it a mapping?", maxMappingFile>>20)}}
	}
	l := &loader{path: path, errs: errorList{file: path}, lines: strings.Split(string(data), "\n"), fp: xxh3.New()}
	l.fingerprint(data)
	m := l.load(data, schema)
	if err := l.errs.err(); err != nil {
		return nil, err
	}
	l.fp.WriteString(buildFingerprint())
	m.fingerprint = l.fp.Sum64()
	return m, nil
}

type loader struct {
	path  string
	lines []string
	errs  errorList
	m     *Mapping
	fp    *xxh3.Hasher // the files read, for Mapping.fingerprint
}

// fingerprint adds a file's contents, with their length, to the
// mapping's fingerprint.
func (l *loader) fingerprint(data []byte) {
	l.fp.Write(binary.AppendUvarint(nil, uint64(len(data))))
	l.fp.Write(data)
}

// sourceDigestVersion changes whenever what a mapping makes of a row
// changes for reasons the build fingerprint below may not show (a build
// from a modified work tree): mapping functions, validation, the
// normalisation of values. Changing it makes every run map every row once.
const sourceDigestVersion = "crmsync source digest 2"

// buildFingerprint names this build of crmsync and of every module in it
// (libphonenumber's metadata, for one, changes what phone() accepts).
var buildFingerprint = sync.OnceValue(func() string {
	var b strings.Builder
	b.WriteString(sourceDigestVersion)
	if bi, ok := debug.ReadBuildInfo(); ok {
		fmt.Fprintf(&b, "\n%s %s %s", bi.Main.Path, bi.Main.Version, bi.Main.Sum)
		for _, s := range bi.Settings {
			if strings.HasPrefix(s.Key, "vcs.") {
				fmt.Fprintf(&b, "\n%s=%s", s.Key, s.Value)
			}
		}
		for _, d := range bi.Deps {
			fmt.Fprintf(&b, "\n%s %s %s", d.Path, d.Version, d.Sum)
		}
	}
	return b.String()
})

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (l *loader) load(data []byte, schema *pipeline.Schema) *Mapping {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			l.errs.add(0, 0, "the file is empty")
			return nil
		}
		msg := err.Error()
		if mm := yamlLine.FindStringSubmatch(msg); mm != nil {
			line, _ := strconv.Atoi(mm[1])
			// yaml.v3 reports an unclosed [ or { at the line before the
			// one that opened it (its other errors are on their line).
			if strings.HasPrefix(mm[2], "did not find expected ',' or") {
				line++
			}
			l.errs.add(line, 0, "%s", mm[2])
		} else {
			l.errs.add(0, 0, "%s", strings.TrimPrefix(msg, "yaml: "))
		}
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		l.errs.add(extra.Line, extra.Column, "a mapping file holds one YAML document; remove the second")
		return nil
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = deref(root.Content[0])
	}
	if root.Kind != yaml.MappingNode {
		l.errs.add(root.Line, root.Column, "expected a map with api, key and fields")
		return nil
	}

	m := &Mapping{path: l.path, schema: schema, lookups: map[string]*lookupTable{}, colIdx: map[string]int{},
		exprs: make([]string, len(schema.Fields)), mapped: make([]bool, len(schema.Fields))}
	l.m = m
	sections := map[string]*yaml.Node{}
	keys := map[string]*yaml.Node{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], deref(root.Content[i+1])
		if prev, dup := keys[k.Value]; dup {
			l.errs.add(k.Line, k.Column, "%s is given twice (first on line %d)", k.Value, prev.Line)
			continue
		}
		keys[k.Value] = k
		switch k.Value {
		case "api", "key", "options", "lookups", "fields":
			sections[k.Value] = v
		default:
			l.errs.add(k.Line, k.Column, "unknown section %q%s; a mapping has %s", k.Value,
				didYouMean(k.Value, topKeys), strings.Join(topKeys, ", "))
		}
	}

	if v := sections["api"]; v == nil {
		l.errs.add(root.Line, root.Column, "api is missing; add api: %s", schema.API)
	} else if v.Kind != yaml.ScalarNode || v.Value == "" {
		l.errs.add(v.Line, v.Column, "api must name the target, such as %s", schema.API)
	} else if v.Value != schema.API {
		l.errs.add(v.Line, v.Column, "api is %q, but this sink is %s", v.Value, schema.API)
	} else {
		m.api = v.Value
	}

	if v := sections["key"]; v == nil {
		l.errs.add(root.Line, root.Column, "key is missing: name the source column that identifies a row across runs, such as key: customer_id")
	} else if v.Kind != yaml.ScalarNode || strings.TrimSpace(v.Value) == "" {
		l.errs.add(v.Line, v.Column, "key must name a source column")
	} else {
		m.key = v.Value
		m.keyPos = pos{v.Line, v.Column}
		l.useColumn(v.Value, m.keyPos)
	}

	if v := sections["options"]; v != nil {
		l.loadOptions(v)
	}
	if v := sections["lookups"]; v != nil {
		if v.Kind != yaml.MappingNode {
			l.errs.add(v.Line, v.Column, "lookups must be a map of table names")
		} else {
			for i := 0; i+1 < len(v.Content); i += 2 {
				name := v.Content[i]
				if _, dup := m.lookups[name.Value]; dup {
					l.errs.add(name.Line, name.Column, "lookup %q is defined twice", name.Value)
					continue
				}
				if t := l.loadLookup(name, deref(v.Content[i+1])); t != nil {
					m.lookups[name.Value] = t
				}
			}
		}
	}
	if v := sections["fields"]; v == nil {
		l.errs.add(root.Line, root.Column, "fields is missing: map at least one %s field", schema.API)
	} else {
		l.loadFields(keys["fields"], v)
	}
	return m
}

func deref(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

var optionKeys = []string{"phone_region", "phone_validation"}

func (l *loader) loadOptions(n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		l.errs.add(n.Line, n.Column, "options must be a map, such as phone_region: DE")
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		switch k.Value {
		case "phone_region":
			if v.Kind != yaml.ScalarNode {
				l.errs.add(v.Line, v.Column, "phone_region must be a region code such as DE")
				continue
			}
			r, err := phoneRegion(v.Value)
			if err != nil {
				l.errs.add(v.Line, v.Column, "phone_region: %v", err)
				continue
			}
			l.m.phoneRegion = r
			l.m.phoneMeta = plans().byRegion[r]
		case "phone_validation":
			if v.Kind != yaml.ScalarNode || (v.Value != phonePlan && v.Value != phoneStrict) {
				l.errs.add(v.Line, v.Column, "phone_validation must be %s (the numbering plan, fast) or %s (libphonenumber's full check, slow)", phonePlan, phoneStrict)
				continue
			}
			l.m.phoneValidation = v.Value
		default:
			l.errs.add(k.Line, k.Column, "unknown option %q%s; options are: %s", k.Value,
				didYouMean(k.Value, optionKeys), strings.Join(optionKeys, ", "))
		}
	}
}

func (l *loader) loadFields(key, n *yaml.Node) {
	m := l.m
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		l.errs.add(n.Line, n.Column, "fields must map %s fields to expressions, such as email: lower(trim(email))", m.schema.API)
		return
	}
	l.extendSchema(n)
	schema := m.schema
	names := make([]string, len(schema.Fields))
	for i := range schema.Fields {
		names[i] = schema.Fields[i].Name
	}
	firstLine := map[int]int{}
	var progs []*fieldProg
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		fi := schema.Index(k.Value)
		if fi < 0 {
			l.errs.add(k.Line, k.Column, "field %q: not a %s field%s; its fields are %s%s",
				k.Value, schema.API, didYouMean(k.Value, names), pipeline.QuoteList(names), openNames(schema))
			continue
		}
		if line, dup := firstLine[fi]; dup {
			l.errs.add(k.Line, k.Column, "field %q is mapped twice (first on line %d)", k.Value, line)
			continue
		}
		firstLine[fi] = k.Line
		m.mapped[fi] = true
		if p := l.compileField(fi, k, v); p != nil {
			progs = append(progs, p)
		}
	}
	// Schema order, so that Apply fills Values front to back.
	m.fields = make([]*fieldProg, 0, len(progs))
	for fi := range schema.Fields {
		for _, p := range progs {
			if p.field == fi {
				m.fields = append(m.fields, p)
			}
		}
	}
	for fi, f := range schema.Fields {
		if m.mapped[fi] {
			continue
		}
		switch {
		case f.RequiredOnUpdate:
			l.errs.add(key.Line, key.Column, "field %q is not mapped, but %s requires it on every update", f.Name, schema.API)
		case f.RequiredOnCreate:
			m.warnings = append(m.warnings, fmt.Sprintf("%s: field %q is not mapped, but %s requires it to create a record: rows not yet in %s will be rejected",
				l.path, f.Name, schema.API, schema.API))
		}
	}
}

// extendSchema adds to the mapping's schema the fields of its open
// families (pipeline.Schema.Open) that the fields section names, so that
// a mapping fills "template.contract_value" of an account that defines
// it; the connector, handed the extended schema, checks that the account
// does. It runs before any field is compiled.
func (l *loader) extendSchema(fields *yaml.Node) {
	m := l.m
	var open []string
	for i := 0; i+1 < len(fields.Content); i += 2 {
		if name := fields.Content[i].Value; m.schema.Index(name) < 0 && m.schema.OpenFor(name) != nil {
			open = append(open, name)
		}
	}
	if len(open) == 0 {
		return
	}
	ext, err := m.schema.Extend(open)
	if err != nil {
		l.errs.add(fields.Line, fields.Column, "%v", err)
		return
	}
	m.schema = ext
	m.exprs = make([]string, len(ext.Fields))
	m.mapped = make([]bool, len(ext.Fields))
}

// openNames says, for a message listing a schema's fields, which further
// names its open families take.
func openNames(s *pipeline.Schema) string {
	var b strings.Builder
	for _, o := range s.Open {
		fmt.Fprintf(&b, ", and %s<key> for each key the account defines", o.Prefix)
	}
	return b.String()
}

// useColumn registers a source column the mapping reads and returns its
// index in m.cols.
func (l *loader) useColumn(name string, at pos) int {
	if k, ok := l.m.colIdx[name]; ok {
		return k
	}
	k := len(l.m.cols)
	l.m.cols = append(l.m.cols, name)
	l.m.colPos = append(l.m.colPos, at)
	l.m.colIdx[name] = k
	return k
}
