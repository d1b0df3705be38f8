package tiquotest

import "crmsync/internal/emulator"

// LoadConfig reads a sandbox configuration file:
//
//	keys:
//	  - token: sk_test_rehearsal
//	    name: rehearsal
//	    scopes: [customers:read, customers:write]
//	  - {token: sk_test_reader, name: reader, scopes: [customers:read]}
//	rate_limit: 1000          # requests a minute per key; tiquo's plans: 100, 1000, 10000
//	webhooks: [http://127.0.0.1:9000/hooks]
//	faults: {seed: 1, error_rate: 0.05, latency: 20ms, drop_rate: 0.01, lost_answer_rate: 0.01}
//
// Every setting is optional. An unknown one is an error, so that a
// misspelt setting does not silently leave a rehearsal without its faults
// or limits. Errors read path:line: message. The result is checked as
// [NewServer] would check it; Addr, DBPath and Logger are left for the
// caller.
func LoadConfig(path string) (Options, error) {
	type file struct {
		Keys []struct {
			Token  string   `yaml:"token"`
			Name   string   `yaml:"name"`
			Scopes []string `yaml:"scopes"`
		} `yaml:"keys"`
		RateLimit emulator.Whole        `yaml:"rate_limit"`
		Webhooks  []string              `yaml:"webhooks"`
		Faults    emulator.FaultsConfig `yaml:"faults"`
	}
	return emulator.LoadConfig(path, func(c file) (Options, error) {
		var o Options
		for _, k := range c.Keys {
			o.Keys = append(o.Keys, Key{Token: k.Token, Name: k.Name, Scopes: k.Scopes})
		}
		o.RateLimit = int(c.RateLimit)
		o.Webhooks = c.Webhooks
		o.Faults = c.Faults.Faults()
		// Checked on a copy: the caller gets the file's values, not the
		// defaults, so that NewServer still applies them.
		_, err := o.withDefaults()
		return o, err
	})
}
