package tamiotest

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"crmsync/internal/emulator"
)

// DefaultKey is the bearer token of the key a server has when
// [Options.Keys] is empty. It holds all four permissions. `crmsync sandbox`
// prints it; it is not a secret.
const DefaultKey = "tamio-sandbox-key"

// The permissions a [Key] may hold, as tamio names them.
const (
	PermView   = "view"
	PermEdit   = "edit"
	PermCreate = "create"
	PermRemove = "remove"
)

// permissions are the names a [Key] may hold, in the order of their bits.
var permissions = []string{PermView, PermEdit, PermCreate, PermRemove}

// kitKeys gives keys to the emulator kit, which knows no customers.
func kitKeys(keys []Key) []emulator.Key {
	out := make([]emulator.Key, len(keys))
	for i, k := range keys {
		out[i] = emulator.Key{Token: k.Token, Name: k.Name, Perms: k.Permissions}
	}
	return out
}

// Key is an API key the server accepts.
type Key struct {
	// Token is the bearer token.
	Token string
	// Name labels the key in logs and stats, where the token never appears.
	Name string
	// Permissions is a subset of "view", "edit", "create" and "remove".
	Permissions []string
	// Customers limits the key to these customer UUIDs; empty means all
	// customers.
	Customers []string
}

// Teammate is a member of the account customers can be assigned to.
type Teammate struct{ ID, Email, Name string }

// Faults describes the faults a server injects; the zero value injects none.
// See the package documentation for how they are drawn.
type Faults = emulator.Faults

// Options configure a [Server]; the zero value gives an in-memory server on
// a free port of 127.0.0.1 with [DefaultKey] and three sample teammates.
type Options struct {
	// Addr is the listen address; "" means "127.0.0.1:0".
	Addr string
	// DBPath is the SQLite file that keeps the data across restarts; ""
	// keeps it in memory.
	DBPath string
	// Keys are the accepted API keys; empty means DefaultKey with all
	// four permissions.
	Keys []Key
	// Teammates are the account's teammates; empty means the three of
	// DefaultTeammates.
	Teammates []Teammate
	// RateLimit is the number of requests per second each key may make
	// (a token bucket); 0 turns rate limiting off.
	RateLimit float64
	// RateBurst is the size of the bucket; 0 means max(1, int(RateLimit)).
	RateBurst int
	// BulkDelay is how long a bulk/create job waits before it runs.
	BulkDelay time.Duration
	// Faults are the faults to inject from the start; see Server.SetFaults.
	Faults Faults
	// Webhooks are the URLs that receive customer.created,
	// customer.updated and customer.removed events.
	Webhooks []string
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
}

// DefaultTeammates returns the teammates a server has when
// [Options.Teammates] is empty. Their UUIDs are fixed, so that mappings and
// tests can name them.
func DefaultTeammates() []Teammate {
	return []Teammate{
		{ID: "7d6a3f0e-2c4b-4e8a-9f1d-1a2b3c4d5e01", Email: "ana.garcia@example.com", Name: "Ana García"},
		{ID: "7d6a3f0e-2c4b-4e8a-9f1d-1a2b3c4d5e02", Email: "ben.okafor@example.com", Name: "Ben Okafor"},
		{ID: "7d6a3f0e-2c4b-4e8a-9f1d-1a2b3c4d5e03", Email: "chloe.martin@example.com", Name: "Chloé Martin"},
	}
}

// withDefaults fills in the defaults and checks everything NewServer would
// otherwise trip over later, so that a bad configuration fails at start.
func (o Options) withDefaults() (Options, error) {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if strings.ContainsAny(o.DBPath, "?#") {
		// The SQLite driver reads everything after '?' as its parameters.
		return o, fmt.Errorf("db path %q: '?' and '#' are not allowed", o.DBPath)
	}
	if len(o.Keys) == 0 {
		o.Keys = []Key{{Token: DefaultKey, Name: "default", Permissions: slices.Clone(permissions)}}
	}
	checked, err := emulator.CheckKeysAt("keys", kitKeys(o.Keys), permissions)
	if err != nil {
		return o, err
	}
	// Copied: names are filled in, and the caller's slice is not ours.
	keys := make([]Key, len(o.Keys))
	for i, k := range o.Keys {
		k.Name = checked[i].Name
		for _, c := range k.Customers {
			if _, ok := parseUUID(c); !ok {
				return o, emulator.At("keys", i, fmt.Errorf("key %d (%s): customer %q is not a UUID", i, k.Name, c))
			}
		}
		keys[i] = k
	}
	o.Keys = keys
	if len(o.Teammates) == 0 {
		o.Teammates = DefaultTeammates()
	}
	ids := make(map[string]bool, len(o.Teammates))
	for i, t := range o.Teammates {
		id, ok := parseUUID(t.ID)
		if !ok {
			return o, emulator.At("teammates", i, fmt.Errorf("teammate %d: id %q is not a UUID", i, t.ID))
		}
		if ids[id] {
			return o, emulator.At("teammates", i, fmt.Errorf("teammate %d: id %s is used twice", i, id))
		}
		ids[id] = true
		if !validEmail(t.Email) {
			return o, emulator.At("teammates", i, fmt.Errorf("teammate %d: email %q is not an address", i, t.Email))
		}
	}
	if !(o.RateLimit >= 0) {
		return o, emulator.At("rate_limit", -1, fmt.Errorf("rate limit %v is negative", o.RateLimit))
	}
	if o.RateBurst < 0 {
		return o, emulator.At("rate_burst", -1, fmt.Errorf("rate burst %d is negative", o.RateBurst))
	}
	if o.RateBurst == 0 {
		o.RateBurst = max(1, int(o.RateLimit))
	}
	if o.BulkDelay < 0 {
		return o, emulator.At("bulk_delay", -1, fmt.Errorf("bulk delay %v is negative", o.BulkDelay))
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
