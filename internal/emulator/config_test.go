package emulator

import (
	"errors"
	"fmt"
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
