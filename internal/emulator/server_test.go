package emulator

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// items is a small emulator built on the kit the way tiquotest is: a
// {"success":false,"error":{...}} envelope, scopes, a per-minute window.
type items struct {
	srv   *Server
	store *Store
	keys  *Keyring
	read  Perm
	write Perm
	// block, when set, holds every create until it is closed, after
	// telling entered.
	block   chan struct{}
	entered chan struct{}
}

type itemsError struct {
	status      int
	code, field string
	msg         string
}

func (e *itemsError) Error() string { return e.msg }

func answerError(w http.ResponseWriter, e *itemsError) {
	type inner struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	}
	WriteJSON(w, e.status, struct {
		Success bool  `json:"success"`
		Error   inner `json:"error"`
	}{false, inner{e.code, e.msg, e.field}})
}

func answer(w http.ResponseWriter, status int, data any) {
	WriteJSON(w, status, struct {
		Success bool `json:"success"`
		Data    any  `json:"data"`
	}{true, data})
}

func startItems(t *testing.T, o ServerOptions, limit int) *items {
	t.Helper()
	em := &items{store: openItems(t, filepath.Join(t.TempDir(), "items.db"), StoreOptions{})}
	var lim func() Limiter
	if limit > 0 {
		lim = func() Limiter { return NewWindow(limit, time.Minute) }
	}
	var err error
	em.keys, err = NewKeyring([]Key{
		{Token: "sk_rw", Name: "writer", Perms: scopes},
		{Token: "sk_r", Name: "reader", Perms: scopes[:1]},
	}, scopes, lim)
	if err != nil {
		t.Fatal(err)
	}
	em.read, em.write = em.keys.Perm("customers:read"), em.keys.Perm("customers:write")
	o.WriteFault = func(w http.ResponseWriter, r *http.Request, c *Call, status int) {
		// As tiquo: the rate limit headers on every answer of a known key.
		if p, err := em.keys.Authenticate(r); err == nil {
			c.Key = p.Name
			if q, ok := p.Take(time.Now()); ok {
				q.SetHeaders(w.Header())
			}
		}
		answerError(w, &itemsError{status: status, code: "internal_error", msg: "injected"})
	}
	if em.srv, err = Listen(o); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { em.srv.Close(5 * time.Second) })
	em.srv.Endpoint("POST /v1/items", "POST /items", true, em.guard(em.write, em.create))
	em.srv.Endpoint("GET /v1/items", "GET /items", false, em.guard(em.read, em.count))
	em.srv.Fallback(func(w http.ResponseWriter, r *http.Request, c *Call) {
		u := em.srv.Unrouted(r)
		code := "not_found"
		if u.Status == 405 {
			code = "method_not_allowed"
		}
		u.SetAllow(w.Header())
		answerError(w, &itemsError{status: u.Status, code: code, msg: u.Message()})
	})
	em.srv.Sandbox("GET /_sandbox/stats", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, 200, em.srv.Stats())
	})
	em.srv.Serve()
	return em
}

// guard authenticates, takes the quota (headers on every answer of a
// known key, 429s included) and checks the scope, in tiquo's order.
func (em *items) guard(need Perm, h func(w http.ResponseWriter, r *http.Request) *itemsError) Handler {
	return func(w http.ResponseWriter, r *http.Request, c *Call) {
		p, err := em.keys.Authenticate(r)
		if err != nil {
			answerError(w, &itemsError{status: 401, code: "unauthorized", msg: err.Error()})
			return
		}
		c.Key = p.Name
		if q, ok := p.Take(time.Now()); ok {
			q.SetHeaders(w.Header())
			if !q.Allowed {
				answerError(w, &itemsError{status: 429, code: "rate_limited", msg: "slow down"})
				return
			}
		}
		if !p.Has(need) {
			answerError(w, &itemsError{status: 403, code: "insufficient_scope", msg: strings.Join(em.keys.Names(need), " ")})
			return
		}
		if e := h(w, r); e != nil {
			answerError(w, e)
		}
	}
}

func (em *items) create(w http.ResponseWriter, r *http.Request) *itemsError {
	buf := GetBuffer()
	defer PutBuffer(buf)
	if err := ReadBody(r, buf); err != nil {
		be := err.(*BodyError)
		return &itemsError{status: be.Status, code: "validation_error", msg: be.Msg}
	}
	var in struct{ Email string }
	if json.Unmarshal(buf.Bytes(), &in) != nil || in.Email == "" {
		return &itemsError{status: 400, code: "validation_error", field: "email", msg: "email is required"}
	}
	if em.block != nil {
		em.entered <- struct{}{}
		<-em.block
	}
	id, err := addItem(r.Context(), em.store, in.Email)
	if IsUniqueViolation(err, "email") {
		return &itemsError{status: 409, code: "email_exists", field: "email", msg: "taken"}
	}
	if err != nil {
		return &itemsError{status: 500, code: "internal_error", msg: err.Error()}
	}
	answer(w, 201, map[string]any{"id": id})
	return nil
}

func (em *items) count(w http.ResponseWriter, r *http.Request) *itemsError {
	var n int
	if err := em.store.Reader().QueryRowContext(r.Context(), "SELECT count(*) FROM items").Scan(&n); err != nil {
		return &itemsError{status: 500, code: "internal_error", msg: err.Error()}
	}
	answer(w, 200, map[string]any{"count": n})
	return nil
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
}

func (r *reply) code() string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

// call makes one request on a fresh connection (Go's transport would
// retry an idempotent request whose reused connection was cut).
func call(t *testing.T, method, url, key, body string) (*reply, error) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	rp := &reply{status: resp.StatusCode, header: resp.Header}
	if err := json.Unmarshal(raw, &rp.body); err != nil {
		return nil, fmt.Errorf("%s %s: %q is not JSON: %v", method, url, raw, err)
	}
	return rp, nil
}

func must(t *testing.T, method, url, key, body string) *reply {
	t.Helper()
	rp, err := call(t, method, url, key, body)
	if err != nil {
		t.Fatal(err)
	}
	return rp
}

func TestServerRoutesAuthAndStats(t *testing.T) {
	em := startItems(t, ServerOptions{MaxBody: 64}, 0)
	if !strings.HasPrefix(em.srv.URL, "http://127.0.0.1:") || em.srv.URL != "http://"+em.srv.Addr {
		t.Fatalf("URL %q, Addr %q", em.srv.URL, em.srv.Addr)
	}
	u := em.srv.URL + "/v1/items"
	for _, tc := range []struct {
		method, url, key, body string
		status                 int
		code                   string
	}{
		{"POST", u, "sk_rw", `{"email":"a@example.com"}`, 201, ""},
		{"POST", u, "sk_rw", `{"email":"a@example.com"}`, 409, "email_exists"},
		{"POST", u, "sk_r", `{"email":"b@example.com"}`, 403, "insufficient_scope"},
		{"POST", u, "", `{"email":"b@example.com"}`, 401, "unauthorized"},
		{"POST", u, "sk_nope", `{"email":"b@example.com"}`, 401, "unauthorized"},
		{"POST", u, "sk_rw", `{"email":"` + strings.Repeat("b", 100) + `"}`, 413, "validation_error"},
		{"GET", u, "sk_r", "", 200, ""},
		{"DELETE", u, "sk_rw", "", 405, "method_not_allowed"},
		{"GET", em.srv.URL + "/v1/nothing", "sk_rw", "", 404, "not_found"},
	} {
		rp := must(t, tc.method, tc.url, tc.key, tc.body)
		if rp.status != tc.status || rp.code() != tc.code {
			t.Errorf("%s %s as %q: %d %v, want %d %q", tc.method, tc.url, tc.key, rp.status, rp.body, tc.status, tc.code)
		}
		if tc.status == 405 && rp.header.Get("Allow") != "GET, POST" {
			t.Errorf("405 Allow %q", rp.header.Get("Allow"))
		}
		if tc.status != 429 && rp.header.Get("X-RateLimit-Limit") != "" {
			t.Errorf("rate limit headers without a rate limit: %v", rp.header)
		}
	}
	// The stats endpoint is outside the API: not counted, no key needed.
	rp := must(t, "GET", em.srv.URL+"/_sandbox/stats", "", "")
	raw, _ := json.Marshal(rp.body)
	var st RequestStats
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	want := RequestStats{
		Requests: map[string]map[string]int64{
			"POST /items": {"201": 1, "409": 1, "403": 1, "401": 2, "413": 1},
			"GET /items":  {"200": 1},
			"unmatched":   {"405": 1, "404": 1},
		},
		ByStatus:      map[string]int64{"201": 1, "409": 1, "403": 1, "401": 2, "413": 1, "200": 1, "405": 1, "404": 1},
		ByKey:         map[string]int64{"writer": 3, "reader": 2},
		TotalRequests: 9,
	}
	if fmt.Sprint(st) != fmt.Sprint(want) {
		t.Errorf("stats\n got %v\nwant %v", st, want)
	}
	if fmt.Sprint(em.srv.Stats()) != fmt.Sprint(want) {
		t.Errorf("Stats() %v", em.srv.Stats())
	}
}

func TestServerRateLimitWindow(t *testing.T) {
	em := startItems(t, ServerOptions{}, 3)
	u := em.srv.URL + "/v1/items"
	for i := range 3 {
		rp := must(t, "GET", u, "sk_r", "")
		if rp.status != 200 || rp.header.Get("X-RateLimit-Limit") != "3" || rp.header.Get("X-RateLimit-Remaining") != strconv.Itoa(2-i) {
			t.Errorf("request %d: %d %v", i, rp.status, rp.header)
		}
	}
	rp := must(t, "POST", u, "sk_r", `{"email":"x@example.com"}`)
	reset, err := strconv.ParseInt(rp.header.Get("X-RateLimit-Reset"), 10, 64)
	if rp.status != 429 || rp.header.Get("X-RateLimit-Remaining") != "0" || err != nil ||
		reset < time.Now().Unix() || reset > time.Now().Unix()+60 || rp.header.Get("Retry-After") == "" {
		t.Errorf("fourth request: %d %v", rp.status, rp.header)
	}
	// The other key has a window of its own; the refused create was not
	// applied.
	if rp := must(t, "GET", u, "sk_rw", ""); rp.status != 200 || rp.body["data"].(map[string]any)["count"] != float64(0) {
		t.Errorf("other key: %d %v", rp.status, rp.body)
	}
	// WriteFault has the request: an injected error carries the headers.
	em.srv.SetFaults(Faults{Seed: 2, ErrorRate: 1})
	if rp := must(t, "GET", u, "sk_rw", ""); rp.status < 500 || rp.header.Get("X-RateLimit-Remaining") != "1" {
		t.Errorf("injected error: %d %v", rp.status, rp.header)
	}
}

func TestServerFaults(t *testing.T) {
	em := startItems(t, ServerOptions{}, 0)
	u := em.srv.URL + "/v1/items"
	countItems := func() float64 {
		return must(t, "GET", u, "sk_r", "").body["data"].(map[string]any)["count"].(float64)
	}

	em.srv.SetFaults(Faults{Seed: 1, DropRate: 1})
	if rp, err := call(t, "POST", u, "sk_rw", `{"email":"dropped@example.com"}`); err == nil {
		t.Errorf("a dropped request was answered: %d %v", rp.status, rp.body)
	}
	em.srv.SetFaults(Faults{Seed: 1, ErrorRate: 1})
	for range 20 {
		rp := must(t, "POST", u, "sk_rw", `{"email":"failed@example.com"}`)
		if rp.status < 500 || rp.code() != "internal_error" || (rp.status == 503) != (rp.header.Get("Retry-After") == "1") {
			t.Errorf("injected error: %d %v %v", rp.status, rp.header, rp.body)
		}
	}
	em.srv.SetFaults(Faults{Seed: 1, LostAnswerRate: 1})
	if rp, err := call(t, "POST", u, "sk_rw", `{"email":"lost@example.com"}`); err == nil {
		t.Errorf("a lost answer arrived: %d %v", rp.status, rp.body)
	}
	// Reads never lose their answer.
	if n := countItems(); n != 1 {
		t.Errorf("%v items, want the one whose answer was lost", n)
	}
	em.srv.SetFaults(Faults{})
	if rp := must(t, "POST", u, "sk_rw", `{"email":"lost@example.com"}`); rp.code() != "email_exists" {
		t.Errorf("retry of the lost create: %d %v", rp.status, rp.body)
	}
	st := em.srv.Stats()
	if c := st.Requests["POST /items"]; c["dropped"] != 1 || c["lost"] != 1 || c["500"]+c["502"]+c["503"] != 20 {
		t.Errorf("counts %v", c)
	}
	// The injected errors are counted for the key WriteFault named; the
	// dropped request for none.
	if st.ByKey["writer"] != 22 {
		t.Errorf("by key %v, want 20 injected errors, the lost create and its retry for writer", st.ByKey)
	}
	// Out-of-range faults are clamped, not refused.
	em.srv.SetFaults(Faults{ErrorRate: 7})
	if rp := must(t, "GET", u, "sk_r", ""); rp.status < 500 {
		t.Errorf("error rate 7 clamped to 1: %d", rp.status)
	}
	if _, err := Listen(ServerOptions{Faults: Faults{DropRate: 2}, WriteFault: func(http.ResponseWriter, *http.Request, *Call, int) {}}); err == nil {
		t.Error("Listen took a drop rate of 2")
	}
}

// TestServerCloseDrains closes the server while a create is held in its
// handler: the create completes and is answered, and new connections are
// refused.
func TestServerCloseDrains(t *testing.T) {
	em := startItems(t, ServerOptions{}, 0)
	em.block, em.entered = make(chan struct{}), make(chan struct{}, 1)
	u := em.srv.URL + "/v1/items"
	type result struct {
		rp  *reply
		err error
	}
	got := make(chan result, 1)
	go func() {
		rp, err := call(t, "POST", u, "sk_rw", `{"email":"held@example.com"}`)
		got <- result{rp, err}
	}()
	<-em.entered
	closed := make(chan error, 1)
	go func() { closed <- em.srv.Close(10 * time.Second) }()
	<-em.srv.Closing()
	close(em.block)
	r := <-got
	if r.err != nil || r.rp.status != 201 {
		t.Fatalf("held create: %v %v", r.rp, r.err)
	}
	if err := <-closed; err != nil {
		t.Errorf("close: %v", err)
	}
	if _, err := call(t, "GET", u, "sk_r", ""); err == nil {
		t.Error("answered after Close")
	}
	if err := em.srv.Close(time.Second); err != nil {
		t.Errorf("second close: %v", err)
	}
}

// TestServerUnrouted answers what no endpoint takes: a 405 with Allow for
// a path endpoints have with other methods, a 404 without for any other,
// each with the kit's wording.
func TestServerUnrouted(t *testing.T) {
	em := startItems(t, ServerOptions{}, 0)
	for _, tc := range []struct {
		method, path string
		status       int
		allow, msg   string
	}{
		{"DELETE", "/v1/items", 405, "GET, POST", "DELETE is not allowed here; use GET or POST"},
		{"PATCH", "/v1/items", 405, "GET, POST", "PATCH is not allowed here; use GET or POST"},
		{"GET", "/v1/items/7", 404, "", "no such endpoint: /v1/items/7"},
		{"POST", "/v2/items", 404, "", "no such endpoint: /v2/items"},
		{"GET", "/", 404, "", "no such endpoint: /"},
	} {
		rp := must(t, tc.method, em.srv.URL+tc.path, "sk_rw", "")
		e, _ := rp.body["error"].(map[string]any)
		_, hasAllow := rp.header["Allow"]
		if rp.status != tc.status || rp.header.Get("Allow") != tc.allow || hasAllow != (tc.allow != "") || e["message"] != tc.msg {
			t.Errorf("%s %s: %d Allow %q %v, want %d Allow %q %q", tc.method, tc.path, rp.status,
				rp.header.Get("Allow"), rp.body, tc.status, tc.allow, tc.msg)
		}
	}
	if got := em.srv.Stats().Requests["unmatched"]; got["405"] != 2 || got["404"] != 3 {
		t.Errorf("unmatched counted %v", got)
	}
}
