package tamiotest

import (
	"time"

	"crmsync/internal/emulator"
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
	type file struct {
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
		RateLimit float64               `yaml:"rate_limit"`
		RateBurst int                   `yaml:"rate_burst"`
		BulkDelay emulator.Duration     `yaml:"bulk_delay"`
		Webhooks  []string              `yaml:"webhooks"`
		Faults    emulator.FaultsConfig `yaml:"faults"`
	}
	return emulator.LoadConfig(path, func(c file) (Options, error) {
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
		o.Faults = c.Faults.Faults()
		// Checked on a copy: the caller gets the file's values, not the
		// defaults, so that NewServer still applies them.
		_, err := o.withDefaults()
		return o, err
	})
}
