package emutest

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// WriteConfig writes text to sandbox.yaml in t's temporary directory and
// returns its path.
func WriteConfig(t testing.TB, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sandbox.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// ConfigError is a configuration file an emulator's LoadConfig must
// refuse: the case's name, the file, and what the error says after the
// file's path (":3: unknown setting \"x\""). An array rather than a
// struct, so that an emulator's table of them reads as a table.
type ConfigError [3]string

// CheckLoadConfig checks what every emulator's LoadConfig promises: a
// file setting nothing gives the zero options (so that NewServer applies
// every default), each of bad an error that starts with the path and
// Want and spells out no Go type, and a missing file an error.
func CheckLoadConfig[O any](t testing.TB, load func(path string) (O, error), bad []ConfigError) {
	t.Helper()
	var zero O
	if o, err := load(WriteConfig(t, "# nothing set\n")); err != nil || !reflect.DeepEqual(o, zero) {
		t.Errorf("empty file: %+v, %v", o, err)
	}
	for _, tc := range bad {
		name, yaml, want := tc[0], tc[1], tc[2]
		p := WriteConfig(t, yaml)
		_, err := load(p)
		if err == nil || !strings.HasPrefix(err.Error(), p+want) {
			t.Errorf("%s: error %v, want one starting %q", name, err, p+want)
		}
		if err != nil && strings.Contains(err.Error(), "struct") {
			t.Errorf("%s: error %v spells out a Go type", name, err)
		}
	}
	if _, err := load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("a missing file loaded")
	}
}
