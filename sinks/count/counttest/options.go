package counttest

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"crmsync/internal/emulator"
)

// The credentials of the client a server has when [Options.Clients] is
// empty. `crmsync sandbox --api count` prints them; they are not secrets.
const (
	DefaultToken        = "count_sandbox_token"
	DefaultClientID     = "count-sandbox-client"
	DefaultClientSecret = "count-sandbox-secret"
)

// DefaultRateLimit is the rate limit of a server whose options set none:
// COUNT's documented 100 requests a minute per client id.
const DefaultRateLimit = 100

// TimestampWindow is how far x-timestamp may be from the server's clock,
// either way, inclusive.
const TimestampWindow = 300 * time.Second

// Client is an API client the server accepts: the OAuth token of its
// Authorization header, and the client id and secret of its signature.
type Client struct {
	// Token is the bearer token.
	Token string
	// ClientID is what x-client-id must say with this token.
	ClientID string
	// ClientSecret keys the HMAC of x-signature.
	ClientSecret string
	// Name labels the client in logs and stats, where the token and the
	// secret never appear; "" means the client id.
	Name string
}

// Faults describes the faults a server injects; the zero value injects
// none. See the package documentation for how they are drawn.
type Faults = emulator.Faults

// Options configure a [Server]; the zero value gives an in-memory server
// on a free port of 127.0.0.1 with the default client and
// [DefaultRateLimit].
type Options struct {
	// Addr is the listen address; "" means "127.0.0.1:0".
	Addr string
	// DBPath is the SQLite file that keeps the data across restarts; ""
	// keeps it in memory, gone at Close.
	DBPath string
	// Clients are the accepted clients; empty means one client with
	// DefaultToken, DefaultClientID and DefaultClientSecret.
	Clients []Client
	// RateLimit is the number of requests each client id may make in each
	// minute of the clock; 0 means DefaultRateLimit. COUNT always limits,
	// so there is no way to turn it off.
	RateLimit int
	// Faults are the faults to inject from the start; see Server.SetFaults.
	Faults Faults
	// Logger receives the server's logs; nil discards them. Personal data
	// and credentials never reach it.
	Logger *slog.Logger
	// Now is the server's clock, for x-timestamp's window, the rate limit
	// windows and the customers' timestamps; nil means time.Now. Tests
	// set it to check the window's edges.
	Now func() time.Time
}

// withDefaults fills in the defaults and checks everything NewServer would
// otherwise trip over later, so that a bad configuration fails at start.
// An error names the setting at fault (an [emulator.SettingError]).
func (o Options) withDefaults() (Options, error) {
	o.Clients = slices.Clone(o.Clients)
	if len(o.Clients) == 0 {
		o.Clients = []Client{{Token: DefaultToken, ClientID: DefaultClientID,
			ClientSecret: DefaultClientSecret, Name: "default"}}
	}
	if err := checkClients(o.Clients); err != nil {
		return o, err
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
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}

// checkClients checks each client's token and client id (set, without
// white space, unique: the rate limit is per client id) and secret (set),
// and fills in the names, which default to the client id.
func checkClients(cs []Client) error {
	seen := map[string]map[string]bool{"token": {}, "client_id": {}}
	for i := range cs {
		c := &cs[i]
		if c.Name == "" {
			c.Name = c.ClientID
		}
		for _, id := range []struct{ setting, v string }{{"token", c.Token}, {"client_id", c.ClientID}} {
			var err error
			switch {
			case id.v == "":
				err = fmt.Errorf("client %d: empty %s", i, id.setting)
			case strings.ContainsAny(id.v, " \t\r\n"):
				err = fmt.Errorf("client %d (%s): the %s holds white space", i, c.Name, id.setting)
			case seen[id.setting][id.v]:
				err = fmt.Errorf("client %d (%s): the %s of an earlier client", i, c.Name, id.setting)
			}
			if err != nil {
				return emulator.At("clients", i, err)
			}
			seen[id.setting][id.v] = true
		}
		if c.ClientSecret == "" {
			return emulator.At("clients", i, fmt.Errorf("client %d (%s): empty client_secret", i, c.Name))
		}
	}
	return nil
}

// kitKeys gives the kit's keyring the clients' tokens; the keyring's
// index of a key is the index of its client.
func kitKeys(cs []Client) []emulator.Key {
	out := make([]emulator.Key, len(cs))
	for i, c := range cs {
		out[i] = emulator.Key{Token: c.Token, Name: c.Name}
	}
	return out
}
