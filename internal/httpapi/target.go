package httpapi

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Errors of CheckBaseURL that a caller may want to tell apart.
var (
	// ErrCleartext: http:// to a host other than this machine.
	ErrCleartext = errors.New("http:// sends the API key and customer data in cleartext")
	// ErrCredentialsInURL: the URL holds a user name or password.
	ErrCredentialsInURL = errors.New("the URL holds a user name or password")
)

// CheckBaseURL checks the base URL of an API before anything is sent to
// it and returns it without a trailing slash. It refuses:
//
//   - a scheme other than http and https, or no host;
//   - a user name or password (https://user:secret@host): crmsync takes
//     credentials from the environment only, and a URL is written to logs,
//     summaries, reports and the state's runs table;
//   - a query or fragment, for the same reason (an ?api_key=… would be
//     kept there) and because paths are appended to the base URL;
//   - http:// to a host that is not this machine (localhost, 127.0.0.0/8,
//     ::1), unless allowCleartext: the bearer key and every customer would
//     cross the network unencrypted.
//
// No error quotes the URL's user info, query or fragment.
func CheckBaseURL(raw string, allowCleartext bool) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%s is not a URL", Public(raw))
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("%s is not an http(s) URL with a host", Public(raw))
	}
	if u.User != nil {
		return "", fmt.Errorf("%s: %w; give the API key in the environment instead and remove it from the URL", Public(raw), ErrCredentialsInURL)
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.ContainsAny(raw, "?#") {
		return "", fmt.Errorf("%s: a base URL takes no query (?…) or fragment (#…)", Public(raw))
	}
	if u.Scheme == "http" && !allowCleartext && !IsLoopback(u.Hostname()) {
		return "", fmt.Errorf("%s: %w to %s; use https://, or allow it for a trusted network", Public(raw), ErrCleartext, u.Hostname())
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// IsLoopback reports whether host (without a port) names this machine
// without a lookup: "localhost" (RFC 6761 keeps it local), or a loopback
// IP address.
func IsLoopback(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// Public returns a URL fit for logs and messages: without user info,
// query or fragment, which may hold credentials or personal data (a
// lookup's email). Of a text that does not parse as a URL with a host,
// what comes before its last '@', and then from its first '?' or '#',
// is left out.
func Public(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Scheme != "" && u.Opaque == "" {
		u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
		return OneLine(u.String())
	}
	rest, scheme := raw, ""
	if i := strings.Index(raw, "://"); i >= 0 {
		scheme, rest = raw[:i+3], raw[i+3:]
	}
	// A password may hold '?' or '#': user info goes first.
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = "…@" + rest[i+1:]
	}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i]
	}
	return OneLine(scheme + rest)
}
