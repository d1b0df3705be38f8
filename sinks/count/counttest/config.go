package counttest

import "crmsync/internal/emulator"

// LoadConfig reads a sandbox configuration file:
//
//	clients:
//	  - token: count_rehearsal_token
//	    client_id: rehearsal
//	    client_secret: rehearsal-secret
//	    name: rehearsal           # names the client in logs and stats; default the client id
//	rate_limit: 100               # requests a minute per client id (COUNT's: 100)
//	faults: {seed: 1, error_rate: 0.05, latency: 20ms, drop_rate: 0.01, lost_answer_rate: 0.01}
//
// Every setting is optional. An unknown one is an error, so that a
// misspelt setting does not silently leave a rehearsal without its faults
// or limits. Errors read path:line: message. The result is checked as
// [NewServer] would check it; Addr, DBPath, Logger and Now are left for
// the caller.
func LoadConfig(path string) (Options, error) {
	type file struct {
		Clients []struct {
			Token        string `yaml:"token"`
			ClientID     string `yaml:"client_id"`
			ClientSecret string `yaml:"client_secret"`
			Name         string `yaml:"name"`
		} `yaml:"clients"`
		RateLimit emulator.Whole        `yaml:"rate_limit"`
		Faults    emulator.FaultsConfig `yaml:"faults"`
	}
	return emulator.LoadConfig(path, func(c file) (Options, error) {
		var o Options
		for _, k := range c.Clients {
			o.Clients = append(o.Clients, Client{Token: k.Token, ClientID: k.ClientID,
				ClientSecret: k.ClientSecret, Name: k.Name})
		}
		o.RateLimit = int(c.RateLimit)
		o.Faults = c.Faults.Faults()
		// Checked on a copy: the caller gets the file's values, not the
		// defaults, so that NewServer still applies them.
		_, err := o.withDefaults()
		return o, err
	})
}
