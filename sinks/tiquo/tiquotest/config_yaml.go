package tiquotest

// This file holds the generic parts of reading a sandbox configuration
// file, kept here until internal/emulator offers them (requested in
// /tmp/crm/requests-tiquotest.md); nothing in it knows tiquo.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// settingError is a check failing on one setting of the options, named as
// the configuration file names it, so that the loader can point at its
// line.
type settingError struct {
	setting string // the file's top-level key: "keys", "faults"...
	index   int    // the element of a list setting, or -1
	err     error
}

func (e *settingError) Error() string { return e.err.Error() }
func (e *settingError) Unwrap() error { return e.err }

func at(setting string, index int, err error) error {
	return &settingError{setting: setting, index: index, err: err}
}

// decodeStrict decodes a YAML document into v, refusing keys v lacks.
// Errors read path:line: message, one per problem, and an unknown key is
// called an unknown setting rather than a field of a Go type.
func decodeStrict(path string, data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(v)
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	msgs := []string{err.Error()}
	if te := (*yaml.TypeError)(nil); errors.As(err, &te) {
		msgs = te.Errors
	}
	for i, m := range msgs {
		where := path
		if g := lineMsg.FindStringSubmatch(m); g != nil {
			where, m = path+":"+g[1], g[2]
		}
		if g := notFound.FindStringSubmatch(m); g != nil {
			m = fmt.Sprintf("unknown setting %q", g[1])
		}
		msgs[i] = where + ": " + m
	}
	return errors.New(strings.Join(msgs, "; "))
}

var (
	// lineMsg splits yaml.v3's "yaml: line 3: ..." and "line 3: ...".
	lineMsg = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	// notFound is yaml.v3's message for a key the struct lacks.
	notFound = regexp.MustCompile(`^field (\S+) not found in type `)
)

// placeError words an options check as path:line: message when err is a
// settingError whose setting the file has, else as path: message.
func placeError(path string, data []byte, err error) error {
	var se *settingError
	if errors.As(err, &se) {
		if line := lineOf(data, se.setting, se.index); line > 0 {
			return fmt.Errorf("%s:%d: %w", path, line, err)
		}
	}
	return fmt.Errorf("%s: %w", path, err)
}

// lineOf is the line of a top-level key of a YAML mapping, or of element
// index of the list under it; 0 when there is none.
func lineOf(data []byte, key string, index int) int {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return 0
	}
	m := doc.Content[0].Content
	for i := 0; i+1 < len(m); i += 2 {
		if m[i].Value != key {
			continue
		}
		if v := m[i+1]; v.Kind == yaml.SequenceNode && index >= 0 && index < len(v.Content) {
			return v.Content[index].Line
		}
		return m[i].Line
	}
	return 0
}

// duration reads a YAML string such as "2s" or "150ms".
type duration time.Duration

func (d *duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = duration(v)
	return nil
}

// whole reads a YAML integer, refusing a fraction, which yaml.v3 would
// otherwise cut to an integer without a word ("0.5" read as 0).
type whole int

func (w *whole) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		return fmt.Errorf("line %d: %q is not a whole number", n.Line, n.Value)
	}
	var v int
	if err := n.Decode(&v); err != nil {
		return err
	}
	*w = whole(v)
	return nil
}
