package emulator

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type testConfig struct {
	Keys []struct {
		Token string   `yaml:"token"`
		Perms []string `yaml:"perms"`
	} `yaml:"keys"`
	RateLimit Whole    `yaml:"rate_limit"`
	Latency   Duration `yaml:"latency"`
	Burst     int      `yaml:"burst"`
	Depth     int      `yaml:"depth"`
}

func TestDecodeConfig(t *testing.T) {
	var c testConfig
	err := DecodeConfig("s.yaml", []byte("keys:\n  - {token: a, perms: [read]}\nrate_limit: 100\nlatency: 20ms\n"), &c)
	if err != nil || len(c.Keys) != 1 || c.Keys[0].Token != "a" || c.RateLimit != 100 || time.Duration(c.Latency) != 20*time.Millisecond {
		t.Errorf("%+v, %v", c, err)
	}
	if err := DecodeConfig("s.yaml", []byte("# nothing\n"), &c); err != nil || c.RateLimit != 100 {
		t.Errorf("empty document: %+v, %v", c, err)
	}
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown key", "keys: []\nrate_limt: 5\n", `s.yaml:2: unknown setting "rate_limt"`},
		{"wrong type", "rate_limit: fast\n", `s.yaml:1: "fast" is not a whole number`},
		{"fraction", "rate_limit: 0.5\n", `s.yaml:1: "0.5" is not a whole number`},
		{"bad duration", "keys: []\nlatency: soon\n", `s.yaml:2: time: invalid duration "soon"`},
		{"two problems", "burst: x\ndepth: y\n", "s.yaml:1: cannot unmarshal !!str `x` into int; s.yaml:2: cannot unmarshal !!str `y` into int"},
		{"not YAML", "keys: [\n", "s.yaml:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c testConfig
			err := DecodeConfig("s.yaml", []byte(tc.yaml), &c)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "struct") {
				t.Errorf("error %v, want one starting %q and naming no Go type", err, tc.want)
			}
		})
	}
}

func TestPlaceError(t *testing.T) {
	data := []byte("# a rehearsal\nkeys:\n  - token: a\n  - token: b\nfaults: {error_rate: 2}\n")
	bad := errors.New("bad")
	for _, tc := range []struct {
		err  error
		want string
	}{
		{At("keys", 1, bad), "s.yaml:4: bad"},
		{At("keys", -1, bad), "s.yaml:2: bad"},
		{At("keys", 5, bad), "s.yaml:2: bad"},
		{fmt.Errorf("wrapped: %w", At("faults", -1, bad)), "s.yaml:5: wrapped: bad"},
		{At("webhooks", 0, bad), "s.yaml: bad"},
		{bad, "s.yaml: bad"},
	} {
		got := PlaceError("s.yaml", data, tc.err)
		if got.Error() != tc.want || !errors.Is(got, bad) {
			t.Errorf("%v: %q, want %q wrapping it", tc.err, got, tc.want)
		}
	}
	if n := SettingLine([]byte("- a\n"), "keys", 0); n != 0 {
		t.Errorf("a list document: line %d", n)
	}
}

// sandboxFile is a configuration file holding every setting the kit
// reads for an emulator: faults and webhooks.
type sandboxFile struct {
	RateLimit Whole        `yaml:"rate_limit"`
	Webhooks  []string     `yaml:"webhooks"`
	Faults    FaultsConfig `yaml:"faults"`
}

type sandboxOptions struct {
	RateLimit int
	Webhooks  []string
	Faults    Faults
}

func loadSandbox(path string) (sandboxOptions, error) {
	return LoadConfig(path, func(f sandboxFile) (sandboxOptions, error) {
		o := sandboxOptions{RateLimit: int(f.RateLimit), Webhooks: f.Webhooks, Faults: f.Faults.Faults()}
		if o.RateLimit < 0 {
			return o, At("rate_limit", -1, fmt.Errorf("rate limit %d is negative", o.RateLimit))
		}
		if err := o.Faults.Validate(); err != nil {
			return o, At("faults", -1, err)
		}
		return o, CheckWebhooks(o.Webhooks)
	})
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sandbox.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLoadConfig reads a file through the kit's half of LoadConfig: the
// faults block as every emulator spells it, and each kind of mistake
// worded path:line: message at its line.
func TestLoadConfig(t *testing.T) {
	p := writeConfig(t, "# a rehearsal\nrate_limit: 100\nwebhooks: [http://127.0.0.1:9/hooks]\n"+
		"faults: {seed: 42, error_rate: 0.05, latency: 20ms, drop_rate: 0.01, lost_answer_rate: 0.02}\n")
	o, err := loadSandbox(p)
	want := Faults{Seed: 42, ErrorRate: 0.05, Latency: 20 * time.Millisecond, DropRate: 0.01, LostAnswerRate: 0.02}
	if err != nil || o.RateLimit != 100 || o.Faults != want || len(o.Webhooks) != 1 {
		t.Fatalf("%+v, %v", o, err)
	}
	if o, err := loadSandbox(writeConfig(t, "# nothing set\n")); err != nil || o.Faults != (Faults{}) || o.RateLimit != 0 {
		t.Errorf("empty file: %+v, %v", o, err)
	}
	for _, tc := range []struct{ name, yaml, want string }{
		{"misspelt fault", "faults:\n  seed: 1\n  lost_answers: 0.1\n", `:3: unknown setting "lost_answers"`},
		{"bad latency", "faults:\n  latency: soon\n", `:2: time: invalid duration "soon"`},
		{"rate above 1", "rate_limit: 5\nfaults: {error_rate: 1.5}\n", ":2: faults: error_rate 1.5 is not between 0 and 1"},
		{"negative", "# plan\nrate_limit: -5\n", ":2: rate limit -5 is negative"},
		{"webhook", "webhooks:\n  - http://127.0.0.1/ok\n  - ftp://127.0.0.1/no\n", `:3: webhook "ftp://127.0.0.1/no" is not an http(s) URL`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeConfig(t, tc.yaml)
			o, err := loadSandbox(p)
			if err == nil || !strings.HasPrefix(err.Error(), p+tc.want) {
				t.Errorf("error %v, want one starting %q", err, p+tc.want)
			}
			if o.RateLimit != 0 || o.Webhooks != nil || o.Faults != (Faults{}) {
				t.Errorf("options %+v beside an error", o)
			}
		})
	}
	if _, err := loadSandbox(filepath.Join(t.TempDir(), "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file: %v", err)
	}
}

func TestCheckWebhooks(t *testing.T) {
	if err := CheckWebhooks([]string{"http://127.0.0.1:9000/hooks", "https://hooks.example.com/x"}); err != nil {
		t.Errorf("good URLs: %v", err)
	}
	for i, bad := range []string{"127.0.0.1:9000/hooks", "/hooks", "http://", "mailto:a@example.com", "http://[::1"} {
		err := CheckWebhooks([]string{"http://127.0.0.1/ok", bad})
		var se *SettingError
		if !errors.As(err, &se) || se.Setting != "webhooks" || se.Index != 1 {
			t.Errorf("%d: %q: %v, want a SettingError of webhooks[1]", i, bad, err)
		}
	}
}
