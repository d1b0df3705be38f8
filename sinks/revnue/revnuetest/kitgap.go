package revnuetest

// This file holds what every emulator's sandbox configuration file needs
// and internal/emulator does not offer yet (requested of its owner): the
// faults setting as YAML. Nothing in it knows Revnue; it goes when the kit
// has it.

import (
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
