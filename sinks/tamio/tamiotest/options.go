package tamiotest

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"
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
type Faults struct {
	// Seed makes the faults deterministic: the same seed and the same
	// sequence of requests give the same faults.
	Seed int64
	// ErrorRate is the share of requests answered 500, 502 or 503 without
	// being applied.
	ErrorRate float64
	// Latency is added to every request.
	Latency time.Duration
	// DropRate is the share of requests whose connection is closed before
	// any answer, without being applied.
	DropRate float64
	// LostAnswerRate is the share of write requests that are applied, after
	// which the connection is closed without an answer.
	LostAnswerRate float64
}

func (f Faults) active() bool {
	return f.ErrorRate > 0 || f.DropRate > 0 || f.LostAnswerRate > 0
}

func (f Faults) validate() error {
	for _, r := range []struct {
		name string
		v    float64
	}{{"error_rate", f.ErrorRate}, {"drop_rate", f.DropRate}, {"lost_answer_rate", f.LostAnswerRate}} {
		// The negated comparison also rejects NaN.
		if !(r.v >= 0 && r.v <= 1) {
			return fmt.Errorf("faults: %s %v is not between 0 and 1", r.name, r.v)
		}
	}
	if f.ErrorRate+f.DropRate+f.LostAnswerRate > 1 {
		return errors.New("faults: error_rate + drop_rate + lost_answer_rate is more than 1")
	}
	if f.Latency < 0 {
		return fmt.Errorf("faults: negative latency %v", f.Latency)
	}
	return nil
}

// clamp brings rates into [0, 1] for SetFaults, which cannot return an
// error; drawing gives later rates what is left when they add up past 1.
func (f Faults) clamp() Faults {
	c := func(v float64) float64 {
		if !(v > 0) { // NaN too
			return 0
		}
		return min(v, 1)
	}
	f.ErrorRate, f.DropRate, f.LostAnswerRate = c(f.ErrorRate), c(f.DropRate), c(f.LostAnswerRate)
	f.Latency = max(f.Latency, 0)
	return f
}

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
	// Copied: names are filled in below, and the caller's slice is not ours.
	o.Keys = slices.Clone(o.Keys)
	if len(o.Keys) == 0 {
		o.Keys = []Key{{Token: DefaultKey, Name: "default", Permissions: []string{PermView, PermEdit, PermCreate, PermRemove}}}
	}
	tokens := make(map[string]bool, len(o.Keys))
	for i, k := range o.Keys {
		if k.Token == "" {
			return o, at("keys", i, fmt.Errorf("key %d: empty token", i))
		}
		if strings.ContainsAny(k.Token, " \t\r\n") {
			return o, at("keys", i, fmt.Errorf("key %d (%s): the token holds white space", i, k.Name))
		}
		if tokens[k.Token] {
			return o, at("keys", i, fmt.Errorf("key %d (%s): the token of an earlier key", i, k.Name))
		}
		tokens[k.Token] = true
		if k.Name == "" {
			o.Keys[i].Name = fmt.Sprintf("key%d", i+1)
		}
		for _, p := range k.Permissions {
			if permBit(p) == 0 {
				return o, at("keys", i, fmt.Errorf("key %d (%s): unknown permission %q (want view, edit, create or remove)", i, o.Keys[i].Name, p))
			}
		}
		for _, c := range k.Customers {
			if _, ok := parseUUID(c); !ok {
				return o, at("keys", i, fmt.Errorf("key %d (%s): customer %q is not a UUID", i, o.Keys[i].Name, c))
			}
		}
	}
	if len(o.Teammates) == 0 {
		o.Teammates = DefaultTeammates()
	}
	ids := make(map[string]bool, len(o.Teammates))
	for i, t := range o.Teammates {
		id, ok := parseUUID(t.ID)
		if !ok {
			return o, at("teammates", i, fmt.Errorf("teammate %d: id %q is not a UUID", i, t.ID))
		}
		if ids[id] {
			return o, at("teammates", i, fmt.Errorf("teammate %d: id %s is used twice", i, id))
		}
		ids[id] = true
		if !validEmail(t.Email) {
			return o, at("teammates", i, fmt.Errorf("teammate %d: email %q is not an address", i, t.Email))
		}
	}
	if !(o.RateLimit >= 0) {
		return o, at("rate_limit", -1, fmt.Errorf("rate limit %v is negative", o.RateLimit))
	}
	if o.RateBurst < 0 {
		return o, at("rate_burst", -1, fmt.Errorf("rate burst %d is negative", o.RateBurst))
	}
	if o.RateBurst == 0 {
		o.RateBurst = max(1, int(o.RateLimit))
	}
	if o.BulkDelay < 0 {
		return o, at("bulk_delay", -1, fmt.Errorf("bulk delay %v is negative", o.BulkDelay))
	}
	if err := o.Faults.validate(); err != nil {
		return o, at("faults", -1, err)
	}
	for i, w := range o.Webhooks {
		u, err := url.Parse(w)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return o, at("webhooks", i, fmt.Errorf("webhook %q is not an http(s) URL", w))
		}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// settingError is a check failing on one setting of [Options], named as the
// configuration file names it, so that [LoadConfig] can point at its line.
type settingError struct {
	setting string // the file's top-level key: "keys", "teammates", "faults"...
	index   int    // the element of a list setting, or -1
	err     error
}

func (e *settingError) Error() string { return e.err.Error() }
func (e *settingError) Unwrap() error { return e.err }

func at(setting string, index int, err error) error {
	return &settingError{setting: setting, index: index, err: err}
}
