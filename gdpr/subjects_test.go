package gdpr_test

import (
	"reflect"
	"strings"
	"testing"

	"crmsync/gdpr"
	"crmsync/pipeline"
)

// emailColumn is the match column of an API matching by email, without
// regard to case.
var emailColumn = gdpr.MatchColumn{Name: "email", Fold: true}

func TestExportSubjectsFile(t *testing.T) {
	in := "\uFEFFName, Email ,ID\r\n" +
		"Ada,ada@example.com,\r\n" +
		"Bob,,0b5f0e0a-1111-4222-8333-444455556666\r\n" +
		"Ada again,ADA@example.com,\r\n" + // the same subject by case
		"Cy,cy@example.org,0b5f0e0a-1111-4222-8333-777788889999\r\n" +
		"Short row,dee@example.net\r\n"
	got, err := gdpr.ReadSubjects(strings.NewReader(in), emailColumn)
	if err != nil {
		t.Fatal(err)
	}
	want := []gdpr.Subject{
		{Row: 1, Match: "ada@example.com"},
		{Row: 2, ID: "0b5f0e0a-1111-4222-8333-444455556666"},
		{Row: 4, ID: "0b5f0e0a-1111-4222-8333-777788889999", Match: "cy@example.org"},
		{Row: 5, Match: "dee@example.net"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestExportSubjectsFileRefusals(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"empty file", "", "empty"},
		{"no email or id column", "name,phone\nsecret.person@example.com,+4930123456\n", "neither an email nor an id column"},
		{"header only", "email\n", "no rows"},
		{"a row naming nobody", "email,id\nsecret.person@example.com,\n,\n", "row 2"},
		{"email column twice", "email,email\nsecret.person@example.com,x@example.com\n", `"email" 2 times`},
		{"broken quoting", "email\n\"secret.person@example.com\n", "not valid CSV"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := gdpr.ReadSubjects(strings.NewReader(tc.in), emailColumn)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			// Errors reach logs: they must not quote the file's values.
			if strings.Contains(err.Error(), "secret.person") {
				t.Errorf("error %q quotes an email", err)
			}
		})
	}
}

// TestSubjectsMatchColumn reads subjects files for APIs that match by
// something other than a field called email: a case-sensitive member
// code, whose values differing in case name two people, and an email
// field of another name, which the "email" column every subjects file
// has had still names.
func TestSubjectsMatchColumn(t *testing.T) {
	code := gdpr.MatchColumnOf(&pipeline.Schema{MatchField: "memberCode", Fields: []pipeline.Field{{Name: "memberCode"}}})
	got, err := gdpr.ReadSubjects(strings.NewReader("MemberCode ,id\nAB-1,\nab-1,\nAB-1,\n,c9\n"), code)
	if err != nil {
		t.Fatal(err)
	}
	want := []gdpr.Subject{{Row: 1, Match: "AB-1"}, {Row: 2, Match: "ab-1"}, {Row: 4, ID: "c9"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("case-sensitive codes: got %+v\nwant %+v", got, want)
	}
	if _, err := gdpr.ReadSubjects(strings.NewReader("email\nsecret.person@example.com\n"), code); err == nil ||
		!strings.Contains(err.Error(), "neither a memberCode nor an id column") {
		t.Errorf("an email column for a member code API: %v", err)
	}

	mail := gdpr.MatchColumnOf(&pipeline.Schema{MatchField: "email_address", MatchFold: true,
		Fields: []pipeline.Field{{Name: "email_address", Kind: pipeline.KindEmail}}})
	for _, head := range []string{"email", "Email_Address"} {
		got, err := gdpr.ReadSubjects(strings.NewReader(head+"\nada@example.com\nADA@example.com\n"), mail)
		if err != nil || !reflect.DeepEqual(got, []gdpr.Subject{{Row: 1, Match: "ada@example.com"}}) {
			t.Errorf("%s column: %+v, %v", head, got, err)
		}
	}
	if _, err := gdpr.ReadSubjects(strings.NewReader("email,email_address\na@example.com,b@example.com\n"), mail); err == nil ||
		strings.Contains(err.Error(), "example.com") {
		t.Errorf("two match columns: %v", err)
	}
}

// TestSubjectsEmailColumn reads subjects files for an API whose match
// field holds no email (a company's name), where people may also be named
// by email, and for a request across several CRMs, which names them by
// email only.
func TestSubjectsEmailColumn(t *testing.T) {
	name := gdpr.SubjectColumnsOf(&pipeline.Schema{MatchField: "name", MatchFold: true,
		Fields: []pipeline.Field{{Name: "name"}, {Name: "contact.email"}}})
	if name.Email != gdpr.EmailColumn {
		t.Fatalf("columns of a name-matched API: %+v", name)
	}
	got, err := gdpr.ReadSubjects(strings.NewReader("Email,name,id\n"+
		"ada@example.com,,\n"+
		"ADA@example.com ,,\n"+ // the same person by case
		",Acme Ltd,\n"+
		"bob@example.org,Bob & Co,\n"+
		",,c9\n"), name)
	if err != nil {
		t.Fatal(err)
	}
	want := []gdpr.Subject{{Row: 1, Email: "ada@example.com"}, {Row: 3, Match: "Acme Ltd"},
		{Row: 4, Match: "Bob & Co", Email: "bob@example.org"}, {Row: 5, ID: "c9"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if _, err := gdpr.ReadSubjects(strings.NewReader("phone\n+4930123\n"), name); err == nil ||
		!strings.Contains(err.Error(), "none of a name, an email or an id column") {
		t.Errorf("no column to name people by: %v", err)
	}
	if _, err := gdpr.ReadSubjects(strings.NewReader("email,name\nsecret.person@example.com,\n,\n"), name); err == nil ||
		!strings.Contains(err.Error(), "row 2") || !strings.Contains(err.Error(), "name and email are empty") {
		t.Errorf("a row naming nobody: %v", err)
	}

	// An API matching by email has no second email column.
	if m := gdpr.SubjectColumnsOf(&pipeline.Schema{MatchField: "email", Fields: []pipeline.Field{{Name: "email", Kind: pipeline.KindEmail}}}); m.Email != "" {
		t.Errorf("columns of an email-matched API: %+v", m)
	}

	got, err = gdpr.ReadSubjects(strings.NewReader("name,email\nAda,ada@example.com\nAda,Ada@Example.com\n"), gdpr.AcrossColumns)
	if err != nil || !reflect.DeepEqual(got, []gdpr.Subject{{Row: 1, Email: "ada@example.com"}}) {
		t.Errorf("across CRMs: %+v, %v", got, err)
	}
	for in, msg := range map[string]string{
		"id,email\nc9,secret.person@example.com\n": "each CRM has ids of its own",
		"name\nsecret person\n":                    "no email column",
	} {
		if _, err := gdpr.ReadSubjects(strings.NewReader(in), gdpr.AcrossColumns); err == nil || !strings.Contains(err.Error(), msg) ||
			strings.Contains(err.Error(), "secret") {
			t.Errorf("across CRMs, %q: %v", in, err)
		}
	}
}
