package revnuetest

import "crmsync/internal/emulator"

// LoadConfig reads a sandbox configuration file:
//
//	tokens:
//	  - {token: rv_test_rehearsal, name: rehearsal}
//	rate_limit: 100            # requests a minute for the account, all tokens together
//	companies: [1, 2]
//	categories:
//	  - {id: 1, name: Default}
//	  - {id: 7, name: Wholesale}
//	template:
//	  id: 1
//	  name: Default
//	  fields:
//	    - {id: 1, key: contract_value, type: money}
//	    - {id: 2, key: seats, type: number}
//	    - {id: 3, key: renewal_date, type: date}
//	    - {id: 4, key: account_tier, type: text}
//	faults: {seed: 1, error_rate: 0.05, latency: 20ms, drop_rate: 0.01, lost_answer_rate: 0.01}
//
// Every setting is optional; an absent one takes the default of
// [Options]. An unknown one is an error, so that a misspelt setting does
// not silently leave a rehearsal without its faults or limits. Errors
// read path:line: message. The result is checked as [NewServer] would
// check it; Addr, DBPath and Logger are left for the caller.
func LoadConfig(path string) (Options, error) {
	type file struct {
		Tokens []struct {
			Token string `yaml:"token"`
			Name  string `yaml:"name"`
		} `yaml:"tokens"`
		RateLimit  emulator.Whole   `yaml:"rate_limit"`
		Companies  []emulator.Whole `yaml:"companies"`
		Categories []struct {
			ID   emulator.Whole `yaml:"id"`
			Name string         `yaml:"name"`
		} `yaml:"categories"`
		Template *struct {
			ID     emulator.Whole `yaml:"id"`
			Name   string         `yaml:"name"`
			Fields []struct {
				ID   emulator.Whole `yaml:"id"`
				Key  string         `yaml:"key"`
				Type string         `yaml:"type"`
			} `yaml:"fields"`
		} `yaml:"template"`
		Faults emulator.FaultsConfig `yaml:"faults"`
	}
	return emulator.LoadConfig(path, func(c file) (Options, error) {
		var o Options
		for _, t := range c.Tokens {
			o.Tokens = append(o.Tokens, Token{Token: t.Token, Name: t.Name})
		}
		o.RateLimit = int(c.RateLimit)
		for _, id := range c.Companies {
			o.Companies = append(o.Companies, int64(id))
		}
		for _, cat := range c.Categories {
			o.Categories = append(o.Categories, Category{ID: int64(cat.ID), Name: cat.Name})
		}
		if t := c.Template; t != nil {
			o.Template = &Template{ID: int64(t.ID), Name: t.Name}
			for _, f := range t.Fields {
				o.Template.Fields = append(o.Template.Fields, TemplateField{ID: int64(f.ID), Key: f.Key, Type: f.Type})
			}
		}
		o.Faults = c.Faults.Faults()
		// Checked on a copy: the caller gets the file's values, not the
		// defaults, so that NewServer still applies them.
		_, err := o.withDefaults()
		return o, err
	})
}
