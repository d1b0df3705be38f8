package tamio_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"crmsync/pipeline"
	"crmsync/sinks/tamio"
	"crmsync/sinks/tamio/tamiotest"
)

// loseCreatedAnswers serves a's API on a listener of its own and closes
// the connection, without an answer, after every single create the
// emulator performed: the customer exists, the client saw only a broken
// connection. Every other answer, a refused create's included, passes.
// The emulator's own lost-answer fault cannot do this: it draws by chance,
// on every write, whatever the write's outcome. It returns the base URL
// and the count of answers lost.
func loseCreatedAnswers(t *testing.T, a *account) (string, *atomic.Int64) {
	t.Helper()
	api := a.srv.Handler()
	lost := new(atomic.Int64)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v2/customers/create" {
			api.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, r)
		if rec.Code == http.StatusOK {
			lost.Add(1)
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				panic(http.ErrAbortHandler)
			}
			conn.Close()
			return
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(ts.Close)
	return ts.URL + "/v2", lost
}

// The no-duplicate promise where it is hardest to keep: the bulk job runs
// after the confirm timeout, so every row falls back to a single create,
// and each single create's answer is lost after the customer was made.
// The retry is answered "already exists" (10142); the row must then take
// the id the account holds, never be rejected, and never be created twice.
func TestLostSingleCreateAnswersAfterALateBulkJob(t *testing.T) {
	a := startAccount(t, tamiotest.Options{BulkDelay: 400 * time.Millisecond})
	url, lost := loseCreatedAnswers(t, a)
	s, err := tamio.New(tamio.Options{BaseURL: url, APIKey: a.srv.APIKey, ConfirmTimeout: 50 * time.Millisecond, PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	chs := records(3000, 20)
	res := applyAll(t, s, chs)
	requireCreatedOnce(t, a, chs, res)
	for i, r := range res {
		if r.Reject != nil && r.Reject.Code == "10142" {
			t.Errorf("change %d rejected as already existing: the customer it made was not looked up", i)
		}
	}
	// Whether a row's first single create came before the bulk job (its
	// answer lost, the retry refused) or after it (refused at once), each
	// row must have been told "already exists" once.
	st := a.srv.Stats()
	if got := st.Requests["POST /customers/create"]["400"]; got < int64(len(chs)) {
		t.Errorf("%d single creates answered 400, want one per row (%d): the already-exists path was not exercised", got, len(chs))
	}
	t.Logf("%d single create answers lost", lost.Load())
}

// An update that changes only the phone still sends name, which tamio
// requires on every update, and sends nothing else: the customer keeps
// its name and every field the change did not mark, even where the
// record's value differs from the account's.
func TestUpdateOfOnlyPhoneSendsName(t *testing.T) {
	a := startAccount(t, tamiotest.Options{})
	ctx := context.Background()
	c, err := a.client.Create(ctx, map[string]any{
		"email": "ada@example.com", "name": "Ada", "last_name": "Lovelace", "country": "gb",
		"category": "customer", "phone": "+442071234567",
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := tamio.New(tamio.Options{BaseURL: a.srv.URL, APIKey: a.srv.APIKey, PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	sch := s.Schema()
	values := make([]string, len(sch.Fields))
	for f, v := range map[string]string{
		"email": "ada@example.com", "name": "Ada", "country": "GB", "category": "customer",
		"phone":     "+442079460000",
		"last_name": "Byron", // differs from the account's, but not marked
	} {
		values[sch.Index(f)] = v
	}
	send := make([]bool, len(sch.Fields))
	send[sch.Index("phone")] = true
	chs := []pipeline.Change{{ID: c.ID, Send: send, Record: &pipeline.Record{Row: &pipeline.Row{Num: 1}, Key: "ada", Values: values}}}
	before := a.srv.Stats()
	res := applyAll(t, s, chs)

	r := res[0]
	if r.Outcome != pipeline.OutcomeUpdated || r.ID != c.ID {
		t.Fatalf("%v %q %v, want updated %q", r.Outcome, r.ID, r.Reject, c.ID)
	}
	for f, on := range r.Sent {
		if on != (sch.Fields[f].Name == "phone") {
			t.Errorf("the result marks %s as sent=%v; only phone was to be sent", sch.Fields[f].Name, on)
		}
	}
	got, _ := a.Get(t, c.ID)
	want := map[string]string{"phone": "+442079460000", "name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"}
	for f, v := range want {
		if got[f] != v {
			t.Errorf("the account holds %s=%q, want %q", f, got[f], v)
		}
	}
	after := a.srv.Stats()
	if n := after.Requests["POST /customers/update/{uuid}"]["200"] - before.Requests["POST /customers/update/{uuid}"]["200"]; n != 1 {
		t.Errorf("%d successful single updates, want 1", n)
	}
}
