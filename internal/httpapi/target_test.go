package httpapi_test

import (
	"errors"
	"strings"
	"testing"

	"crmsync/internal/httpapi"
)

// TestCheckBaseURL: what a base URL may be before anything is sent to it,
// and that no refusal quotes a password, a query or a fragment.
func TestCheckBaseURL(t *testing.T) {
	const secret = "s3cr3t-Pa55"
	for _, c := range []struct {
		raw       string
		cleartext bool
		want      string // "" when refused
		err       error
	}{
		{"https://api.tamio.com/v2/", false, "https://api.tamio.com/v2", nil},
		{"https://api.tamio.com:8443/v2", false, "https://api.tamio.com:8443/v2", nil},
		{"http://127.0.0.1:8080/v2", false, "http://127.0.0.1:8080/v2", nil},
		{"http://127.8.9.10/v2", false, "http://127.8.9.10/v2", nil},
		{"http://localhost:8080/v2", false, "http://localhost:8080/v2", nil},
		{"http://[::1]:8080/v2", false, "http://[::1]:8080/v2", nil},
		{"http://api.tamio.com/v2", false, "", httpapi.ErrCleartext},
		{"http://10.0.0.5/v2", false, "", httpapi.ErrCleartext},
		{"http://localhost.example.com/v2", false, "", httpapi.ErrCleartext},
		{"http://api.tamio.com/v2", true, "http://api.tamio.com/v2", nil},
		{"https://user:" + secret + "@api.tamio.com/v2", false, "", httpapi.ErrCredentialsInURL},
		{"https://" + secret + "@api.tamio.com/v2", false, "", httpapi.ErrCredentialsInURL},
		{"http://user:" + secret + "@127.0.0.1:9/v2", true, "", httpapi.ErrCredentialsInURL},
		{"https://api.tamio.com/v2?api_key=" + secret, false, "", nil},
		{"https://api.tamio.com/v2#" + secret, false, "", nil},
		{"https://api.tamio.com/v2?", false, "", nil},
		{"https://user:" + secret + "%zz@api.tamio.com/v2", false, "", nil}, // not a URL
		{"https://us?er:" + secret + "@api.tamio.com/v2", false, "", nil},
		{"ftp://api.tamio.com/v2", false, "", nil},
		{"api.tamio.com/v2", false, "", nil},
		{"https:///v2", false, "", nil},
	} {
		got, err := httpapi.CheckBaseURL(c.raw, c.cleartext)
		if c.want != "" {
			if err != nil || got != c.want {
				t.Errorf("CheckBaseURL(%q, %v) = %q, %v; want %q", c.raw, c.cleartext, got, err, c.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("CheckBaseURL(%q, %v) = %q, want it refused", c.raw, c.cleartext, got)
			continue
		}
		if c.err != nil && !errors.Is(err, c.err) {
			t.Errorf("CheckBaseURL(%q): %v, want %v", c.raw, err, c.err)
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("CheckBaseURL(%q): the refusal quotes the secret: %v", c.raw, err)
		}
	}
}

// TestPublic: a URL as logs and messages may show it.
func TestPublic(t *testing.T) {
	for raw, want := range map[string]string{
		"https://api.tamio.com/v2":                              "https://api.tamio.com/v2",
		"https://u:pw@api.tamio.com/v2/customers?filter=a%40b":  "https://api.tamio.com/v2/customers",
		"http://127.0.0.1:9/x#frag":                             "http://127.0.0.1:9/x",
		"https://u:p%zz@host/v2":                                "https://…@host/v2",
		"https://u:p?w@host/v2":                                 "https://…@host/v2",
		"https://u:p/w@host:99999999/v2?filter=someone%40x.org": "https://…@host:99999999/v2",
	} {
		if got := httpapi.Public(raw); got != want {
			t.Errorf("Public(%q) = %q, want %q", raw, got, want)
		}
	}
}
