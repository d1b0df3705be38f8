package seed

import (
	"context"
	"errors"
	"log/slog"

	"crmsync/crm"
	"crmsync/internal/httpapi"
)

// seedRate is the request rate, a second, of a sandbox being seeded and
// of the sink seeding it: far above what one machine sends, so that
// neither the emulator's limit nor a connector that paces itself by its
// configuration slows the seeding.
const seedRate = 1e6

// Spec says which customers Sandbox writes: customers 0 to N-1 of Seed,
// Complete (Generator.Complete) or not.
type Spec struct {
	N        int
	Seed     int64
	Complete bool
}

// Sandbox starts the connector's emulator on o.DBPath, writes the
// customers of spec into its account through the connector's own sink, and
// stops it. The emulator runs without o's rate limit, faults and
// webhooks while it is seeded: they are for the rehearsal, not for
// filling the account; o's configuration file still sets the account
// (its keys, and what the records must name: AccountValuer). A file that
// holds customers already keeps them; those seeded before are updated
// where they differ, not duplicated.
func Sandbox(ctx context.Context, conn *crm.Connector, o crm.SandboxOptions, spec Spec, progress func(done int64)) (Counts, error) {
	if conn.StartSandbox == nil {
		return Counts{}, errors.New("seed: crmsync has no emulator of " + conn.Name)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	o.RateLimit, o.Faults, o.Webhooks, o.Logger = seedRate, crm.Faults{}, nil, log
	sb, err := conn.StartSandbox(ctx, o)
	if err != nil {
		return Counts{}, err
	}
	hc := httpapi.NewHTTPClient(httpapi.DefaultTimeout)
	defer hc.CloseIdleConnections()
	sink, err := conn.NewSink(crm.Config{BaseURL: sb.URL(), Credentials: sb.Credentials(), HTTPClient: hc,
		Rate: seedRate, Logger: log})
	if err != nil {
		sb.Close()
		return Counts{}, err
	}
	g := New(conn.Schema, spec.Seed, ValuesOf(sb))
	if spec.Complete {
		g = g.Complete()
	}
	c, err := Load(ctx, sink, g, spec.N, progress)
	if cerr := sb.Close(); err == nil {
		err = cerr
	}
	return c, err
}
