package all_test

import (
	"slices"
	"testing"

	"crmsync/crm"
	_ "crmsync/crm/all"
	"crmsync/pipeline/sinktest"
)

// known are the connectors crm/all must link in: a connector that drops
// out of the build fails here, not only in the CLI.
var known = []string{"count", "revnue", "tamio", "tiquo"}

// hints are what the conformance suite cannot learn from a connector's
// schema, by connector name: data only. A connector without an entry
// runs with none (its id fields unmapped).
var hints = map[string]sinktest.Hints{
	"tamio": {
		// The teammates every tamio sandbox holds unless configured
		// otherwise (tamiotest.DefaultTeammates).
		Values: map[string][]string{"teammate_id": {
			"7d6a3f0e-2c4b-4e8a-9f1d-1a2b3c4d5e01",
			"7d6a3f0e-2c4b-4e8a-9f1d-1a2b3c4d5e02",
			"7d6a3f0e-2c4b-4e8a-9f1d-1a2b3c4d5e03",
		}},
		// A well-formed UUID no teammate has: tamio answers 1002.
		Refused: map[string]string{"teammate_id": "00000000-0000-4000-8000-000000000000"},
	},
	"count": {
		// crmsync takes a top-level domain of letters and digits; COUNT
		// wants letters, and answers validation_error.
		Refused: map[string]string{"email": "refused@example.c0m"},
		// COUNT's answers carry no rate limit: the sink paces at --rate
		// or the documented 100 a minute.
		RateFromConfig: true,
	},
	"revnue": {
		// The emulator's default account: company 1, categories 1 to 3;
		// countries by ISO numeric code.
		Values: map[string][]string{"company": {"1"}, "category": {"1", "2", "3"},
			"country": {"276", "250", "826"}},
		// No category of the account has the id 99: Revnue answers 400.
		Refused: map[string]string{"category": "99"},
		// Revnue's answers carry no rate limit.
		RateFromConfig: true,
	},
	"tiquo": {
		// crmsync takes a top-level domain of letters and digits; tiquo
		// wants letters only, and answers validation_error.
		Refused: map[string]string{"email": "refused@example.c1"},
	},
}

func TestKnownConnectorsAreRegistered(t *testing.T) {
	names := crm.Names()
	for _, n := range known {
		if !slices.Contains(names, n) {
			t.Errorf("connector %q is not registered; crm/all links in %v", n, names)
		}
	}
	for n := range hints {
		if !slices.Contains(names, n) {
			t.Errorf("hints are given for %q, which is not registered", n)
		}
	}
}

// TestConformance runs the conformance suite for every connector crm/all
// links in, so that none is registered without passing it; a connector
// whose every behaviour skipped fails.
func TestConformance(t *testing.T) {
	all := crm.All()
	if len(all) == 0 {
		t.Fatal("crm/all registers no connector")
	}
	for _, c := range all {
		t.Run(c.Name, func(t *testing.T) {
			sum := sinktest.RunConnector(t, c, hints[c.Name])
			t.Logf("%s: %d behaviours ran, %d skipped %v", c.Name, len(sum.Ran), len(sum.Skipped), sum.Skipped)
			if len(sum.Ran) == 0 {
				t.Errorf("connector %s was registered but the conformance suite ran none of its behaviours", c.Name)
			}
		})
	}
}
