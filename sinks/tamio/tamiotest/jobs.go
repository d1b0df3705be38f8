package tamiotest

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"
)

// importChunkSize is how many customers one transaction of a bulk job
// creates: small enough that single writes are not held up for long, and
// the grain at which Close stops a job.
const importChunkSize = 100

var errStopped = errors.New("stopped")

// jobQueue runs bulk/create jobs one at a time, in the order they were
// accepted. A job stays at the head of queue until it is done, so that
// pending counts it while it runs.
type jobQueue struct {
	s *Server

	mu    sync.Mutex
	queue []jobRef
	idle  chan struct{} // closed while queue is empty

	wake chan struct{}
	quit chan struct{}
	done chan struct{}
}

func newJobQueue(s *Server, pending []jobRef) *jobQueue {
	q := &jobQueue{
		s:     s,
		queue: pending,
		idle:  make(chan struct{}),
		wake:  make(chan struct{}, 1),
		quit:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	if len(pending) == 0 {
		close(q.idle)
	}
	go q.run()
	return q
}

func (q *jobQueue) add(j jobRef) {
	q.mu.Lock()
	if len(q.queue) == 0 {
		q.idle = make(chan struct{})
	}
	q.queue = append(q.queue, j)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *jobQueue) pending() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.queue)
}

func (q *jobQueue) waitIdle(ctx context.Context) error {
	q.mu.Lock()
	idle := q.idle
	q.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-q.done:
		select {
		case <-idle:
			return nil
		default:
			return errors.New("tamiotest: server closed with bulk jobs pending")
		}
	}
}

// stop makes the worker return after the transaction it is in, and waits
// for it.
func (q *jobQueue) stop() {
	close(q.quit)
	<-q.done
}

func (q *jobQueue) run() {
	defer close(q.done)
	for {
		q.mu.Lock()
		if len(q.queue) == 0 {
			q.mu.Unlock()
			select {
			case <-q.wake:
				continue
			case <-q.quit:
				return
			}
		}
		j := q.queue[0]
		q.mu.Unlock()

		if d := time.Until(j.runAt); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-q.quit:
				t.Stop()
				return
			}
		}
		err := q.s.runJob(j.id, q.quit)
		if errors.Is(err, errStopped) {
			return
		}
		if err != nil {
			// The job stays in the database and is tried again at the
			// next start; retrying now would most likely fail the same way.
			q.s.stats.jobsFailed.Add(1)
			q.s.log.Error("bulk job failed", "job", j.id, "error", err)
		}
		q.mu.Lock()
		q.queue = q.queue[1:]
		if len(q.queue) == 0 {
			close(q.idle)
		}
		q.mu.Unlock()
	}
}

// runJob creates a job's customers, from where it stopped last.
func (s *Server) runJob(id int64, quit <-chan struct{}) error {
	ctx := context.Background()
	keyName, recs, done, err := s.st.loadJob(ctx, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // finished by an earlier server, whose Close came after the commit
	}
	if err != nil {
		return err
	}
	start := time.Now()
	var created, skipped int
	for done < len(recs) {
		select {
		case <-quit:
			s.log.Info("bulk job interrupted by close; it resumes at the next start", "job", id, "done", done, "of", len(recs))
			return errStopped
		default:
		}
		end := min(done+importChunkSize, len(recs))
		cs, err := s.st.importChunk(ctx, id, recs, done, end)
		if err != nil {
			return err
		}
		created += len(cs)
		skipped += end - done - len(cs)
		s.stats.imported.Add(int64(len(cs)))
		s.stats.skipped.Add(int64(end - done - len(cs)))
		for _, c := range cs {
			s.emit("customer.created", c, sourceImport)
		}
		done = end
	}
	s.stats.jobsRun.Add(1)
	s.log.Info("bulk job done", "job", id, "key", keyName, "created", created,
		"skipped", skipped, "duration", time.Since(start))
	return nil
}
