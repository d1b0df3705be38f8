// Package remotes reads crmsync's remotes file: named CRMs, as rclone
// names its remotes, so that `--target NAME` and `--source NAME:` need no
// URL and no credential flags.
//
//	remotes:
//	  old-crm:
//	    api: <api>
//	    url: https://crm.example.com/api
//	    credentials:
//	      api_key: OLD_CRM_KEY      # the NAME of the variable, never the key
//	  rehearsal:
//	    api: <api>
//	    sandbox: true
//	    sandbox_db: rehearsal.db    # relative to this file's directory
//	    sandbox_config: rehearsal.yaml
//
// The file names the environment variables credentials are read from,
// never a secret, and a value that is not the name of a variable is
// refused, so the file may be readable by others: its permissions are not
// checked. A credential the file does not name is read from the API's own
// variable. Besides the file's remotes, "sandbox:API" names the embedded
// emulator of every registered API.
package remotes

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"crmsync/crm"
	"crmsync/internal/httpapi"
)

// SandboxPrefix begins the name of the built-in remote of every API's
// embedded emulator: "sandbox:" followed by the API's name.
const SandboxPrefix = "sandbox:"

// maxFileSize bounds the file: a remotes file is a few hundred bytes.
const maxFileSize = 1 << 20

// Remote is one named CRM.
type Remote struct {
	// Name is the remote's name in the file, or "sandbox:API".
	Name string
	// API is the connector's name.
	API string
	// URL is the API's base URL, checked by httpapi.CheckBaseURL with
	// cleartext allowed (the command checks it again under its flags);
	// "" for a sandbox.
	URL string
	// Env maps every credential the API needs to the environment
	// variable it is read from: the file's, else the API's own. Empty for
	// a sandbox, which holds its own key.
	Env map[string]string
	// Sandbox says the remote is the API's embedded emulator, started by
	// the command on SandboxDB.
	Sandbox bool
	// SandboxDB and SandboxConfig are the emulator's SQLite file and
	// configuration, resolved against the file's directory; "" when the
	// file gives none (the command's defaults apply).
	SandboxDB, SandboxConfig string
	// Builtin marks a "sandbox:API" remote that no file defines.
	Builtin bool
	// Line is where the file defines the remote; 0 for a built-in one.
	Line int
}

// File is a loaded remotes file.
type File struct {
	// Path is the file read, as given.
	Path string
	// Exists is false when the default file is absent: no remotes.
	Exists bool
	// Remotes are the file's remotes, sorted by name.
	Remotes []Remote
}

// DefaultPath is the remotes file read when --config is not given:
// crmsync/remotes.yaml in the user's configuration directory
// ($XDG_CONFIG_HOME or ~/.config on Linux).
func DefaultPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "crmsync", "remotes.yaml"), nil
}

// Load reads the remotes file at path. An absent file is no remotes when
// it is the default one; one named explicitly must exist. A file that
// cannot be used is an error naming the file, the line, the remote and
// the key, without quoting a value that might be a secret.
func Load(path string, explicit bool) (*File, error) {
	f := &File{Path: path}
	fh, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) && !explicit {
		return f, nil
	}
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s: larger than %d KiB; is it a remotes file?", path, maxFileSize>>10)
	}
	f.Exists = true
	if f.Remotes, err = parse(path, data); err != nil {
		return nil, err
	}
	return f, nil
}

// Builtin returns the built-in remote "sandbox:API" of every registered
// API that has an emulator, sorted.
func Builtin() []Remote {
	var out []Remote
	for _, c := range crm.All() {
		if c.StartSandbox != nil {
			out = append(out, Remote{Name: SandboxPrefix + c.Name, API: c.Name, Sandbox: true, Builtin: true})
		}
	}
	return out
}

// All returns the file's remotes, then the built-in ones.
func (f *File) All() []Remote {
	return append(append([]Remote(nil), f.Remotes...), Builtin()...)
}

// Lookup returns the remote of that name: one of the file's, or
// "sandbox:API". An unknown name is an error listing the names known,
// with the closest if it is close.
func (f *File) Lookup(name string) (*Remote, error) {
	for _, r := range f.All() {
		if r.Name == name {
			return &r, nil
		}
	}
	if api, ok := strings.CutPrefix(name, SandboxPrefix); ok {
		if _, err := crm.Lookup(api); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return nil, fmt.Errorf("%s: crmsync has no emulator of %s", name, api)
	}
	var names []string
	for _, r := range f.All() {
		names = append(names, r.Name)
	}
	where := "no remotes file at " + f.Path
	if f.Exists {
		where = f.Path + " defines " + strconv.Itoa(len(f.Remotes))
		if len(f.Remotes) == 1 {
			where += " remote"
		} else {
			where += " remotes"
		}
	}
	msg := fmt.Sprintf("unknown remote %q (%s; crmsync remotes lists them)", name, where)
	if near := closest(name, names); near != "" {
		msg += fmt.Sprintf("; did you mean %q?", near)
	}
	return nil, errors.New(msg)
}

// closest returns the name within a third of its length in edits of
// name, or "".
func closest(name string, names []string) string {
	best, bestD := "", len(name)/3+1
	for _, n := range names {
		if d := distance(strings.ToLower(name), strings.ToLower(n)); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b, in bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// namePattern is a remote's name: no dot, slash or colon, so that it is
// told apart from a URL, a file and "NAME:".
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

// ValidName reports whether s may name a remote in the file.
func ValidName(s string) bool { return namePattern.MatchString(s) && s != "sandbox" }

// envPattern is a portable environment variable name (POSIX: upper case
// letters, digits and underscores, not starting with a digit).
var envPattern = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)

// checkEnvName refuses what is not the name of an environment variable,
// or is one only by accident: a long run of capitals and digits without
// an underscore is more likely a key than a variable's name.
func checkEnvName(s string) error {
	const hint = "give the NAME of the environment variable holding it (upper case letters, digits and _), never the secret itself"
	if !envPattern.MatchString(s) {
		return errors.New("not the name of an environment variable: " + hint)
	}
	if len(s) >= 20 && !strings.Contains(s, "_") && strings.ContainsAny(s, "0123456789") {
		return errors.New("looks like a secret rather than a variable's name: " + hint)
	}
	return nil
}

// remoteKeys are the keys a remote may have.
var remoteKeys = []string{"api", "url", "credentials", "sandbox", "sandbox_db", "sandbox_config"}

// secretWords are keys a user might put a secret under by mistake.
var secretWords = []string{"key", "token", "secret", "password", "passwd", "auth", "bearer"}

// problem is one mistake in the file, placed at a line.
type problem struct {
	line        int
	remote, key string
	msg         string
}

type parser struct {
	path  string
	probs []problem
}

func (p *parser) add(n *yaml.Node, remote, key, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	p.probs = append(p.probs, problem{line: line, remote: remote, key: key, msg: fmt.Sprintf(format, args...)})
}

// Errors lists every problem of a remotes file, each naming the file, the
// line, the remote and the key.
type Errors []string

func (e Errors) Error() string { return strings.Join(e, "\n") }

func (p *parser) err() error {
	if len(p.probs) == 0 {
		return nil
	}
	sort.SliceStable(p.probs, func(i, j int) bool { return p.probs[i].line < p.probs[j].line })
	var out Errors
	for _, pr := range p.probs {
		var b strings.Builder
		b.WriteString(p.path)
		if pr.line > 0 {
			fmt.Fprintf(&b, ":%d", pr.line)
		}
		b.WriteString(": ")
		if pr.remote != "" {
			fmt.Fprintf(&b, "remote %q: ", pr.remote)
		}
		if pr.key != "" {
			fmt.Fprintf(&b, "%s: ", pr.key)
		}
		b.WriteString(pr.msg)
		out = append(out, b.String())
	}
	return out
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func parse(path string, data []byte) ([]Remote, error) {
	p := &parser{path: path}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		// yaml.v3's syntax errors name a line and a construct, never a
		// value.
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			line, _ := strconv.Atoi(m[1])
			// yaml.v3 places an unclosed [ or { on the line before the
			// one that opened it.
			if strings.HasPrefix(m[2], "did not find expected ',' or") {
				line++
			}
			p.probs = append(p.probs, problem{line: line, msg: m[2]})
		} else {
			p.add(nil, "", "", "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		return nil, p.err()
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		p.add(top, "", "", "the file must be a mapping with one key, remotes:")
		return nil, p.err()
	}
	var list *yaml.Node
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		if k.Value != "remotes" {
			p.add(k, "", k.Value, "unknown key (the file holds remotes: and nothing else)%s", secretHint(k.Value))
			continue
		}
		list = v
	}
	if list == nil || list.Kind == yaml.ScalarNode && list.Tag == "!!null" {
		return nil, p.err()
	}
	if list.Kind != yaml.MappingNode {
		p.add(list, "", "remotes", "must map each remote's name to its settings")
		return nil, p.err()
	}
	var out []Remote
	seen := map[string]int{}
	for i := 0; i+1 < len(list.Content); i += 2 {
		k, v := list.Content[i], list.Content[i+1]
		name := k.Value
		if line, dup := seen[name]; dup {
			p.add(k, name, "", "defined twice (first at line %d)", line)
			continue
		}
		seen[name] = k.Line
		if !ValidName(name) {
			p.add(k, name, "", "a remote's name is letters, digits, - and _ (not \"sandbox\", and no colon: %sAPI is built in)", SandboxPrefix)
			continue
		}
		if r, ok := p.remote(name, k, v); ok {
			out = append(out, r)
		}
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// secretHint adds a word to the error of an unknown key named like a
// credential.
func secretHint(key string) string {
	lk := strings.ToLower(key)
	for _, w := range secretWords {
		if strings.Contains(lk, w) {
			return "; a credential goes under credentials: as the name of the environment variable holding it, never the secret itself"
		}
	}
	return ""
}

// scalar returns a node's string value, refusing anything but a scalar.
func (p *parser) scalar(remote, key string, n *yaml.Node) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		p.add(n, remote, key, "must be a single value")
		return "", false
	}
	return n.Value, true
}

func (p *parser) remote(name string, k, v *yaml.Node) (Remote, bool) {
	r := Remote{Name: name, Line: k.Line}
	if v.Kind != yaml.MappingNode {
		p.add(v, name, "", "must be a mapping of settings (%s)", strings.Join(remoteKeys, ", "))
		return r, false
	}
	before := len(p.probs)
	got := map[string]*yaml.Node{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		key, val := v.Content[i], v.Content[i+1]
		known := false
		for _, rk := range remoteKeys {
			known = known || rk == key.Value
		}
		if !known {
			p.add(key, name, key.Value, "unknown key (a remote has %s)%s", strings.Join(remoteKeys, ", "), secretHint(key.Value))
			continue
		}
		if _, dup := got[key.Value]; dup {
			p.add(key, name, key.Value, "given twice")
			continue
		}
		got[key.Value] = val
	}
	var conn *crm.Connector
	if n := got["api"]; n == nil {
		p.add(k, name, "api", "missing: name the remote's API (%s)", strings.Join(crm.Names(), ", "))
	} else if s, ok := p.scalar(name, "api", n); ok {
		c, err := crm.Lookup(s)
		if err != nil {
			p.add(n, name, "api", "%v", err)
		} else {
			conn, r.API = c, c.Name
		}
	}
	if n := got["sandbox"]; n != nil {
		if s, ok := p.scalar(name, "sandbox", n); ok {
			b, err := strconv.ParseBool(s)
			if err != nil {
				p.add(n, name, "sandbox", "must be true or false")
			}
			r.Sandbox = b
		}
	}
	for _, key := range []string{"sandbox_db", "sandbox_config"} {
		n := got[key]
		if n == nil {
			continue
		}
		if !r.Sandbox {
			p.add(n, name, key, "only a sandbox remote (sandbox: true) has one")
			continue
		}
		s, ok := p.scalar(name, key, n)
		if !ok {
			continue
		}
		if s == "" {
			p.add(n, name, key, "must name a file")
			continue
		}
		if !filepath.IsAbs(s) {
			s = filepath.Join(filepath.Dir(p.path), s)
		}
		if key == "sandbox_db" {
			r.SandboxDB = s
		} else {
			r.SandboxConfig = s
		}
	}
	if r.Sandbox {
		if n := got["url"]; n != nil {
			p.add(n, name, "url", "a sandbox remote has no url: crmsync starts the emulator itself")
		}
		if n := got["credentials"]; n != nil {
			p.add(n, name, "credentials", "a sandbox remote has no credentials: the emulator gives its own key")
		}
		if conn != nil && conn.StartSandbox == nil {
			p.add(got["sandbox"], name, "sandbox", "crmsync has no emulator of %s", conn.Name)
		}
		return r, len(p.probs) == before
	}
	if n := got["url"]; n == nil {
		p.add(k, name, "url", "missing: give the API's base URL (or sandbox: true)")
	} else if s, ok := p.scalar(name, "url", n); ok {
		// Cleartext is checked again by the command under its
		// --allow-insecure-http; the rest holds for every command.
		base, err := httpapi.CheckBaseURL(s, true)
		if err != nil {
			p.add(n, name, "url", "%v", err)
		}
		r.URL = base
	}
	if conn != nil {
		r.Env = p.credentials(name, conn, got["credentials"])
	}
	return r, len(p.probs) == before
}

// credentials reads a remote's credentials: each of the connector's
// credentials mapped to the variable it is read from.
func (p *parser) credentials(name string, conn *crm.Connector, n *yaml.Node) map[string]string {
	env := make(map[string]string, len(conn.Credentials))
	for _, c := range conn.Credentials {
		env[c.Name] = c.Env
	}
	if n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return env
	}
	var names []string
	for _, c := range conn.Credentials {
		names = append(names, c.Name)
	}
	if n.Kind != yaml.MappingNode {
		p.add(n, name, "credentials", "must map each credential (%s) to the name of the environment variable holding it", strings.Join(names, ", "))
		return env
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := "credentials." + k.Value
		if !conn.HasCredential(k.Value) {
			p.add(k, name, key, "%s has no credential of that name (it has: %s)", conn.Name, strings.Join(names, ", "))
			continue
		}
		s, ok := p.scalar(name, key, v)
		if !ok {
			continue
		}
		if err := checkEnvName(s); err != nil {
			p.add(v, name, key, "%v", err)
			continue
		}
		env[k.Value] = s
	}
	return env
}
