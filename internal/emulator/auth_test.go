package emulator

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

var scopes = []string{"customers:read", "customers:write"}

func TestCheckKeys(t *testing.T) {
	for _, tc := range []struct {
		name  string
		keys  []Key
		index int
		want  string
	}{
		{"empty token", []Key{{Token: "a"}, {}}, 1, "key 1: empty token"},
		{"white space", []Key{{Token: "a b"}}, 0, "key 0 (key1): the token holds white space"},
		{"duplicate", []Key{{Token: "a"}, {Token: "a", Name: "copy"}}, 1, "key 1 (copy): the token of an earlier key"},
		{"unknown scope", []Key{{Token: "a", Perms: []string{"customers:read", "admin"}}}, 0,
			`key 0 (key1): unknown permission "admin" (want customers:read or customers:write)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CheckKeys(tc.keys, scopes)
			var ke *KeyError
			if !errors.As(err, &ke) || ke.Index != tc.index || err.Error() != tc.want {
				t.Errorf("error %v, want %q at %d", err, tc.want, tc.index)
			}
		})
	}
	// As a configuration file's setting: placed at the key's line.
	data := []byte("# rehearsal\ntokens:\n  - {token: a}\n  - {token: a, name: copy}\n")
	_, err := CheckKeysAt("tokens", []Key{{Token: "a"}, {Token: "a", Name: "copy"}}, nil)
	var ke *KeyError
	if got := PlaceError("s.yaml", data, err); got == nil || got.Error() != "s.yaml:4: key 1 (copy): the token of an earlier key" ||
		!errors.As(err, &ke) || ke.Index != 1 {
		t.Errorf("CheckKeysAt: %v, placed %v", err, got)
	}
	if out, err := CheckKeysAt("tokens", []Key{{Token: "a"}}, nil); err != nil || len(out) != 1 || out[0].Name != "key1" {
		t.Errorf("CheckKeysAt of a good key: %+v, %v", out, err)
	}
	in := []Key{{Token: "a", Perms: []string{"customers:read"}}, {Token: "b", Name: "loader"}}
	out, err := CheckKeys(in, scopes)
	if err != nil || out[0].Name != "key1" || out[1].Name != "loader" || in[0].Name != "" {
		t.Errorf("names: %+v (given %+v), %v", out, in, err)
	}
}

func TestKeyring(t *testing.T) {
	kr, err := NewKeyring([]Key{
		{Token: "r", Name: "reader", Perms: []string{"customers:read"}},
		{Token: "rw", Name: "writer", Perms: []string{"customers:read", "customers:write"}},
	}, scopes, func() Limiter { return NewWindow(1, time.Minute) })
	if err != nil {
		t.Fatal(err)
	}
	read, write := kr.Perm("customers:read"), kr.Perm("customers:write")
	if read == 0 || write == 0 || read == write || kr.Perm("admin") != 0 {
		t.Fatalf("perms %b %b", read, write)
	}
	if got := kr.Names(read | write); !slices.Equal(got, scopes) {
		t.Errorf("names %v", got)
	}
	req := func(auth string) *http.Request {
		r, _ := http.NewRequest("GET", "http://127.0.0.1/", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		return r
	}
	for auth, want := range map[string]error{
		"": ErrNoToken, "Basic rw": ErrNoToken, "Bearer": ErrNoToken, "Bearer nope": ErrUnknownKey, "Bearer  ": ErrUnknownKey,
	} {
		if p, err := kr.Authenticate(req(auth)); p != nil || err != want {
			t.Errorf("%q: %v %v, want %v", auth, p, err, want)
		}
	}
	r, err := kr.Authenticate(req("Bearer r"))
	if err != nil || r.Name != "reader" || r.Index != 0 || !r.Has(read) || r.Has(write) || r.Has(read|write) {
		t.Errorf("reader: %+v %v", r, err)
	}
	w, err := kr.Authenticate(req("bearer  rw "))
	if err != nil || w.Name != "writer" || !w.Has(read|write) || kr.Lookup("rw") != w {
		t.Errorf("writer: %+v %v", w, err)
	}
	// Each key has a limiter of its own.
	now := time.Now()
	if q, ok := r.Take(now); !ok || !q.Allowed {
		t.Errorf("reader's first: %+v %v", q, ok)
	}
	if q, _ := r.Take(now); q.Allowed {
		t.Errorf("reader's second in the window: %+v", q)
	}
	if q, _ := w.Take(now); !q.Allowed {
		t.Errorf("writer's first: %+v", q)
	}
	open, err := NewKeyring([]Key{{Token: "x"}}, scopes, nil)
	if err != nil {
		t.Fatal(err)
	}
	if q, ok := open.Lookup("x").Take(now); ok || q != (Quota{}) {
		t.Errorf("no limiter: %+v %v", q, ok)
	}
	if _, err := NewKeyring([]Key{{Token: "a"}, {Token: "a"}}, scopes, nil); err == nil || !strings.Contains(err.Error(), "earlier key") {
		t.Errorf("duplicate: %v", err)
	}
}
