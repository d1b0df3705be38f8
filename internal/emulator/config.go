package emulator

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The generic half of an emulator's LoadConfig (`crmsync sandbox
// --config`): the emulator declares the file's struct and maps it onto
// its options; the kit decodes strictly and words every error as
// path:line: message.

// LoadConfig reads the configuration file at path for an emulator's
// LoadConfig: it decodes the file strictly into a new F (see
// [DecodeConfig]) and gives it to options, which maps it onto the
// emulator's options and checks them as the server would. An error of
// options is worded path:line: message by [PlaceError]; the file's
// errors are [os.ReadFile]'s and DecodeConfig's. On error the options are
// the zero value.
func LoadConfig[F, O any](path string, options func(F) (O, error)) (O, error) {
	var zero O
	data, err := os.ReadFile(path)
	if err != nil {
		return zero, err
	}
	var f F
	if err := DecodeConfig(path, data, &f); err != nil {
		return zero, err
	}
	o, err := options(f)
	if err != nil {
		return zero, PlaceError(path, data, err)
	}
	return o, nil
}

// SettingError is a check failing on one setting of an emulator's
// options, named as the configuration file names it, so that
// [PlaceError] can point at its line.
type SettingError struct {
	// Setting is the file's top-level key: "keys", "faults"...
	Setting string
	// Index is the element of a list setting, or -1.
	Index int
	Err   error
}

func (e *SettingError) Error() string { return e.Err.Error() }
func (e *SettingError) Unwrap() error { return e.Err }

// At marks err as a failing check of setting (element index of a list
// setting, or -1 for the setting as a whole).
func At(setting string, index int, err error) error {
	return &SettingError{Setting: setting, Index: index, Err: err}
}

var (
	// yamlLineMsg splits the messages of yaml.v3 ("yaml: line 3: ...",
	// "line 3: ...") into the line and the message.
	yamlLineMsg = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	// unknownField is yaml.v3's message for a key the struct lacks, which
	// goes on to spell out the whole Go type.
	unknownField = regexp.MustCompile(`^field (\S+) not found in type `)
)

// DecodeConfig decodes the YAML document data, read from path, into v,
// refusing keys v lacks so that a misspelt setting does not silently
// leave a rehearsal without its faults or limits. An empty document
// leaves v as it is. Errors read path:line: message, one per problem
// found, and call an unknown key an unknown setting rather than spell out
// a Go type.
func DecodeConfig(path string, data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(v)
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	msgs := []string{err.Error()}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	out := make([]string, len(msgs))
	for i, m := range msgs {
		where := path
		if g := yamlLineMsg.FindStringSubmatch(m); g != nil {
			where, m = path+":"+g[1], g[2]
		}
		if g := unknownField.FindStringSubmatch(m); g != nil {
			m = fmt.Sprintf("unknown setting %q", g[1])
		}
		out[i] = where + ": " + m
	}
	return errors.New(strings.Join(out, "; "))
}

// PlaceError words err, a check of the options read from data, as
// path:line: message when it holds a *SettingError whose setting the file
// has, else as path: message. The result wraps err.
func PlaceError(path string, data []byte, err error) error {
	var se *SettingError
	if errors.As(err, &se) {
		if line := SettingLine(data, se.Setting, se.Index); line > 0 {
			return fmt.Errorf("%s:%d: %w", path, line, err)
		}
	}
	return fmt.Errorf("%s: %w", path, err)
}

// SettingLine is the line of a top-level setting in a YAML document, or
// of element index of a list setting; 0 when it cannot tell.
func SettingLine(data []byte, setting string, index int) int {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return 0
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return 0
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != setting {
			continue
		}
		if v := m.Content[i+1]; index >= 0 && v.Kind == yaml.SequenceNode && index < len(v.Content) {
			return v.Content[index].Line
		}
		return m.Content[i].Line
	}
	return 0
}

// Duration reads a YAML string such as "2s" or "150ms".
type Duration time.Duration

// UnmarshalYAML reads the duration; an error names its line.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

// Whole reads a YAML integer, refusing a fraction, which yaml.v3 would
// otherwise cut to an integer without a word ("0.5" read as 0).
type Whole int

// UnmarshalYAML reads the integer; an error names its line.
func (w *Whole) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		return fmt.Errorf("line %d: %q is not a whole number", n.Line, n.Value)
	}
	var v int
	if err := n.Decode(&v); err != nil {
		return err
	}
	*w = Whole(v)
	return nil
}

// FaultsConfig is the faults setting of a configuration file, the same in
// every emulator's:
//
//	faults: {seed: 1, error_rate: 0.05, latency: 20ms, drop_rate: 0.01, lost_answer_rate: 0.01}
//
// It is read as it stands; the options check ([Faults.Validate]) says
// what is out of range.
type FaultsConfig struct {
	Seed           int64    `yaml:"seed"`
	ErrorRate      float64  `yaml:"error_rate"`
	Latency        Duration `yaml:"latency"`
	DropRate       float64  `yaml:"drop_rate"`
	LostAnswerRate float64  `yaml:"lost_answer_rate"`
}

// Faults returns the setting as the server takes it.
func (f FaultsConfig) Faults() Faults {
	return Faults{Seed: f.Seed, ErrorRate: f.ErrorRate, Latency: time.Duration(f.Latency),
		DropRate: f.DropRate, LostAnswerRate: f.LostAnswerRate}
}

// CheckWebhooks refuses a webhook that is not an absolute http(s) URL,
// as a [SettingError] of element i of the setting "webhooks", so that an
// options check fails at start rather than at the first delivery.
func CheckWebhooks(urls []string) error {
	for i, w := range urls {
		u, err := url.Parse(w)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return At("webhooks", i, fmt.Errorf("webhook %q is not an http(s) URL", w))
		}
	}
	return nil
}
