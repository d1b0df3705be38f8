package httpapi_test

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"

	"crmsync/internal/httpapi"
)

// TestRedactor: a key is removed in every form a server may echo it in,
// and so is any bearer token or Authorization header value.
func TestRedactor(t *testing.T) {
	const key = "sk_live/4f1d+9c2e=8b7a"
	r := httpapi.NewRedactor(key, "")
	for _, text := range []string{
		"Authorization: Bearer " + key,
		`{"error":"bad key ` + strings.ReplaceAll(key, "/", `\/`) + `"}`,
		`{"error":"bad key ` + key + `"}`,
		"GET /x?key=" + url.QueryEscape(key),
		"/keys/" + url.PathEscape(key) + "/x",
		"Basic " + base64.StdEncoding.EncodeToString([]byte(key)),
		key + key,
	} {
		got := r.String(text)
		if strings.Contains(got, "4f1d") || strings.Contains(got, "8b7a") || !strings.Contains(got, httpapi.Redacted) {
			t.Errorf("String(%q) = %q", text, got)
		}
	}
	// Credentials that are not the key: a proxy's, or another client's.
	for text, want := range map[string]string{
		`"Authorization": "Bearer abcdefghijkl"`:  `"Authorization": "Bearer ` + httpapi.Redacted + `"`,
		"authorization=Basic dXNlcjpwYXNz; next":  "authorization=Basic " + httpapi.Redacted + "; next",
		"sent bearer 0123456789abcdef, refused":   "sent bearer " + httpapi.Redacted + ", refused",
		"a bearer token is required":              "a bearer token is required",
		"basic validation failed for field email": "basic validation failed for field email",
	} {
		if got := r.String(text); got != want {
			t.Errorf("String(%q) = %q, want %q", text, got, want)
		}
	}
	if got := (*httpapi.Redactor)(nil).String("Bearer 0123456789abcdef"); got != "Bearer "+httpapi.Redacted {
		t.Errorf("a nil redactor: %q", got)
	}
}
