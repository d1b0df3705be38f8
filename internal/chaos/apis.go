package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"crmsync/crm"
	"crmsync/internal/emulator"
	"crmsync/sinks/tamio"
	"crmsync/sinks/tiquo"
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
	// config is the emulator's configuration file: the chaos's key with
	// every permission the runs and the check need, and the limits.
	config func(c Config, key string) string
	// read is a cheap authenticated read, relative to the base URL, that
	// the neighbour spends the key's limit with.
	read string
	// window says the emulator counts each key's requests per minute of
	// the clock instead of in a token bucket; see front.drainDue.
	window bool
	// limit describes the rate limit for the report.
	limit func(c Config) string
}

var apis = map[string]*api{
	"tamio": {
		name: "tamio", mapping: "samples/customers.tamio.yaml", rows: 20000, rate: 100,
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

// controls are what the chaos needs of a running emulator that
// crm.Sandbox does not offer: its handler, to serve it behind the front in
// this process (which kills crmsync at a chosen request and sees answers
// cut), and its faults, switched on for each day's runs and off for the
// checks.
type controls interface {
	Handler() http.Handler
	SetFaults(emulator.Faults)
}

// controlsOf returns the controls of a sandbox the registry started.
func controlsOf(sb crm.Sandbox) (controls, error) {
	if s := tamio.Server(sb); s != nil {
		return s, nil
	}
	if s := tiquo.Server(sb); s != nil {
		return s, nil
	}
	return nil, fmt.Errorf("the chaos cannot set the faults of a %T sandbox", sb)
}

// waitIdle waits for work an emulator queued (tamio's bulk jobs, which
// killed runs may have left) to finish; emulators that queue none return
// at once.
func waitIdle(ctx context.Context, c controls) error {
	if w, ok := c.(interface{ WaitIdle(context.Context) error }); ok {
		return w.WaitIdle(ctx)
	}
	return nil
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
