package emutest_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"crmsync/internal/emulator"
	"crmsync/internal/emulator/emutest"
)

// things is the smallest emulator the kit makes: POST /v1/things stores
// a thing (names unique regardless of case) and sends a webhook, GET
// /v1/things counts them; answers are {"ok": ..., "error": ...}.
type things struct {
	URL   string
	http  *emulator.Server
	st    *emulator.Store
	keys  *emulator.Keyring
	hooks *emulator.Webhooks
	ins   *sql.Stmt
}

func newThings(dbPath string, f emulator.Faults, webhooks ...string) (*things, error) {
	st, err := emulator.OpenStore(emulator.StoreOptions{Path: dbPath, Version: 1, Application: "things",
		Migrate: func(ctx context.Context, tx *sql.Tx, from int) error {
			return emulator.ExecAll(ctx, tx, `CREATE TABLE IF NOT EXISTS things (name TEXT NOT NULL, name_key TEXT NOT NULL UNIQUE)`)
		}})
	if err != nil {
		return nil, err
	}
	th := &things{st: st}
	if err := st.PrepareAll([]emulator.Statement{{Dst: &th.ins, Query: "INSERT INTO things (name, name_key) VALUES (?, ?)"}}); err != nil {
		return nil, err
	}
	if th.keys, err = emulator.NewKeyring([]emulator.Key{{Token: "tk", Name: "default"}}, nil, nil); err != nil {
		st.Close()
		return nil, err
	}
	th.http, err = emulator.Listen(emulator.ServerOptions{Faults: f,
		WriteFault: func(w http.ResponseWriter, r *http.Request, c *emulator.Call, status int) {
			emulator.WriteJSON(w, status, map[string]any{"ok": false, "error": "injected"})
		}})
	if err != nil {
		st.Close()
		return nil, err
	}
	th.hooks = emulator.NewWebhooks(emulator.WebhookOptions{URLs: webhooks, Backoff: time.Millisecond})
	th.URL = th.http.URL + "/v1"
	th.http.Endpoint("POST /v1/things", "POST /things", true, th.create)
	th.http.Endpoint("GET /v1/things", "GET /things", false, th.count)
	th.http.Fallback(func(w http.ResponseWriter, r *http.Request, c *emulator.Call) {
		u := th.http.Unrouted(r)
		u.SetAllow(w.Header())
		emulator.WriteJSON(w, u.Status, map[string]any{"ok": false, "error": u.Message()})
	})
	th.http.Sandbox("GET /_sandbox/text", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("not json")) })
	th.http.Sandbox("/_sandbox/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		emulator.WriteJSON(w, 200, map[string]any{"method": r.Method, "body": string(body),
			"content_type": r.Header.Values("Content-Type"), "authorization": r.Header.Values("Authorization")})
	})
	th.http.Serve()
	return th, nil
}

func (th *things) Close() error {
	err := th.http.Close(5 * time.Second)
	th.hooks.Close(5 * time.Second)
	return errors.Join(err, th.st.Close())
}

func (th *things) create(w http.ResponseWriter, r *http.Request, c *emulator.Call) {
	p, err := th.keys.Authenticate(r)
	if err != nil {
		emulator.WriteJSON(w, 401, map[string]any{"ok": false, "error": err.Error()})
		return
	}
	c.Key = p.Name
	var in struct{ Name string }
	buf := emulator.GetBuffer()
	defer emulator.PutBuffer(buf)
	if err := emulator.ReadBody(r, buf); err != nil || json.Unmarshal(buf.Bytes(), &in) != nil || in.Name == "" {
		emulator.WriteJSON(w, 400, map[string]any{"ok": false, "error": "a thing needs a name"})
		return
	}
	err = th.st.Write(r.Context(), func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.StmtContext(ctx, th.ins).ExecContext(ctx, in.Name, emulator.FoldKey(in.Name))
		return err
	})
	switch {
	case emulator.IsUniqueViolation(err, "name_key"):
		emulator.WriteJSON(w, 409, map[string]any{"ok": false, "error": "taken"})
		return
	case err != nil:
		emulator.WriteJSON(w, 500, map[string]any{"ok": false, "error": err.Error()})
		return
	}
	th.hooks.Emit("thing.created", func(emulator.Endpoint) ([]byte, error) {
		return json.Marshal(map[string]any{"type": "thing.created", "name": in.Name})
	})
	emulator.WriteJSON(w, 201, map[string]any{"ok": true, "name": in.Name})
}

func (th *things) count(w http.ResponseWriter, r *http.Request, c *emulator.Call) {
	emulator.WriteJSON(w, 200, map[string]any{"ok": true, "things": th.st.CountRows("things")})
}

// checkThings is the envelope of things: ok, and an error beside a
// false one.
func checkThings(a *emutest.Answer) error {
	ok, isBool := a.Body["ok"].(bool)
	if !isBool || ok != (a.Status < 400) {
		return fmt.Errorf("envelope ok %v with HTTP %d", a.Body["ok"], a.Status)
	}
	if e, _ := a.Body["error"].(string); !ok && e == "" {
		return fmt.Errorf("error answer without error: %s", a.Raw)
	}
	return nil
}

func startThings(t testing.TB, f emulator.Faults, webhooks ...string) *things {
	t.Helper()
	th, err := newThings(emutest.TempDB(t, "things.db"), f, webhooks...)
	return emutest.Serve(t, th, err)
}

func thingsClient(t testing.TB, th *things) *emutest.Client {
	c := emutest.NewClient(t, th.URL)
	c.Token, c.Check = "tk", checkThings
	return c
}

// failures is a testing.TB that records what a helper reports instead
// of failing the test, so that a test can see the helper catch what it
// must. Fatal ends the goroutine, as testing's does: see record.
type failures struct {
	testing.TB
	mu   sync.Mutex
	msgs []string
}

func (f *failures) Helper() {}
func (f *failures) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}
func (f *failures) Error(args ...any)                 { f.Errorf("%s", fmt.Sprint(args...)) }
func (f *failures) Fatalf(format string, args ...any) { f.Errorf(format, args...); runtime.Goexit() }
func (f *failures) Fatal(args ...any)                 { f.Error(args...); runtime.Goexit() }
func (f *failures) Fail()                             { f.Errorf("Fail") }
func (f *failures) FailNow()                          { f.Fatal("FailNow") }
func (f *failures) Failed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.msgs) > 0
}

func (f *failures) reported() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.msgs...)
}

// record runs fn in a subtest of t (so that the cleanups fn registers
// have run when it returns), on a goroutine of its own (so that a Fatal
// ends only fn), and returns what fn reported.
func record(t *testing.T, fn func(tb testing.TB)) []string {
	t.Helper()
	var f *failures
	t.Run("recorded", func(t *testing.T) {
		f = &failures{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			fn(f)
		}()
		<-done
	})
	return f.reported()
}
