package tiquotest

// This file holds what every emulator's options and sandbox configuration
// file need and internal/emulator does not offer yet (requested of its
// owner): the faults setting as YAML and the check of webhook URLs.
// Nothing in it knows tiquo; it goes when the kit has it.

import (
	"fmt"
	"net/url"
	"time"

	"crmsync/internal/emulator"
)

// faultsYAML is the faults setting of a configuration file.
type faultsYAML struct {
	Seed           int64             `yaml:"seed"`
	ErrorRate      float64           `yaml:"error_rate"`
	Latency        emulator.Duration `yaml:"latency"`
	DropRate       float64           `yaml:"drop_rate"`
	LostAnswerRate float64           `yaml:"lost_answer_rate"`
}

func (f faultsYAML) faults() Faults {
	return Faults{Seed: f.Seed, ErrorRate: f.ErrorRate, Latency: time.Duration(f.Latency),
		DropRate: f.DropRate, LostAnswerRate: f.LostAnswerRate}
}

// checkWebhooks refuses a webhook that is not an absolute http(s) URL,
// naming it as element i of the webhooks setting.
func checkWebhooks(urls []string) error {
	for i, w := range urls {
		u, err := url.Parse(w)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return emulator.At("webhooks", i, fmt.Errorf("webhook %q is not an http(s) URL", w))
		}
	}
	return nil
}
