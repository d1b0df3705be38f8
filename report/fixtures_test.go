package report_test

import (
	"math"
	"strings"
	"time"

	"crmsync/report"
)

// nightlyRun is a realistic nightly mirror run over a million customers,
// with rejects, warnings and history: the page as users mostly see it.
func nightlyRun() *report.Run {
	start := time.Date(2026, 3, 14, 2, 0, 3, 0, time.UTC)
	r := &report.Run{
		ID:         42,
		Source:     "/var/lib/crmsync/exports/customers-2026-03-14.csv.gz",
		Mapping:    "customers.tamio.yaml",
		Target:     "https://api.tamio.com/v2",
		Mode:       "mirror",
		Status:     "done_with_rejects",
		StartedAt:  start,
		FinishedAt: start.Add(7*time.Minute + 38*time.Second),
		Counts: report.Counts{
			Read: 1_048_576, Created: 2_311, Updated: 10_482, Unchanged: 1_035_402, Rejected: 381, Deleted: 57,
		},
		Phases: []report.Phase{
			{Name: "load state", Seconds: 3.84},
			{Name: "index account", Seconds: 41.2},
			{Name: "read and send", Seconds: 388.5},
			{Name: "deletes", Seconds: 1.92},
			{Name: "reports", Seconds: 2.61},
		},
		FieldChanges: []report.FieldCount{
			{Field: "email", Count: 4_812},
			{Field: "phone", Count: 3_977},
			{Field: "address.city", Count: 2_140},
			{Field: "name", Count: 1_310},
			{Field: "marketing_opt_in", Count: 904},
			{Field: "tags", Count: 655},
			{Field: "company", Count: 412},
			{Field: "vat_number", Count: 108},
			{Field: "birthday", Count: 31},
		},
		Rejects: []report.RejectGroup{
			{Stage: "validate", Code: "invalid_email", Count: 212, Examples: []report.RejectExample{
				{Row: 1_207, Line: 1_208, Column: "E-mail", Field: "email", Message: `"anna.schmidt@@example.de" is not an email address`},
				{Row: 88_410, Line: 88_411, Column: "E-mail", Field: "email", Message: `"jo at example.com" is not an email address`},
				{Row: 301_977, Line: 301_980, Column: "E-mail", Field: "email", Message: `"" is not an email address: the field is required`},
				{Row: 412_000, Line: 412_003, Column: "E-mail", Field: "email", Message: "a fourth example, which the page leaves out"},
			}},
			{Stage: "api", Code: "10142", Count: 97, Examples: []report.RejectExample{
				{Row: 5_530, Line: 5_531, Field: "phone", Message: "Phone number +49 30 1234 is not valid for country DE (tamio error 10142)"},
			}},
			{Stage: "map", Code: "enum", Count: 51, Examples: []report.RejectExample{
				{Row: 77, Line: 77, Column: "Status", Field: "lifecycle_stage", Message: `"VIP-Gold" is not one of lead, customer, churned`},
				{Row: 1_903, Line: 1_903, Column: "Status", Field: "lifecycle_stage", Message: `"Kunde" is not one of lead, customer, churned`},
			}},
			{Stage: "read", Code: "field_count", Count: 21, Examples: []report.RejectExample{
				{Row: 640_112, Line: 640_115, Message: "23 values where the header has 21 columns"},
			}},
		},
		Failing: []report.FailingRow{
			{Key: "C-0019283", CRMID: "cus_8fk2Lw", Runs: 9, Code: "10142", Message: "Phone number +49 30 1234 is not valid for country DE (tamio error 10142)"},
			{Key: "C-0440017", CRMID: "", Runs: 4, Code: "invalid_email", Message: `"jo at example.com" is not an email address`},
			{Key: "C-0988120", CRMID: "cus_Q0a91z", Runs: 3, Code: "409", Message: "conflict: another customer already uses this email"},
		},
		Warnings: []string{
			"Mirror mode deleted 57 customers missing from today's source (--max-delete 5% allows up to 52,428).",
			"Field phone would have been blanked on 1,204 customers that hold a value in the CRM; those values were kept.",
		},
	}
	r.API.Calls, r.API.Retries, r.API.RateLimited = 168, 6, 2
	statuses := []string{"done", "done", "done_with_rejects", "interrupted", "done"}
	for i, st := range statuses {
		day := start.AddDate(0, 0, -(i + 1))
		r.History = append(r.History, report.HistoryRun{
			ID: int64(41 - i), StartedAt: day, Status: st,
			Counts: report.Counts{
				Read: 1_048_000 - int64(i)*310, Created: 1_900 + int64(i)*53, Updated: 9_800 + int64(i)*411,
				Unchanged: 1_036_000 - int64(i)*900, Rejected: int64(i) * 97, Deleted: int64(i) * 3,
			},
		})
	}
	return r
}

// dryRunInterrupted is a dry run stopped by SIGINT with a fatal error: the
// pending rows, the dry-run wording and the error box.
func dryRunInterrupted() *report.Run {
	start := time.Date(2026, 3, 15, 9, 30, 0, 0, time.FixedZone("CET", 3600))
	r := &report.Run{
		ID: 43, Source: "samples/customers.csv", Mapping: "samples/customers.tamio.yaml", Target: "sandbox",
		Mode: "upsert", DryRun: true, Status: "interrupted", Error: "interrupted by SIGINT; state and reports flushed",
		StartedAt: start, FinishedAt: start.Add(12 * time.Second),
		Counts: report.Counts{Read: 3_000, Created: 1_200, Updated: 300, Unchanged: 0, Rejected: 0, Pending: 1_500},
		Phases: []report.Phase{{Name: "read and send", Seconds: 11.9}},
	}
	r.API.Calls = 4
	return r
}

// extremeRun stresses the page: counts near the int64 limit, strings long
// enough to overflow any layout that does not wrap, and markup in every
// string.
func extremeRun() *report.Run {
	long := strings.Repeat("x", 600)
	path := "/mnt/" + strings.Repeat("very-long-directory-name/", 20) + "customers.csv"
	big := int64(math.MaxInt64 / 4)
	return &report.Run{
		ID: math.MaxInt64, Source: path, Mapping: path + ".yaml", Target: "https://api.tamio.com/v2/" + long,
		Mode: "mirror", Status: "some_new_status_" + long, Error: `<script>alert("e")</script> ` + long,
		StartedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), FinishedAt: time.Date(2026, 1, 3, 5, 0, 0, 0, time.UTC),
		Counts: report.Counts{Read: math.MaxInt64, Created: big, Updated: big, Unchanged: big, Rejected: big, Deleted: math.MaxInt64, Pending: 1},
		Phases: []report.Phase{{Name: long, Seconds: 1e9}, {Name: "<b>nan</b>", Seconds: math.NaN()}, {Name: "inf", Seconds: math.Inf(1)}},
		FieldChanges: []report.FieldCount{
			{Field: long, Count: math.MaxInt64}, {Field: "<img src=x>", Count: big},
		},
		Rejects: []report.RejectGroup{{Stage: "<i>api</i>", Code: long, Count: math.MaxInt64, Examples: []report.RejectExample{
			{Row: math.MaxInt64, Line: math.MaxInt64, Column: long, Field: long, Message: long},
		}}},
		Failing:  []report.FailingRow{{Key: long, CRMID: long, Runs: math.MaxInt32, Code: long, Message: long}},
		Warnings: []string{long, `<a href="http://evil.example">click</a>`},
		History:  []report.HistoryRun{{ID: math.MaxInt64, Status: long, Counts: report.Counts{Read: math.MaxInt64, Created: math.MaxInt64}}},
	}
}
