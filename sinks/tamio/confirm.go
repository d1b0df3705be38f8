package tamio

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"crmsync/internal/httpapi"
)

// confirmer learns the ids of customers that bulk create jobs made. tamio
// answers bulk/create without ids, so one goroutine reads the list sorted
// by creation, oldest first, from shortly before the run started, and
// hands each new customer's id to whoever awaits its email. Each customer
// is read about once: the confirmer keeps its place in the list (see
// poll).
type confirmer struct {
	client   *Client
	interval time.Duration
	log      *slog.Logger
	from     int64 // unix seconds: where the next poll starts; only loop changes it

	mu      sync.Mutex
	waiting map[string]*pending
	// strangers are customers the list showed that nobody awaited yet:
	// made by others, or by a bulk job of an earlier run that was killed
	// and whose job ran late, which a row of this run may await once the
	// confirmer has read past them.
	strangers map[string]string
	wake      chan struct{}

	cancel context.CancelFunc
	done   chan struct{}
}

// pending is one awaited email; done closes when id is known.
type pending struct {
	id   string
	done chan struct{}
}

// clockMargin covers a tamio clock behind ours and the whole seconds of
// created_at; customers made by others in that window are read but
// nobody awaits them.
const clockMargin = 5 * time.Minute

func newConfirmer(client *Client, interval time.Duration, log *slog.Logger) *confirmer {
	ctx, cancel := context.WithCancel(context.Background())
	c := &confirmer{
		client:    client,
		interval:  interval,
		log:       log,
		from:      time.Now().Add(-clockMargin).Unix(),
		waiting:   map[string]*pending{},
		strangers: map[string]string{},
		wake:      make(chan struct{}, 1),
		cancel:    cancel,
		done:      make(chan struct{}),
	}
	go c.loop(ctx)
	return c
}

// maxStrangers bounds the memory strangers take (about 100 bytes each).
const maxStrangers = 100_000

func (c *confirmer) expect(email string) *pending {
	p := &pending{done: make(chan struct{})}
	c.mu.Lock()
	if id, ok := c.strangers[email]; ok {
		delete(c.strangers, email)
		c.mu.Unlock()
		p.id = id
		close(p.done)
		return p
	}
	c.waiting[email] = p
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return p
}

func (c *confirmer) forget(email string) {
	c.mu.Lock()
	delete(c.waiting, email)
	c.mu.Unlock()
}

func (c *confirmer) close() {
	c.cancel()
	<-c.done
}

func (c *confirmer) loop(ctx context.Context) {
	defer close(c.done)
	tick := time.NewTicker(c.interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
		case <-tick.C:
		}
		c.mu.Lock()
		idle := len(c.waiting) == 0
		c.mu.Unlock()
		if idle {
			continue
		}
		if err := c.poll(ctx); err != nil && ctx.Err() == nil {
			// Awaited rows fall back to single creates after their
			// timeout, so a failed poll costs time, not rows.
			c.log.Warn("reading the list to confirm bulk creates failed", "err", err)
		}
	}
}

// poll reads the list from the confirmer's place to its end. The place
// is a creation second, not an offset: offsets grow with the account and
// the API (like the emulator) pays for every row it skips, so a poll after
// a million creates would read a million rows. Customers of the second
// it stopped in are read again next time; resolving twice is harmless.
func (c *confirmer) poll(ctx context.Context) error {
	newest := c.from
	// An API whose paging does not advance would keep a poll going for
	// ever; guarded, the poll fails (and is logged), and awaited rows fall
	// back to single creates after their timeout.
	guard := httpapi.NewPageGuard(listEndpoint)
	for page := 1; ; page++ {
		if err := guard.Next(strconv.Itoa(page)); err != nil {
			return err
		}
		cs, _, err := c.client.List(ctx, ListQuery{Page: page, PerPage: maxPerPage, SortBy: "created_at", Order: "asc", From: c.from, IncludeLeads: true})
		if err != nil {
			return err
		}
		if err := guard.Page(len(cs), func(i int) string { return cs[i].ID }); err != nil {
			return err
		}
		c.mu.Lock()
		for i := range cs {
			newest = max(newest, cs[i].CreatedAt)
			key := emailKey(cs[i].Email)
			p, ok := c.waiting[key]
			if !ok {
				if len(c.strangers) >= maxStrangers {
					clear(c.strangers)
				}
				c.strangers[key] = cs[i].ID
				continue
			}
			p.id = cs[i].ID
			close(p.done)
			delete(c.waiting, key)
		}
		c.mu.Unlock()
		if len(cs) < maxPerPage {
			c.from = newest
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}
