package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"crmsync/crm"
	"crmsync/sinks/count"
)

// api is what the chaos knows of one connector beyond the registry: the
// mapping of the generated exports onto its schema, the emulator settings
// crm.SandboxOptions cannot carry, and how a neighbour spends the key's
// rate limit.
type api struct {
	name string
	// mapping is the default -mapping, relative to the module's root.
	mapping string
	// rows and rate are the defaults of -rows and -rate-limit (requests a
	// second). A per-row API makes a request per created customer where a
	// bulk one makes one per thousand, two once a killed run has left the
	// state non-empty (a find by email, then the create), and under the
	// faults a run keeps about 20 requests a second whatever the limit
	// (each 503's Retry-After pauses every call); so it gets fewer rows,
	// to keep `make chaos` within its time.
	rows int
	rate float64
	// change is the default of -change, the share of the valid rows a
	// later day renames; 0 means 0.25. A day's updates are single calls
	// for every API, which a run under the faults makes at 10 to 15 a
	// second whatever the limit (each 503's and each 429's Retry-After
	// pauses every call), so it is lower where the rows are many.
	change float64
	// config is the emulator's configuration file: the chaos's key with
	// every permission the runs and the check need, and the limits.
	config func(c Config, key string) string
	// read is a cheap authenticated read, relative to the base URL, that
	// the neighbour spends the key's limit with.
	read string
	// window says the emulator counts each key's requests per minute of
	// the clock instead of in a token bucket; see front.drainDue.
	window bool
	// sliding says the emulator counts each key's requests in a sliding
	// minute (a log of the last minute's requests): the neighbour spends
	// what it has left, as for a window, but at the requests of the drain
	// plan, as for a bucket. Spent at the same moment each minute, a log
	// would give crmsync back only what its own requests of a minute
	// before free, less each time a 429 pauses it.
	sliding bool
	// entered, when set, stores customers in the CRM before the first
	// day's runs, as the CRM's users entered them, among those exp (the
	// first day's) says the CRM must hold; the first run finds them. It
	// returns the check that runs after each day's, which counts in f the
	// entered customers and those on which a field the mapping does not
	// fill changed. The emulator's faults are off when either runs.
	entered func(ctx context.Context, sb crm.Sandbox, exp *expected) (func(ctx context.Context, f *findings) error, error)
	// pace says crmsync is given the limit with --rate: the API's answers
	// carry no rate limit headers its pacer could learn it from, and the
	// connector otherwise keeps to the documented limit, far below the
	// one the chaos's emulator allows.
	pace bool
	// authorize puts the credentials (the sandbox's, by the registry's
	// names) on a request the chaos makes itself, the neighbour's reads
	// and the tests' edits, whose body is body; nil sends
	// creds["api_key"] as a bearer token.
	authorize func(r *http.Request, body []byte, creds map[string]string)
	// limit describes the rate limit for the report.
	limit func(c Config) string
}

var apis = map[string]*api{
	"tamio": {
		// A tenth of 20,000 rows changed a day: at a quarter, the 5,000
		// updates of a day took about 8 minutes a run, killed runs
		// included 17, and make chaos 18.
		name: "tamio", mapping: "samples/customers.tamio.yaml", rows: 20000, rate: 100, change: 0.10,
		config: func(c Config, key string) string {
			return fmt.Sprintf("keys:\n  - {token: %s, name: chaos, permissions: [view, edit, create, remove]}\n"+
				"rate_limit: %g\nrate_burst: %d\nbulk_delay: %s\n", key, c.RateLimit, c.RateBurst, c.BulkDelay)
		},
		read: "/teammates/list",
		limit: func(c Config) string {
			return fmt.Sprintf("rate limit %.0f req/s per key, burst %d", c.RateLimit, c.RateBurst)
		},
	},
	"tiquo": {
		// 2,000 requests a minute: a little above the 20 to 30 a second a
		// run keeps under the faults, so that the pacer works near the limit
		// and the neighbour, which spends what a minute has left, sends a
		// few hundred requests a minute rather than thousands.
		name: "tiquo", mapping: "internal/chaos/customers.tiquo.yaml", rows: 3000, rate: 2000.0 / 60,
		config: func(c Config, key string) string {
			return fmt.Sprintf("keys:\n  - {token: %s, name: chaos, scopes: [customers:read, customers:write]}\nrate_limit: %d\n",
				key, perMinute(c.RateLimit))
		},
		read:   "/customers?limit=1",
		window: true,
		limit: func(c Config) string {
			return fmt.Sprintf("rate limit %d requests a minute per key (a window of the clock minute)", perMinute(c.RateLimit))
		},
	},
	"count": {
		// Per row like tiquo, and at the same 2,000 requests a minute for
		// the same reasons; crmsync is told the rate, which COUNT's answers
		// do not say, and the neighbour, which cannot read what a minute
		// has left either, reads until it meets the 429. Fewer rows than
		// tiquo: without rate headers the pacer finds the rate again
		// after each 429 by steps of 5% a second, and a first load keeps
		// about 12 requests a second under the faults, so 3,000 rows took
		// twelve minutes.
		name: "count", mapping: "internal/chaos/customers.count.yaml", rows: 2000, rate: 2000.0 / 60,
		config: func(c Config, key string) string {
			return fmt.Sprintf("clients:\n  - {token: %s, client_id: chaos, client_secret: secret-%s, name: chaos}\nrate_limit: %d\n",
				key, key, perMinute(c.RateLimit))
		},
		read:      "/customers?limit=1",
		window:    true,
		pace:      true,
		authorize: signCount,
		limit: func(c Config) string {
			return fmt.Sprintf("rate limit %d requests a minute per client id (a window of the clock minute); crmsync --rate %g",
				perMinute(c.RateLimit), c.RateLimit)
		},
	},
}

// authorizeRequest puts the sandbox's credentials on a request the chaos
// makes itself, as the API's authorize says.
func (a *api) authorizeRequest(r *http.Request, body []byte, creds map[string]string) {
	if a.authorize != nil {
		a.authorize(r, body, creds)
		return
	}
	r.Header.Set("Authorization", "Bearer "+creds["api_key"])
}

// signCount signs a request as COUNT wants every request signed: the
// bearer token, the client id, the time, and the HMAC of the method, the
// path below /partners without the query, the time and the body's hash.
func signCount(r *http.Request, body []byte, creds map[string]string) {
	hash := ""
	if len(body) > 0 {
		sum := sha256.Sum256(body)
		hash = hex.EncodeToString(sum[:])
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	path := strings.TrimPrefix(r.URL.EscapedPath(), "/partners")
	r.Header.Set("Authorization", "Bearer "+creds[count.TokenCredential])
	r.Header.Set("x-client-id", creds[count.ClientIDCredential])
	r.Header.Set("x-timestamp", ts)
	r.Header.Set("x-signature", count.Signature(creds[count.ClientSecretCredential], r.Method, path, ts, hash))
}

// perMinute is a rate a second as the requests a minute tiquo counts, as
// tiquo's StartSandbox converts it.
func perMinute(rate float64) int { return max(1, int(math.Round(rate*60))) }

func lookupAPI(name string) (*api, error) {
	if a := apis[name]; a != nil {
		return a, nil
	}
	names := make([]string, 0, len(apis))
	for n := range apis {
		names = append(names, n)
	}
	sort.Strings(names)
	return nil, fmt.Errorf("-api %q: the chaos knows %s", name, strings.Join(names, ", "))
}

// emuStats is what the chaos reads of an emulator's crm.StatsPath.
type emuStats struct {
	// Requests counts answers by route and status ("200", "429", or
	// "dropped" and "lost" for cut connections); ByStatus sums them.
	Requests map[string]map[string]int64 `json:"requests"`
	ByStatus map[string]int64            `json:"by_status"`
	// Imported and ImportSkipped are tamio's bulk jobs': customers
	// created, and skipped because their email existed.
	Imported      int64 `json:"imported"`
	ImportSkipped int64 `json:"import_skipped"`
}

// readStats reads the counters of the emulator whose API is at baseURL,
// which every emulator serves in the kit's shape.
func readStats(ctx context.Context, client *http.Client, baseURL string) (*emuStats, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, err
	}
	u.Path, u.RawQuery = crm.StatsPath, ""
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reading the emulator's stats: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the emulator's stats: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the emulator's stats: %s", resp.Status)
	}
	st := &emuStats{}
	if err := json.Unmarshal(body, st); err != nil {
		return nil, fmt.Errorf("the emulator's stats: %w", err)
	}
	if st.Requests == nil {
		return nil, fmt.Errorf("the emulator's stats hold no request counts: %.200s", body)
	}
	return st, nil
}

// count returns the answers of a route with one of the statuses, minus
// those of before.
func (s *emuStats) count(before *emuStats, route string, statuses ...string) (n int64) {
	for _, st := range statuses {
		n += s.Requests[route][st] - before.Requests[route][st]
	}
	return n
}
