package tamio_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
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

// applyPlan is applyAll with the caller's plan.
func applyPlan(t *testing.T, s pipeline.Sink, plan pipeline.Plan, chs []pipeline.Change) []pipeline.Result {
	t.Helper()
	ctx := context.Background()
	if err := s.Prepare(ctx, plan); err != nil {
		t.Fatal(err)
	}
	res := make([]pipeline.Result, len(chs))
	if err := s.Apply(ctx, chs, res); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return res
}

// Every row learns its own outcome from the calls an update needs: a
// refused single update rejects its row (and its teammate change is not
// made), and a bulk assign refused for one customer is cut down until that
// customer's row alone is rejected; the rest are updated, and say they
// sent the teammate.
func TestRefusedUpdatesAndAssignsAreRejectedAlone(t *testing.T) {
	a := startAccount(t, tamiotest.Options{BulkDelay: time.Millisecond})
	chs := records(4000, 8)
	requireCreatedOnce(t, a, chs, applyAll(t, newSink(t, a, a.srv.APIKey), chs))
	ctx := context.Background()
	ids := make([]string, len(chs))
	for i := range chs {
		c, err := a.client.FindByEmail(ctx, chs[i].Record.Values[0])
		if err != nil || c == nil {
			t.Fatalf("finding change %d's customer: %v %v", i, c, err)
		}
		ids[i] = c.ID
	}
	const refusedPhone, refusedPhoneAndTeammate, deleted = 3, 2, 5
	// Deleted by hand since the last run: the state still holds its id.
	if _, err := a.client.BulkDelete(ctx, []string{ids[deleted]}); err != nil {
		t.Fatal(err)
	}

	sch := tamio.Schema()
	phone, teammate := sch.Index("phone"), sch.Index("teammate_id")
	target := tamiotest.DefaultTeammates()[2].ID
	before := make([][]string, len(chs))
	for i := range chs {
		v := chs[i].Record.Values
		before[i] = append([]string(nil), v...)
		send := make([]bool, len(sch.Fields))
		if i == refusedPhone || i == refusedPhoneAndTeammate {
			v[phone] = "12345" // not E.164: tamio refuses it, the sink leaves that to tamio
			send[phone] = true
		}
		if i != refusedPhone {
			v[teammate] = target
			send[teammate] = true
		}
		chs[i].ID, chs[i].Send = ids[i], send
	}
	if before[refusedPhoneAndTeammate][teammate] == target {
		t.Fatal("the refused row's teammate is the target already; the test would prove nothing")
	}
	res := applyAll(t, newSink(t, a, a.srv.APIKey), chs)

	for i, r := range res {
		switch i {
		case refusedPhone, refusedPhoneAndTeammate:
			if r.Outcome != pipeline.OutcomeRejected || r.Reject.Field != "phone" {
				t.Errorf("change %d (phone refused): %v %+v, want rejected on phone", i, r.Outcome, r.Reject)
			}
			got, _ := a.Get(t, ids[i])
			if got["phone"] != before[i][phone] || got["teammate_id"] != before[i][teammate] {
				t.Errorf("change %d (phone refused): the account holds phone %q teammate %q, want them unchanged (%q, %q)",
					i, got["phone"], got["teammate_id"], before[i][phone], before[i][teammate])
			}
		case deleted:
			if r.Outcome != pipeline.OutcomeRejected || r.Reject.Field != "teammate_id" {
				t.Errorf("change %d (customer deleted): %v %+v, want rejected on teammate_id", i, r.Outcome, r.Reject)
			}
		default:
			if r.Outcome != pipeline.OutcomeUpdated || r.ID != ids[i] {
				t.Errorf("change %d: %v %q %+v, want updated %q", i, r.Outcome, r.ID, r.Reject, ids[i])
				continue
			}
			if len(r.Sent) <= teammate || !r.Sent[teammate] {
				t.Errorf("change %d: the result does not say the teammate was sent: %v", i, r.Sent)
			}
			if got, _ := a.Get(t, ids[i]); got["teammate_id"] != target {
				t.Errorf("change %d: the account holds teammate %q, want %q", i, got["teammate_id"], target)
			}
		}
	}
}

// A create an interrupted run sent but never confirmed may have made its
// customer under the email the row had then (AltMatch). The row must find
// that customer under either email, whether the account was indexed or
// the row is looked up alone, and update it rather than create another.
func TestAltMatchFindsTheCustomerOfAnUnconfirmedCreate(t *testing.T) {
	for _, indexed := range []bool{true, false} {
		t.Run(fmt.Sprintf("indexed=%v", indexed), func(t *testing.T) {
			a := startAccount(t, tamiotest.Options{BulkDelay: time.Millisecond})
			old := harness.Valid(5000)
			c, err := a.client.Create(context.Background(), map[string]any{
				"email": old[0], "name": old[1], "last_name": old[2], "country": old[3],
			})
			if err != nil {
				t.Fatal(err)
			}
			s := newSink(t, a, a.srv.APIKey)
			values := append([]string(nil), old...)
			values[0] = "renamed." + old[0]
			chs := []pipeline.Change{{AltMatch: old[0], Record: &pipeline.Record{Row: &pipeline.Row{Num: 1}, Key: "k", Values: values}}}
			mapped := make([]bool, len(s.Schema().Fields))
			for i := range mapped {
				mapped[i] = true
			}
			res := applyPlan(t, s, pipeline.Plan{Mapped: mapped, Mode: pipeline.ModeUpsert, IndexAccount: indexed}, chs)
			if r := res[0]; r.Outcome != pipeline.OutcomeUpdated || r.ID != c.ID {
				t.Errorf("%v %q %+v, want updated %q (the customer made under the earlier email)", r.Outcome, r.ID, r.Reject, c.ID)
			}
			if n := a.Count(t); n != 1 {
				t.Errorf("the account holds %d customers, want 1", n)
			}
			if got, _ := a.Get(t, c.ID); got["email"] != values[0] {
				t.Errorf("the customer's email is %q, want %q", got["email"], values[0])
			}
		})
	}
}

// Delete reports each id gone that is gone: deleted now, in chunks of
// the bulk endpoint's size, or absent already. An id tamio refuses is cut
// out of its chunk and reported not deleted, and the rest of its chunk is
// deleted all the same.
func TestDeleteReportsEachIDGone(t *testing.T) {
	a := startAccount(t, tamiotest.Options{BulkDelay: time.Millisecond})
	chs := records(6000, 120)
	res := applyAll(t, newSink(t, a, a.srv.APIKey), chs)
	requireCreatedOnce(t, a, chs, res)
	ctx := context.Background()
	const keep = 10
	var ids []string
	for _, r := range res[keep:] {
		ids = append(ids, r.ID)
	}
	// Deleted by hand since the last run.
	if _, err := a.client.BulkDelete(ctx, ids[70:75]); err != nil {
		t.Fatal(err)
	}
	const refused = 60 // in the second chunk; an id of another tamio build, not a UUID
	ids[refused] = "cus_0001"

	s := newSink(t, a, a.srv.APIKey).(*tamio.Sink)
	deleted := make([]bool, len(ids))
	if err := s.Delete(ctx, ids, deleted); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for i, ok := range deleted {
		if ok != (i != refused) {
			t.Errorf("id %d (%s): deleted=%v", i, ids[i], ok)
		}
	}
	for i, r := range res {
		_, held := a.Get(t, r.ID)
		if want := i < keep || i-keep == refused; held != want {
			t.Errorf("change %d: held by the account: %v, want %v", i, held, want)
		}
	}
}

// A bulk job that runs promptly is confirmed by listing: each row takes
// the id its customer got from the job, matched by email whatever its
// case, and no row waits for the confirm timeout or falls back to a
// single create (which would cost a call per row, and the timeout per
// batch). The timeout is long against the job's few milliseconds, short
// enough that a confirmer that never confirms fails the test in seconds.
func TestPromptBulkJobIsConfirmedByListing(t *testing.T) {
	a := startAccount(t, tamiotest.Options{BulkDelay: time.Millisecond})
	s, err := tamio.New(tamio.Options{BaseURL: a.srv.URL, APIKey: a.srv.APIKey, ConfirmTimeout: 5 * time.Second, PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	chs := records(7000, 30)
	for i := range chs {
		if i%2 == 0 {
			chs[i].Record.Values[0] = fmt.Sprintf("Person.%d@Example.COM", 7000+i)
		}
	}
	res := applyAll(t, s, chs)
	seen := map[string]bool{}
	for i, r := range res {
		if r.Outcome != pipeline.OutcomeCreated || r.ID == "" || seen[r.ID] {
			t.Errorf("change %d: %v %q %+v, want created with an id of its own", i, r.Outcome, r.ID, r.Reject)
			continue
		}
		seen[r.ID] = true
		if got, ok := a.Get(t, r.ID); !ok || !strings.EqualFold(got["email"], chs[i].Record.Values[0]) {
			t.Errorf("change %d: id %s holds %v, want email %s", i, r.ID, got, chs[i].Record.Values[0])
		}
	}
	if n := a.Count(t); n != len(chs) {
		t.Errorf("the account holds %d customers, want %d", n, len(chs))
	}
	st := a.srv.Stats()
	if n := st.Requests["POST /customers/create"]; len(n) != 0 {
		t.Errorf("single creates were made (%v): the bulk job was not confirmed by listing", n)
	}
}
