package emutest_test

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"crmsync/internal/emulator"
	"crmsync/internal/emulator/emutest"
)

// TestServe closes the server when the test ends, on a file in the
// test's directory, and reports a Close that fails.
func TestServe(t *testing.T) {
	var th *things
	var db string
	msgs := record(t, func(tb testing.TB) {
		db = emutest.TempDB(tb, "things.db")
		var err error
		th, err = newThings(db, emulator.Faults{})
		emutest.Serve(tb, th, err)
		thingsClient(tb, th).OK(201, "POST", "/things", map[string]any{"name": "kept"})
	})
	if len(msgs) != 0 {
		t.Fatalf("reported %v", msgs)
	}
	if !strings.HasPrefix(db, os.TempDir()) || filepath.Base(db) != "things.db" {
		t.Errorf("database at %s", db)
	}
	if _, err := http.Get(th.URL + "/things"); err == nil {
		t.Error("the server still answers after the test ended")
	}
	if n := th.st.CountRows("things"); n != -1 {
		t.Errorf("the store still counts %d things after the test ended", n)
	}

	// A Close that fails is reported: a file closed twice.
	msgs = record(t, func(tb testing.TB) {
		f, err := os.Create(emutest.TempDB(tb, "f"))
		emutest.Serve(tb, f, err)
		f.Close()
	})
	if len(msgs) != 1 || !strings.HasPrefix(msgs[0], "close: ") {
		t.Errorf("a failing Close: reported %q", msgs)
	}
	msgs = record(t, func(tb testing.TB) {
		emutest.Serve(tb, (*os.File)(nil), fmt.Errorf("no listener"))
		tb.Error("went on after a server that did not start")
	})
	if len(msgs) != 1 || msgs[0] != "no listener" {
		t.Errorf("a server that did not start: reported %q", msgs)
	}
}

// TestCheckRefused passes options that do not start and reports, and
// closes, a server that starts.
func TestCheckRefused(t *testing.T) {
	var started *things
	newServer := func(f emulator.Faults) (*things, error) {
		th, err := newThings(emutest.TempDB(t, "things.db"), f)
		if err == nil {
			started = th
		}
		return th, err
	}
	if msgs := record(t, func(tb testing.TB) {
		emutest.CheckRefused(tb, newServer, map[string]emulator.Faults{
			"rate above 1": {ErrorRate: 1.5}, "negative latency": {Latency: -1}})
	}); len(msgs) != 0 || started != nil {
		t.Errorf("refused options: reported %q, started %v", msgs, started)
	}
	msgs := record(t, func(tb testing.TB) {
		emutest.CheckRefused(tb, newServer, map[string]emulator.Faults{"no faults": {}})
	})
	if len(msgs) != 1 || msgs[0] != "no faults: accepted" {
		t.Errorf("a server that starts: reported %q", msgs)
	}
	if started == nil {
		t.Fatal("no server started")
	}
	if n := started.st.CountRows("things"); n != -1 {
		t.Error("the server that started was left open")
	}
}

// TestClient sends JSON and checks every answer: the token or the raw
// Authorization, the Content-Type of a body, the envelope check, answers
// that are not JSON, and Do and OK failing on what they must.
func TestClient(t *testing.T) {
	th := startThings(t, emulator.Faults{})
	c := thingsClient(t, th)
	a := c.OK(201, "POST", "/things", map[string]any{"name": "Ana"})
	if a.Status != 201 || a.Body["name"] != "Ana" || a.Header.Get("Content-Type") != "application/json" ||
		a.String() != `201 {"name":"Ana","ok":true}`+"\n" {
		t.Errorf("create: %v %v", a, a.Header)
	}
	if a := c.Do("POST", "/things", `{"name": "ANA"}`); a.Status != 409 {
		t.Errorf("a string body, sent as it is: %v", a)
	}
	if a := c.Do("POST", "/things", []byte(`{"name": "Bea"}`)); a.Status != 201 {
		t.Errorf("a []byte body, sent as it is: %v", a)
	}
	if a := c.With(func(c *emutest.Client) { c.Token = "" }).Do("POST", "/things", map[string]any{"name": "x"}); a.Status != 401 {
		t.Errorf("without a token: %v", a)
	}
	if a := c.With(func(c *emutest.Client) { c.Authorization = "Bearer nope" }).Do("POST", "/things", map[string]any{"name": "x"}); a.Status != 401 {
		t.Errorf("an Authorization of its own: %v", a)
	}
	if a := c.With(func(c *emutest.Client) { c.Token = "nope"; c.Authorization = "bearer tk" }).Do("POST", "/things", map[string]any{"name": "Cy"}); a.Status != 201 {
		t.Errorf("Authorization in place of the token: %v", a)
	}
	if got := c.OK(200, "GET", "/things", nil).Body["things"]; got != float64(3) {
		t.Errorf("%v things", got)
	}
	// What goes out: a body's Content-Type, none without a body.
	echo := c.With(func(c *emutest.Client) { c.Base, c.Check = strings.TrimSuffix(th.URL, "/v1"), nil })
	for _, tc := range []struct {
		method string
		body   any
		want   string
	}{
		{"PUT", map[string]any{"a": []int{1}}, `"authorization":["Bearer tk"],"body":"{\"a\":[1]}","content_type":["application/json"],"method":"PUT"}`},
		{"POST", "", `"authorization":["Bearer tk"],"body":"","content_type":["application/json"],"method":"POST"}`},
		{"GET", nil, `"authorization":["Bearer tk"],"body":"","content_type":null,"method":"GET"}`},
	} {
		if a := echo.OK(200, tc.method, "/_sandbox/echo", tc.body); !strings.HasSuffix(string(a.Raw), tc.want+"\n") {
			t.Errorf("%s %v went out as %s", tc.method, tc.body, a.Raw)
		}
	}
	// The envelope check runs on every answer.
	strict := c.With(func(c *emutest.Client) {
		c.Check = func(a *emutest.Answer) error {
			if a.Status >= 400 {
				return fmt.Errorf("refused %d", a.Status)
			}
			return nil
		}
	})
	if _, err := strict.Send("POST", "/things", map[string]any{"name": "Ana"}); err == nil || err.Error() != "POST /v1/things: refused 409" {
		t.Errorf("a check failing: %v", err)
	}
	text := c.With(func(c *emutest.Client) { c.Base = strings.TrimSuffix(th.URL, "/v1") })
	if _, err := text.Send("GET", "/_sandbox/text?x=1", nil); err == nil || !strings.HasPrefix(err.Error(), "GET /_sandbox/text?x=1: answer is not a JSON object") {
		t.Errorf("an answer that is not JSON: %v", err)
	}
	if msgs := record(t, func(tb testing.TB) {
		thingsClient(tb, th).OK(201, "POST", "/things", map[string]any{"name": "ana"})
		tb.Error("went on after OK failed")
	}); len(msgs) != 1 || !strings.Contains(msgs[0], "POST /things: 409") {
		t.Errorf("OK of a 409: reported %q", msgs)
	}
	if msgs := record(t, func(tb testing.TB) {
		text.With(func(c *emutest.Client) { c.T = tb }).Do("GET", "/_sandbox/text", nil)
		tb.Error("went on after Do failed")
	}); len(msgs) != 1 || !strings.Contains(msgs[0], "not a JSON object") {
		t.Errorf("Do of an answer that is not JSON: reported %q", msgs)
	}
}

// TestClientOneShot cuts connections: a one-shot client sees every cut,
// where Go's transport would send a GET again on a new connection when
// the one it reused is cut.
func TestClientOneShot(t *testing.T) {
	th := startThings(t, emulator.Faults{})
	c := thingsClient(t, th).OneShot()
	c.OK(200, "GET", "/things", nil)
	th.http.SetFaults(emulator.Faults{Seed: 1, DropRate: 1})
	if a, err := c.Send("GET", "/things", nil); err == nil {
		t.Fatalf("a dropped connection answered %v", a)
	}
	if got := th.http.Stats().Requests["GET /things"]["dropped"]; got != 1 {
		t.Errorf("%d drops for one request: the client sent it again", got)
	}
	p := thingsClient(t, th).Pooled(8)
	if tr, ok := p.HTTP.Transport.(*http.Transport); !ok || tr.MaxIdleConnsPerHost != 8 || tr.DisableKeepAlives {
		t.Errorf("pooled transport %+v", p.HTTP.Transport)
	}
}

// TestReceiver collects the kit's deliveries in order, and reports a
// delivery that is not a JSON POST and more events than awaited.
func TestReceiver(t *testing.T) {
	rc := emutest.NewReceiver(t)
	th := startThings(t, emulator.Faults{}, rc.URL+"/hooks")
	c := thingsClient(t, th)
	for _, name := range []string{"one", "two", "three"} {
		c.OK(201, "POST", "/things", map[string]any{"name": name})
	}
	events := rc.Wait(t, 3)
	for i, name := range []string{"one", "two", "three"} {
		if events[i]["type"] != "thing.created" || events[i]["name"] != name {
			t.Errorf("event %d: %v", i, events[i])
		}
	}
	if raw := rc.Raw(); len(raw) != 3 || string(raw[0]) != `{"name":"one","type":"thing.created"}` {
		t.Errorf("raw bodies %q", raw)
	}

	msgs := record(t, func(tb testing.TB) {
		rc := emutest.NewReceiver(tb)
		resp, err := http.Post(rc.URL, "text/plain", strings.NewReader("{}"))
		if err != nil {
			tb.Fatal(err)
		}
		resp.Body.Close()
		resp, err = http.Post(rc.URL, "application/json", strings.NewReader(`{"n": 2}`))
		if err != nil {
			tb.Fatal(err)
		}
		resp.Body.Close()
		rc.Wait(tb, 1)
	})
	if len(msgs) != 2 || !strings.HasPrefix(msgs[0], `webhook request POST text/plain "{}"`) || !strings.HasPrefix(msgs[1], "2 events, want 1") {
		t.Errorf("a bad delivery, then a wait for one of two: reported %q", msgs)
	}
}

// replayThings drives things for CheckReplay; seeded says whether the
// server's faults follow the seed CheckReplay gives.
func replayThings(tb testing.TB, seeded bool) func(f emulator.Faults) emutest.Replayed {
	runs := int64(0)
	return func(f emulator.Faults) emutest.Replayed {
		if !seeded {
			runs++
			f.Seed = runs
		}
		th := startThings(tb, f)
		c := thingsClient(tb, th).OneShot()
		return emutest.Replayed{
			Create: func(i int) (*emutest.Answer, error) {
				return c.Send("POST", "/things", map[string]any{"name": fmt.Sprint("t", i)})
			},
			List:     func() (*emutest.Answer, error) { return c.Send("GET", "/things", nil) },
			Requests: func() map[string]map[string]int64 { return th.http.Stats().Requests },
		}
	}
}

// TestCheckReplay passes a server whose faults follow their seed and
// catches one whose faults do not, or whose "list" loses answers.
func TestCheckReplay(t *testing.T) {
	if msgs := record(t, func(tb testing.TB) {
		emutest.CheckReplay(tb, "POST /things", "GET /things", replayThings(tb, true))
	}); len(msgs) != 0 {
		t.Errorf("a seeded server: reported %q", msgs)
	}
	if msgs := record(t, func(tb testing.TB) {
		emutest.CheckReplay(tb, "POST /things", "GET /things", replayThings(tb, false))
	}); len(msgs) != 2 || !strings.HasPrefix(msgs[0], "same seed, different faults") || !strings.HasPrefix(msgs[1], "same seed, different stats") {
		t.Errorf("a server ignoring the seed: reported %q", msgs)
	}
	if msgs := record(t, func(tb testing.TB) {
		emutest.CheckReplay(tb, "POST /things", "POST /things", replayThings(tb, true))
	}); len(msgs) != 1 || !strings.HasPrefix(msgs[0], "POST /things outcomes") {
		t.Errorf("a list that writes: reported %q", msgs)
	}
	if msgs := record(t, func(tb testing.TB) {
		emutest.CheckReplay(tb, "GET /things", "GET /things", replayThings(tb, true))
	}); len(msgs) != 1 || !strings.HasPrefix(msgs[0], "GET /things outcomes") {
		t.Errorf("creates that lose nothing: reported %q", msgs)
	}
}

type thingsOptions struct {
	RateLimit int
	Faults    emulator.Faults
}

func loadThings(path string) (thingsOptions, error) {
	type file struct {
		RateLimit emulator.Whole        `yaml:"rate_limit"`
		Faults    emulator.FaultsConfig `yaml:"faults"`
	}
	return emulator.LoadConfig(path, func(f file) (thingsOptions, error) {
		o := thingsOptions{RateLimit: int(f.RateLimit), Faults: f.Faults.Faults()}
		if o.RateLimit < 0 {
			return o, emulator.At("rate_limit", -1, fmt.Errorf("rate limit %d is negative", o.RateLimit))
		}
		if err := o.Faults.Validate(); err != nil {
			return o, emulator.At("faults", -1, err)
		}
		return o, nil
	})
}

// TestCheckLoadConfig passes a LoadConfig on the kit and catches one
// that fills in defaults, words errors without their line, or spells out
// Go types.
func TestCheckLoadConfig(t *testing.T) {
	bad := []emutest.ConfigError{
		{"unknown", "rate_limt: 5\n", `:1: unknown setting "rate_limt"`},
		{"negative", "# plan\nrate_limit: -5\n", ":2: rate limit -5 is negative"},
		{"fault rate", "faults:\n  drop_rate: 2\n", ":1: faults: drop_rate 2 is not between 0 and 1"},
	}
	if msgs := record(t, func(tb testing.TB) { emutest.CheckLoadConfig(tb, loadThings, bad) }); len(msgs) != 0 {
		t.Errorf("the kit's LoadConfig: reported %q", msgs)
	}
	withDefaults := func(path string) (thingsOptions, error) {
		o, err := loadThings(path)
		if err == nil && o.RateLimit == 0 {
			o.RateLimit = 100
		}
		return o, err
	}
	if msgs := record(t, func(tb testing.TB) { emutest.CheckLoadConfig(tb, withDefaults, bad) }); len(msgs) != 1 || !strings.HasPrefix(msgs[0], "empty file: ") {
		t.Errorf("defaults filled in: reported %q", msgs)
	}
	unplaced := func(path string) (thingsOptions, error) {
		o, err := loadThings(path)
		if err != nil {
			err = fmt.Errorf("%s: in type struct: %w", path, errors.Unwrap(err))
		}
		return o, err
	}
	msgs := record(t, func(tb testing.TB) { emutest.CheckLoadConfig(tb, unplaced, bad[1:]) })
	if len(msgs) != 4 || !strings.HasPrefix(msgs[0], "negative: error ") || !strings.Contains(msgs[1], "spells out a Go type") {
		t.Errorf("errors without their line, naming a type: reported %q", msgs)
	}
	found := func(string) (thingsOptions, error) { return thingsOptions{}, nil }
	if msgs := record(t, func(tb testing.TB) { emutest.CheckLoadConfig(tb, found, nil) }); len(msgs) != 1 || msgs[0] != "a missing file loaded" {
		t.Errorf("a missing file read as empty: reported %q", msgs)
	}
}

func TestWithWithout(t *testing.T) {
	m := map[string]any{"a": 1, "b": 2}
	w := emutest.With(m, "c", 3)
	wo := emutest.Without(m, "a")
	if len(m) != 2 || len(w) != 3 || w["c"] != 3 || w["a"] != 1 || len(wo) != 1 || wo["b"] != 2 {
		t.Errorf("m %v, with c %v, without a %v", m, w, wo)
	}
	if got := emutest.Without(nil, "a"); got == nil || len(got) != 0 {
		t.Errorf("without of nil: %#v", got)
	}
}
