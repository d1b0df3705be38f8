package counttest

// This file holds what every emulator needs and internal/emulator does
// not offer yet (requested in /tmp/crm/requests-counttest.md): the faults
// setting as YAML and the folding of case-insensitive keys. Nothing in it
// knows COUNT; it goes when the kit has it.

import (
	"strings"
	"time"
	"unicode"

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

// foldKey is the form in which text is compared case-insensitively: each
// character replaced by the smallest of its Unicode simple case folds, so
// that two strings have one key exactly when strings.EqualFold says they
// are equal, and a substring of one folds to a substring of its key.
func foldKey(s string) string {
	return strings.Map(func(r rune) rune {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		return m
	}, s)
}
