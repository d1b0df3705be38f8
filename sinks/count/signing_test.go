package count_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"crmsync/pipeline"
	"crmsync/sinks/count"
	"crmsync/sinks/count/counttest"
)

// hmacHex is the signature COUNT documents, computed here on its own so
// that the test does not trust the connector's Signature.
func hmacHex(secret, msg string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// TestSigned: every request the sink makes (the check in Prepare, a find
// with its query, a create, an update) carries the token, the client id,
// a timestamp of now and the signature of METHOD:path:timestamp:bodyHash
// with the path after /partners and without its query, the body hash
// that of the bytes sent and "" for a GET; the emulator accepts them all.
func TestSigned(t *testing.T) {
	a := startAccount(t, counttest.Options{})
	id := a.seed(t, body(full(1)))
	before := time.Now().Unix()
	m := full(1)
	m["website"] = "https://lovelace.example.org"
	res := run(t, a.sink(t, count.Options{}), pipeline.Plan{}, []pipeline.Change{
		change("new", values(full(2))),
		{Record: &pipeline.Record{Row: &pipeline.Row{Num: 2}, Key: "old", Values: values(m)}, ID: id, Send: marks("website")},
	})
	if res[0].Outcome != pipeline.OutcomeCreated || res[1].Outcome != pipeline.OutcomeUpdated {
		t.Fatalf("results %+v", res)
	}
	after := time.Now().Unix()
	rs := a.front.requests()
	seen := map[string]bool{}
	for _, r := range rs {
		path := strings.TrimPrefix(r.Path, "/partners")
		seen[r.Method+" "+path] = true
		if got := r.Header.Get("Authorization"); got != "Bearer "+a.srv.Token {
			t.Errorf("%s %s: Authorization %q", r.Method, path, got)
		}
		if got := r.Header.Get("x-client-id"); got != a.srv.ClientID {
			t.Errorf("%s %s: x-client-id %q", r.Method, path, got)
		}
		ts := r.Header.Get("x-timestamp")
		if n, err := strconv.ParseInt(ts, 10, 64); err != nil || n < before || n > after {
			t.Errorf("%s %s: x-timestamp %q, want unix seconds of now", r.Method, path, ts)
		}
		hash := ""
		if r.Method != http.MethodGet {
			sum := sha256.Sum256(r.Body)
			hash = hex.EncodeToString(sum[:])
		} else if len(r.Body) > 0 {
			t.Errorf("%s %s sent a body", r.Method, path)
		}
		want := hmacHex(a.srv.ClientSecret, r.Method+":"+path+":"+ts+":"+hash)
		if got := r.Header.Get("x-signature"); got != want {
			t.Errorf("%s %s: x-signature %q, want %q", r.Method, path, got, want)
		}
	}
	for _, want := range []string{"GET /customers", "GET /customers/find-by-email", "POST /customers", "PUT /customers/" + id} {
		if !seen[want] {
			t.Errorf("no %s among %v", want, seen)
		}
	}
	if got := count.Signature("s", "put", "/customers/x", "17", ""); got != hmacHex("s", "PUT:/customers/x:17:") {
		t.Errorf("Signature upper-cases the method and keeps the colons: %s", got)
	}
}

// TestRefusedCredentialsAreFatal: a client with a wrong secret, token or
// client id is refused 401 at its first request, in Prepare; the run
// stops with a fatal error that names what to check, quotes none of the
// credentials, and is not retried.
func TestRefusedCredentialsAreFatal(t *testing.T) {
	a := startAccount(t, counttest.Options{})
	good := a.creds()
	for name, creds := range map[string]count.Credentials{
		"secret":    {Token: good.Token, ClientID: good.ClientID, ClientSecret: "not-the-secret-42"},
		"token":     {Token: "not-the-token-42", ClientID: good.ClientID, ClientSecret: good.ClientSecret},
		"client id": {Token: good.Token, ClientID: "not-the-client-42", ClientSecret: good.ClientSecret},
	} {
		t.Run(name, func(t *testing.T) {
			a.front.requests()
			_, err := tryRun(a.sink(t, count.Options{Credentials: creds}), pipeline.Plan{}, []pipeline.Change{change("k", values(full(1)))})
			if err == nil || pipeline.ClassOf(err) != pipeline.ClassFatal {
				t.Fatalf("a wrong %s: %v, want a fatal error", name, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, "401") || !strings.Contains(msg, "COUNT_CLIENT_SECRET") {
				t.Errorf("the error does not say what to check: %s", msg)
			}
			for _, secret := range []string{creds.Token, creds.ClientID, creds.ClientSecret, good.ClientSecret} {
				if strings.Contains(msg, secret) {
					t.Errorf("the error quotes a credential %q: %s", secret, msg)
				}
			}
			if rs := a.front.requests(); len(rs) != 1 {
				t.Errorf("%d requests, want the one refused", len(rs))
			}
		})
	}
	if a.count(t) != 0 {
		t.Errorf("the emulator holds %d customers", a.count(t))
	}
}

// clock is a settable clock shared by the emulator and the sink.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// statusWriter remembers the status an answer was given.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(s int) {
	w.status = s
	w.ResponseWriter.WriteHeader(s)
}

// TestResignedAfterLongWait: a retry is signed again after the pacer's
// wait. The emulator's minute window refuses the PUT with 429 and a
// Retry-After of a second; while the sink waits, the clock of both moves
// on 400 s, as it would during a long Retry-After. The retry carries the
// new time and is accepted; a signature made once per call would be 400 s
// old, past COUNT's 300 s, and refused.
func TestResignedAfterLongWait(t *testing.T) {
	clk := &clock{t: time.Date(2026, 12, 2, 10, 0, 59, 0, time.UTC)}
	a := startAccount(t, counttest.Options{RateLimit: 2, Now: clk.Now})
	id := a.seed(t, body(full(1))) // the window's first request
	a.front.set(func(w http.ResponseWriter, r *http.Request, _ []byte, api http.Handler) bool {
		sw := &statusWriter{ResponseWriter: w}
		api.ServeHTTP(sw, r)
		if sw.status == http.StatusTooManyRequests {
			clk.Add(400 * time.Second)
		}
		return true
	})
	m := full(1)
	m["mainPhone"] = "+44 20 7946 9999"
	s := a.sink(t, count.Options{Now: clk.Now})
	res, err := tryRun(s, pipeline.Plan{}, []pipeline.Change{
		{Record: &pipeline.Record{Row: &pipeline.Row{Num: 1}, Key: "k", Values: values(m)}, ID: id, Send: marks("mainPhone")}})
	if err != nil || res[0].Outcome != pipeline.OutcomeUpdated {
		t.Fatalf("%v %+v", err, res)
	}
	puts := routed(a.front.requests(), http.MethodPut, "/customers/"+id)
	if len(puts) != 2 {
		t.Fatalf("%d PUTs, want the one refused 429 and its retry", len(puts))
	}
	t0, _ := strconv.ParseInt(puts[0].Header.Get("x-timestamp"), 10, 64)
	t1, _ := strconv.ParseInt(puts[1].Header.Get("x-timestamp"), 10, 64)
	if t1-t0 < 400 || puts[0].Header.Get("x-signature") == puts[1].Header.Get("x-signature") {
		t.Errorf("the retry was signed at %d, the first attempt at %d: not signed again", t1, t0)
	}
	if got := a.held(t, id)["mainPhone"]; got != "+44 20 7946 9999" {
		t.Errorf("mainPhone %v", got)
	}
	if n := s.Stats().RateLimited.Load(); n != 1 {
		t.Errorf("%d answers counted as 429", n)
	}
}

// TestRetryAfterHonoured: the emulator's 429s come with the Retry-After
// of its minute window, which the pacer waits out before it calls again:
// no request follows a 429 sooner. A sync that outruns the limit still
// writes each customer exactly once.
func TestRetryAfterHonoured(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a rate limit window of about two seconds")
	}
	start := time.Now()
	base := start.Truncate(time.Minute).Add(time.Minute - 2*time.Second)
	now := func() time.Time { return base.Add(time.Since(start)) }
	a := startAccount(t, counttest.Options{RateLimit: 8, Now: now})
	var mu sync.Mutex
	type answer struct {
		at         time.Time
		status     int
		retryAfter string
	}
	var answers []answer
	a.front.set(func(w http.ResponseWriter, r *http.Request, _ []byte, api http.Handler) bool {
		arrived := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		api.ServeHTTP(sw, r)
		mu.Lock()
		answers = append(answers, answer{at: arrived, status: sw.status, retryAfter: w.Header().Get("Retry-After")})
		mu.Unlock()
		return true
	})
	var chs []pipeline.Change
	for i := range 5 {
		chs = append(chs, change(strconv.Itoa(i), values(full(i))))
	}
	s := a.sink(t, count.Options{Concurrency: 1})
	wantOutcome(t, run(t, s, pipeline.Plan{}, chs), pipeline.OutcomeCreated)
	if a.count(t) != 5 {
		t.Errorf("%d customers, want 5", a.count(t))
	}
	limited := 0
	for i, ans := range answers {
		if ans.status != http.StatusTooManyRequests {
			continue
		}
		limited++
		secs, err := strconv.Atoi(ans.retryAfter)
		if err != nil || secs < 1 {
			t.Fatalf("a 429 with Retry-After %q", ans.retryAfter)
		}
		if i+1 < len(answers) && answers[i+1].at.Sub(ans.at) < time.Duration(secs)*time.Second-100*time.Millisecond {
			t.Errorf("a request %v after a 429 that said Retry-After: %d", answers[i+1].at.Sub(ans.at), secs)
		}
	}
	if limited == 0 || s.Stats().RateLimited.Load() != int64(limited) {
		t.Errorf("%d answers 429, the pacer counted %d", limited, s.Stats().RateLimited.Load())
	}
}

// TestPacedAtTheDocumentedRate: without a rate the sink says COUNT's 100
// a minute and paces just under it; a rate given (a raised limit) is
// taken instead. It cannot delete (and says so two ways), and finds by
// email.
func TestPacedAtTheDocumentedRate(t *testing.T) {
	a := startAccount(t, counttest.Options{})
	api, err := count.NewAPI(count.Options{BaseURL: a.url, Credentials: a.creds()})
	if err != nil {
		t.Fatal(err)
	}
	if r := api.Client().Pacer().Rate(); r > count.DefaultRate || r < 0.98*count.DefaultRate {
		t.Errorf("paced at %v a second, want just under %v", r, count.DefaultRate)
	}
	s, err := count.New(count.Options{BaseURL: a.url, Credentials: a.creds()})
	if err != nil {
		t.Fatal(err)
	}
	p := s.Properties()
	if p.Rate != 100.0/60 || p.CanDelete || !p.FindByMatch || p.BulkCreate {
		t.Errorf("properties %+v", p)
	}
	if _, ok := s.(pipeline.Deleter); ok {
		t.Error("the sink implements pipeline.Deleter, and COUNT cannot delete")
	}
	s, _ = count.New(count.Options{BaseURL: a.url, Credentials: a.creds(), Rate: 20})
	if p := s.Properties(); p.Rate != 20 {
		t.Errorf("a rate of 20 a second: properties %+v", p)
	}
	if _, err := count.New(count.Options{BaseURL: a.url, Credentials: count.Credentials{Token: "t", ClientID: "c"}}); err == nil ||
		!strings.Contains(err.Error(), "client secret") {
		t.Errorf("a sink without a client secret: %v", err)
	}
}
