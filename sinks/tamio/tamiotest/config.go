package tamiotest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// LoadConfig reads a sandbox configuration file:
//
//	keys:
//	  - token: rehearsal-key
//	    name: rehearsal
//	    permissions: [view, edit, create, remove]
//	    customers: []            # optional UUIDs; empty = all customers
//	teammates:
//	  - {id: 2f1c0a4e-8b7d-4c3e-a1f2-0b9c8d7e6f50, email: jo@example.com, name: Jo}
//	rate_limit: 10               # requests per second per key; 0 = off
//	rate_burst: 20
//	bulk_delay: 2s
//	webhooks: [http://127.0.0.1:9000/hooks]
//	faults: {seed: 1, error_rate: 0.05, latency: 20ms, drop_rate: 0.01, lost_answer_rate: 0.01}
//
// Every key is optional. An unknown key is an error, so that a misspelt
// setting does not silently leave a rehearsal without its faults or limits.
// Errors read path:line: message.
// The result is checked as [NewServer] would check it; Addr, DBPath and
// Logger are left for the caller.
func LoadConfig(path string) (Options, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Options{}, err
	}
	var c struct {
		Keys []struct {
			Token       string   `yaml:"token"`
			Name        string   `yaml:"name"`
			Permissions []string `yaml:"permissions"`
			Customers   []string `yaml:"customers"`
		} `yaml:"keys"`
		Teammates []struct {
			ID    string `yaml:"id"`
			Email string `yaml:"email"`
			Name  string `yaml:"name"`
		} `yaml:"teammates"`
		RateLimit float64  `yaml:"rate_limit"`
		RateBurst int      `yaml:"rate_burst"`
		BulkDelay duration `yaml:"bulk_delay"`
		Webhooks  []string `yaml:"webhooks"`
		Faults    struct {
			Seed           int64    `yaml:"seed"`
			ErrorRate      float64  `yaml:"error_rate"`
			Latency        duration `yaml:"latency"`
			DropRate       float64  `yaml:"drop_rate"`
			LostAnswerRate float64  `yaml:"lost_answer_rate"`
		} `yaml:"faults"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return Options{}, yamlError(path, err)
	}
	var o Options
	for _, k := range c.Keys {
		o.Keys = append(o.Keys, Key{Token: k.Token, Name: k.Name, Permissions: k.Permissions, Customers: k.Customers})
	}
	for _, t := range c.Teammates {
		o.Teammates = append(o.Teammates, Teammate{ID: t.ID, Email: t.Email, Name: t.Name})
	}
	o.RateLimit, o.RateBurst = c.RateLimit, c.RateBurst
	o.BulkDelay = time.Duration(c.BulkDelay)
	o.Webhooks = c.Webhooks
	o.Faults = Faults{
		Seed:           c.Faults.Seed,
		ErrorRate:      c.Faults.ErrorRate,
		Latency:        time.Duration(c.Faults.Latency),
		DropRate:       c.Faults.DropRate,
		LostAnswerRate: c.Faults.LostAnswerRate,
	}
	// Checked on a copy: the caller gets the file's values, not the
	// defaults, so that NewServer still applies them.
	if _, err := o.withDefaults(); err != nil {
		var se *settingError
		if errors.As(err, &se) {
			if line := settingLine(data, se.setting, se.index); line > 0 {
				return Options{}, fmt.Errorf("%s:%d: %w", path, line, err)
			}
		}
		return Options{}, fmt.Errorf("%s: %w", path, err)
	}
	return o, nil
}

var (
	// yamlLineMsg splits the messages of yaml.v3 ("yaml: line 3: ...",
	// "line 3: ...") into the line and the message.
	yamlLineMsg = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	// unknownField is yaml.v3's message for a key the struct lacks, which
	// goes on to spell out the whole Go type.
	unknownField = regexp.MustCompile(`^field (\S+) not found in type `)
)

// yamlError words a decoding error as path:line: message, one per fault
// found, and an unknown key as an unknown setting rather than a Go type.
func yamlError(path string, err error) error {
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

// settingLine is the line of a top-level setting in a file that decoded,
// or of element index of a list setting; 0 when it cannot tell.
func settingLine(data []byte, setting string, index int) int {
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

// duration reads "2s", "150ms" and the like.
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
