package emulator

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Key is an API key as an emulator's options give it.
type Key struct {
	// Token is the bearer token.
	Token string
	// Name labels the key in logs and stats, where the token never
	// appears; "" becomes "keyN", N counting from 1.
	Name string
	// Perms are the permissions (tamio) or scopes (tiquo) the key holds,
	// each one of the names the emulator declares.
	Perms []string
}

// KeyError is a key that cannot be accepted, at Index of the list given.
type KeyError struct {
	Index int
	Err   error
}

func (e *KeyError) Error() string { return e.Err.Error() }
func (e *KeyError) Unwrap() error { return e.Err }

// CheckKeys checks a list of keys against the permission names an
// emulator knows: every token set, without white space and unique, every
// permission known. It returns a copy with the missing names filled in,
// or a *KeyError for the first key at fault. Called when options are
// checked, before a server starts.
func CheckKeys(keys []Key, perms []string) ([]Key, error) {
	out := make([]Key, len(keys))
	tokens := make(map[string]bool, len(keys))
	for i, k := range keys {
		if k.Name == "" {
			k.Name = fmt.Sprintf("key%d", i+1)
		}
		bad := func(format string, args ...any) error {
			return &KeyError{Index: i, Err: fmt.Errorf("key %d (%s): "+format, append([]any{i, k.Name}, args...)...)}
		}
		switch {
		case k.Token == "":
			return nil, &KeyError{Index: i, Err: fmt.Errorf("key %d: empty token", i)}
		case strings.ContainsAny(k.Token, " \t\r\n"):
			return nil, bad("the token holds white space")
		case tokens[k.Token]:
			return nil, bad("the token of an earlier key")
		}
		tokens[k.Token] = true
		for _, p := range k.Perms {
			if !containsString(perms, p) {
				return nil, bad("unknown permission %q (want %s)", p, orList(perms))
			}
		}
		k.Perms = append([]string(nil), k.Perms...)
		out[i] = k
	}
	return out, nil
}

// CheckKeysAt is [CheckKeys] for the keys a configuration file lists
// under setting ("keys", "tokens"): an error is a *[SettingError] of the
// key at fault, which [PlaceError] points at its line, wrapping the
// *[KeyError].
func CheckKeysAt(setting string, keys []Key, perms []string) ([]Key, error) {
	out, err := CheckKeys(keys, perms)
	if ke, ok := err.(*KeyError); ok {
		return nil, At(setting, ke.Index, ke)
	}
	return out, err
}

func containsString(set []string, s string) bool {
	for _, v := range set {
		if v == s {
			return true
		}
	}
	return false
}

// orList words names as "a, b or c".
func orList(names []string) string {
	switch len(names) {
	case 0:
		return "none"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// Perm is a set of permissions, one bit each, numbered by a [Keyring] in
// the order of the names it was given.
type Perm uint64

// Principal is an accepted key: who makes a request.
type Principal struct {
	// Name is the key's name, for stats and logs.
	Name string
	// Index is the key's position in the list given to [NewKeyring], so
	// that an emulator can keep what else it knows of a key beside it.
	Index int
	perms Perm
	lim   Limiter
}

// Has reports whether the key holds every permission of need.
func (p *Principal) Has(need Perm) bool { return p.perms&need == need }

// Take takes the request's share of the key's rate limit. ok is false when
// the key has no rate limit, and then q is zero and the request allowed.
// Called once per authenticated request, from any goroutine.
func (p *Principal) Take(now time.Time) (q Quota, ok bool) {
	if p.lim == nil {
		return Quota{}, false
	}
	return p.lim.Take(now), true
}

// Keyring is the table of accepted keys. It is read-only once made, so
// its methods may be called from any goroutine.
type Keyring struct {
	perms   []string
	byToken map[string]*Principal
	list    []*Principal
}

// The errors of [Keyring.Authenticate], each to be answered 401.
var (
	ErrNoToken    = errors.New("missing bearer token")
	ErrUnknownKey = errors.New("unknown API key")
)

// NewKeyring checks keys as [CheckKeys] does against the permission names
// perms (at most 64) and returns their table. newLimiter, when not nil,
// gives each key a rate limiter of its own.
func NewKeyring(keys []Key, perms []string, newLimiter func() Limiter) (*Keyring, error) {
	if len(perms) > 64 {
		return nil, fmt.Errorf("%d permission names; at most 64", len(perms))
	}
	keys, err := CheckKeys(keys, perms)
	if err != nil {
		return nil, err
	}
	kr := &Keyring{perms: append([]string(nil), perms...), byToken: make(map[string]*Principal, len(keys))}
	for i, k := range keys {
		p := &Principal{Name: k.Name, Index: i}
		for _, name := range k.Perms {
			p.perms |= kr.Perm(name)
		}
		if newLimiter != nil {
			p.lim = newLimiter()
		}
		kr.byToken[k.Token] = p
		kr.list = append(kr.list, p)
	}
	return kr, nil
}

// Perm returns the permission of a name, 0 for a name the keyring was not
// given. Permissions combine with |.
func (kr *Keyring) Perm(name string) Perm {
	for i, p := range kr.perms {
		if p == name {
			return 1 << i
		}
	}
	return 0
}

// Names returns the names of the permissions in p, in declared order.
func (kr *Keyring) Names(p Perm) []string {
	var out []string
	for i, name := range kr.perms {
		if p&(1<<i) != 0 {
			out = append(out, name)
		}
	}
	return out
}

// Keys returns the keys in the order given.
func (kr *Keyring) Keys() []*Principal { return kr.list }

// Lookup returns the key of a token, or nil.
func (kr *Keyring) Lookup(token string) *Principal { return kr.byToken[token] }

// Authenticate returns the key of the request's bearer token, or
// [ErrNoToken] or [ErrUnknownKey]. It checks no permission and takes no
// rate limit: which permission an endpoint needs, and in what order the
// checks come, are the emulator's.
func (kr *Keyring) Authenticate(r *http.Request) (*Principal, error) {
	token, ok := BearerToken(r)
	if !ok {
		return nil, ErrNoToken
	}
	p := kr.byToken[token]
	if p == nil {
		return nil, ErrUnknownKey
	}
	return p, nil
}

// BearerToken returns the token of an "Authorization: Bearer <token>"
// header, the scheme in any case and the token trimmed of spaces.
func BearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(token), true
}
