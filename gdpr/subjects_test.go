package gdpr_test

import (
	"reflect"
	"strings"
	"testing"

	"crmsync/gdpr"
)

func TestExportSubjectsFile(t *testing.T) {
	in := "\uFEFFName, Email ,ID\r\n" +
		"Ada,ada@example.com,\r\n" +
		"Bob,,0b5f0e0a-1111-4222-8333-444455556666\r\n" +
		"Ada again,ADA@example.com,\r\n" + // the same subject by case
		"Cy,cy@example.org,0b5f0e0a-1111-4222-8333-777788889999\r\n" +
		"Short row,dee@example.net\r\n"
	got, err := gdpr.ReadSubjects(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []gdpr.Subject{
		{Row: 1, Email: "ada@example.com"},
		{Row: 2, ID: "0b5f0e0a-1111-4222-8333-444455556666"},
		{Row: 4, ID: "0b5f0e0a-1111-4222-8333-777788889999", Email: "cy@example.org"},
		{Row: 5, Email: "dee@example.net"},
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
			_, err := gdpr.ReadSubjects(strings.NewReader(tc.in))
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
