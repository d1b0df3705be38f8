package revnue

import (
	"context"
	"errors"
	"sync"

	"crmsync/pipeline"
)

// pageReads lets the Current calls that run at once share their page
// reads: the engine runs several batches at a time, and their customers
// often lie on the same pages. A Current call may take a page read that
// began after the call itself began (in flight, or done since), which is
// as fresh as a read of its own, so that sharing never widens the window
// between a customer's read and its write beyond the batch's own. Reads
// are kept only while a Current call that may take them runs. Safe for
// concurrent use.
type pageReads struct {
	mu     sync.Mutex
	seq    uint64
	active map[uint64]int // the start of each Current call running → how many
	reads  map[int]*pageRead
}

// pageRead is one read of a page, shared by the calls that wait for it.
type pageRead struct {
	seq  uint64 // when it began
	done chan struct{}
	page *Page
	cs   []pipeline.Customer
	err  error
}

// begin notes the start of a Current call and returns it; end forgets
// the call and the reads no running call may take any longer.
func (r *pageReads) begin() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.active == nil {
		r.active, r.reads = map[uint64]int{}, map[int]*pageRead{}
	}
	r.seq++
	r.active[r.seq]++
	return r.seq
}

func (r *pageReads) end(since uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.active[since]--; r.active[since] <= 0 {
		delete(r.active, since)
	}
	oldest := r.seq + 1
	for s := range r.active {
		oldest = min(oldest, s)
	}
	for n, rd := range r.reads {
		if rd.seq < oldest {
			delete(r.reads, n)
		}
	}
}

// sharedPage returns page n for a Current call that began at since: a
// read another call began after since, or one of its own, which the
// calls that begin meanwhile may share.
func (a *API) sharedPage(ctx context.Context, since uint64, n int) (*Page, []pipeline.Customer, error) {
	r := &a.reads
	r.mu.Lock()
	if rd, ok := r.reads[n]; ok && rd.seq > since {
		r.mu.Unlock()
		select {
		case <-rd.done:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
		if rd.err == nil {
			return rd.page, rd.cs, nil
		}
		if !errors.Is(rd.err, context.Canceled) && !errors.Is(rd.err, context.DeadlineExceeded) {
			return nil, nil, rd.err
		}
		// The call that read it was cancelled, this one was not.
		r.mu.Lock()
	}
	r.seq++
	rd := &pageRead{seq: r.seq, done: make(chan struct{})}
	r.reads[n] = rd
	r.mu.Unlock()
	rd.page, rd.cs, rd.err = a.page(ctx, n)
	close(rd.done)
	return rd.page, rd.cs, rd.err
}
