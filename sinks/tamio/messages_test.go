package tamio

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crmsync/pipeline"
	"crmsync/sinks/tamio/tamiotest"
)

// A reject from the API says what is wrong with the row in its terms: the
// field and the row's value, never an index into crmsync's bulk body.
func TestRowMessage(t *testing.T) {
	const ghost = "00000000-0000-4000-8000-000000000000"
	rec := &pipeline.Record{Values: make([]string, len(schema.Fields))}
	rec.Values[fieldEmail] = "ana@example.com"
	rec.Values[fieldName] = "Ana"
	rec.Values[fieldPhone] = "+1"
	rec.Values[fieldTeammateID] = ghost
	cases := []struct {
		name      string
		err       APIError
		rec       *pipeline.Record
		field     string
		want, not []string
	}{
		{"teammate not found in a bulk create",
			APIError{Status: 400, Code: CodeNotFound, Field: "teammate_id", Index: 0, Message: "customers[0]: teammate " + ghost + " not found"}, rec,
			"teammate_id", []string{`teammate_id "` + ghost + `"`, "not a teammate of this tamio account", `lookup("tamio:teammates", owner_email)`, "leave teammate_id empty"},
			[]string{"customers[", "[0]"}},
		{"teammate not found in an assign",
			APIError{Status: 400, Code: CodeNotFound, Field: "teammate_id", Index: -1, Message: "teammate " + ghost + " not found"}, rec,
			"teammate_id", []string{`teammate_id "` + ghost + `"`, "not a teammate"}, nil},
		{"a bulk validation error with an index",
			APIError{Status: 400, Code: CodeValidation, Field: "phone", Index: 17, Message: `customers[17]: phone: "+1" is not an E.164 number: + and 7 to 15 digits`}, rec,
			"phone", []string{`tamio refused this row's phone: "+1" is not an E.164 number`}, []string{"customers", "17", "phone: phone"}},
		{"a field error that does not quote the value",
			APIError{Status: 400, Code: CodeValidation, Field: "name", Index: 3, Message: "customers[3]: name: is longer than 255 characters"}, rec,
			"name", []string{`tamio refused this row's name "Ana": is longer than 255 characters`}, []string{"customers", "[3]"}},
		{"a customer of a bulk assign not found",
			APIError{Status: 400, Code: CodeNotFound, Field: "customers", Index: 2, Message: "customers[2]: customer 5f0e not found"}, rec,
			"", []string{"tamio refused this row: customer 5f0e not found"}, []string{"customers[", "[2]"}},
		{"an address member stays in tamio's words",
			APIError{Status: 400, Code: CodeValidation, Field: "billing.city", Index: 4, Message: "customers[4]: billing.city: is required"}, rec,
			"billing.city", []string{"tamio refused this row: billing.city: is required"}, []string{"customers[4]"}},
		{"an email another customer holds",
			APIError{Status: 400, Code: CodeEmailUsed, Index: -1, Message: "email already used"}, rec,
			"email", []string{`email "ana@example.com" belongs to another tamio customer`, "merge"}, nil},
		{"no record at hand",
			APIError{Status: 400, Code: CodeNotFound, Field: "teammate_id", Index: 0, Message: "customers[0]: teammate " + ghost + " not found"}, nil,
			"teammate_id", []string{"teammate " + ghost + " not found", "not a teammate"}, []string{"customers["}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			field, msg := rowMessage(&c.err, c.rec)
			if field != c.field {
				t.Errorf("field %q, want %q", field, c.field)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
			for _, w := range c.not {
				if strings.Contains(msg, w) {
					t.Errorf("message %q holds %q", msg, w)
				}
			}
		})
	}
}

// The emulator's own answer to a bulk create naming an unknown teammate
// reaches the row's reject rewritten: the row's field and value, no body
// index, the code kept.
func TestBulkRejectSpeaksOfTheRow(t *testing.T) {
	srv, err := tamiotest.NewServer(tamiotest.Options{DBPath: filepath.Join(t.TempDir(), "tamio.db"), BulkDelay: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	s, err := New(Options{BaseURL: srv.URL, APIKey: srv.APIKey, PollInterval: 20 * time.Millisecond, ConfirmTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	mapped := make([]bool, len(schema.Fields))
	for i := range mapped {
		mapped[i] = true
	}
	if err := s.Prepare(ctx, pipeline.Plan{Mapped: mapped, Mode: pipeline.ModeUpsert}); err != nil {
		t.Fatal(err)
	}
	tm := tamiotest.DefaultTeammates()
	const ghost = "00000000-0000-4000-8000-000000000000"
	chs := make([]pipeline.Change, 6)
	for i := range chs {
		teammate := tm[i%len(tm)].ID
		if i == 3 {
			teammate = ghost
		}
		v := []string{fmt.Sprintf("p%d@example.com", i), fmt.Sprintf("Name%d", i), "", "de", "en", "+01:00", "normal", "customer", "", teammate}
		chs[i] = pipeline.Change{Record: &pipeline.Record{Row: &pipeline.Row{Num: int64(i + 1)}, Key: fmt.Sprint(i), Values: v}}
	}
	res := make([]pipeline.Result, len(chs))
	if err := s.Apply(ctx, chs, res); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if i != 3 {
			if r.Outcome != pipeline.OutcomeCreated {
				t.Errorf("row %d: %v %v, want created", i, r.Outcome, r.Reject)
			}
			continue
		}
		rej := r.Reject
		if r.Outcome != pipeline.OutcomeRejected || rej == nil {
			t.Fatalf("row 3: %v, want rejected", r.Outcome)
		}
		if rej.Code != "1002" || rej.Field != "teammate_id" {
			t.Errorf("row 3: code %q field %q, want 1002 teammate_id", rej.Code, rej.Field)
		}
		if !strings.HasPrefix(rej.Message, `teammate_id "`+ghost+`" is not a teammate`) || strings.Contains(rej.Message, "customers[") {
			t.Errorf("row 3: message %q", rej.Message)
		}
	}
}
