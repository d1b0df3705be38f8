// Package counttest is an embeddable emulator of COUNT's partner API
// (customers), in the spirit of net/http/httptest: [NewServer] returns a
// running server on 127.0.0.1 whose URL, ending in /partners, a client
// uses in place of COUNT's.
package counttest
