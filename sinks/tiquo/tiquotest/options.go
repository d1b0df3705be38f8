package tiquotest

import (
	"fmt"
	"log/slog"
	"slices"

	"crmsync/internal/emulator"
)

// DefaultKey is the bearer token of the key a server has when
// [Options.Keys] is empty; it holds both scopes. `crmsync sandbox --api
// tiquo` prints it; it is not a secret.
const DefaultKey = "sk_test_tiquo_sandbox"

// The scopes a [Key] may hold, as tiquo names them: GET endpoints need
// ScopeRead, POST, PATCH and DELETE need ScopeWrite.
const (
	ScopeRead  = "customers:read"
	ScopeWrite = "customers:write"
)

var scopes = []string{ScopeRead, ScopeWrite}

// DefaultRateLimit is the rate limit of a server whose options set none:
// the requests a minute of tiquo's largest plan. The other plans allow
// 100 and 1,000.
const DefaultRateLimit = 10_000

// Key is an API key the server accepts.
type Key struct {
	// Token is the bearer token, e.g. "sk_test_…".
	Token string
	// Name labels the key in logs and stats, where the token never
	// appears; "" becomes "keyN".
	Name string
	// Scopes is a subset of ScopeRead and ScopeWrite.
	Scopes []string
}

// Faults describes the faults a server injects; the zero value injects
// none. See the package documentation for how they are drawn.
type Faults = emulator.Faults

// Options configure a [Server]; the zero value gives an in-memory server on
// a free port of 127.0.0.1 with [DefaultKey] and [DefaultRateLimit].
type Options struct {
	// Addr is the listen address; "" means "127.0.0.1:0".
	Addr string
	// DBPath is the SQLite file that keeps the data across restarts; ""
	// keeps it in memory, gone at Close.
	DBPath string
	// Keys are the accepted API keys; empty means DefaultKey with both
	// scopes.
	Keys []Key
	// RateLimit is the number of requests each key may make in each
	// minute of the clock; 0 means DefaultRateLimit. There is no way to
	// turn it off: tiquo always limits.
	RateLimit int
	// Faults are the faults to inject from the start; see Server.SetFaults.
	Faults Faults
	// Webhooks are the URLs that receive customer.created,
	// customer.updated and customer.deleted events.
	Webhooks []string
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
}

// withDefaults fills in the defaults and checks everything NewServer would
// otherwise trip over later, so that a bad configuration fails at start.
// An error names the setting at fault (an [emulator.SettingError]).
func (o Options) withDefaults() (Options, error) {
	o.Keys = slices.Clone(o.Keys)
	if len(o.Keys) == 0 {
		o.Keys = []Key{{Token: DefaultKey, Name: "default", Scopes: []string{ScopeRead, ScopeWrite}}}
	}
	checked, err := emulator.CheckKeysAt("keys", kitKeys(o.Keys), scopes)
	if err != nil {
		return o, err
	}
	for i := range o.Keys {
		o.Keys[i].Name = checked[i].Name
	}
	switch {
	case o.RateLimit < 0:
		return o, emulator.At("rate_limit", -1, fmt.Errorf("rate limit %d is negative", o.RateLimit))
	case o.RateLimit == 0:
		o.RateLimit = DefaultRateLimit
	}
	if err := o.Faults.Validate(); err != nil {
		return o, emulator.At("faults", -1, err)
	}
	if err := emulator.CheckWebhooks(o.Webhooks); err != nil {
		return o, err
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

func kitKeys(keys []Key) []emulator.Key {
	out := make([]emulator.Key, len(keys))
	for i, k := range keys {
		out[i] = emulator.Key{Token: k.Token, Name: k.Name, Perms: k.Scopes}
	}
	return out
}
