// Package revnuetest is an embeddable emulator of Revnue's API v2
// (customers, categories, the custom field template), in the spirit of
// net/http/httptest: [NewServer] returns a running server on 127.0.0.1
// whose URL a client uses in place of https://dashboard-api.revnue.com.
package revnuetest
