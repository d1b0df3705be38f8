package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"crmsync/pipeline"
)

// Config describes one connector's HTTP API.
type Config struct {
	// Name starts every error message ("tamio GET /customers/list: …").
	Name string
	// BaseURL is where paths are appended; check it with CheckBaseURL
	// first.
	BaseURL string
	// HTTP is the client to call with; nil means NewHTTPClient(0). A
	// client given is used through NoRedirects.
	HTTP *http.Client
	// Pacer spaces, retries and logs the calls; nil means a pacer of
	// its own with the defaults.
	Pacer *pipeline.Pacer
	// Sign adds the credentials to a request. It runs on every attempt,
	// so a signature that holds a timestamp or a nonce is fresh on each
	// retry, however long the pacer waited.
	Sign func(*http.Request) error
	// Secrets are removed from every text of an answer (see Redactor);
	// give every credential Sign sends.
	Secrets []string
	// Observe, when set, is shown every answer's headers (rate-limit
	// headers for the pacer).
	Observe func(http.Header)
	// Classify turns an answer that is not a 2xx into an error with its
	// class; nil means ClassifyStatus over a StatusError.
	Classify func(*Answer) error
	// MaxBody bounds a success's body; default 64 MiB.
	MaxBody int64
}

// maxErrorBody bounds what is read of an answer that is not a success:
// its message and an excerpt of 200 bytes are all an error keeps.
const maxErrorBody = 64 << 10

// API calls one HTTP API. It is safe for concurrent use.
type API struct {
	cfg    Config
	base   string
	http   *http.Client
	pacer  *pipeline.Pacer
	redact *Redactor
}

// New returns an API for cfg.
func New(cfg Config) *API {
	a := &API{cfg: cfg, base: strings.TrimRight(cfg.BaseURL, "/"), pacer: cfg.Pacer, redact: NewRedactor(cfg.Secrets...)}
	if cfg.HTTP == nil {
		a.http = NewHTTPClient(0)
	} else {
		a.http = NoRedirects(cfg.HTTP)
	}
	if a.pacer == nil {
		a.pacer = pipeline.NewPacer(pipeline.PacerOptions{})
	}
	if a.cfg.MaxBody <= 0 {
		a.cfg.MaxBody = 64 << 20
	}
	if a.cfg.Classify == nil {
		a.cfg.Classify = func(ans *Answer) error {
			return ClassifyStatus(ans.Status, ans.Header, &StatusError{Name: cfg.Name, Method: ans.Method, Path: ans.Path, Status: ans.Status, Message: ans.Excerpt()})
		}
	}
	return a
}

// Bearer signs a request with "Authorization: Bearer key".
func Bearer(key string) func(*http.Request) error {
	return func(r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+key)
		return nil
	}
}

// Request is one API call.
type Request struct {
	Method string
	// Route names the call in retry logs: the path with its variable
	// parts as placeholders ("/customers/update/{id}"), so logs hold no
	// ids and no query values (a lookup's query holds an email).
	Route string
	// Path is Route filled in; "" means Route. Errors name it.
	Path  string
	Query url.Values
	// Body is sent as JSON; nil sends none.
	Body any
}

// Call runs one API call through the pacer and decodes a success's JSON
// body into out (nil: the body is not read). Every error it returns
// carries its class (see pipeline.ClassOf), names the API, method and
// path but never the query, and holds no secret of the Config. A context
// error is returned as it is.
func (a *API) Call(ctx context.Context, r Request, out any) error {
	path := r.Path
	if path == "" {
		path = r.Route
	}
	var payload []byte
	if r.Body != nil {
		var err error
		if payload, err = json.Marshal(r.Body); err != nil {
			return pipeline.Fatalf("%s %s %s: encoding the request: %w", a.cfg.Name, r.Method, path, err)
		}
	}
	u := a.base + path
	if len(r.Query) > 0 {
		u += "?" + r.Query.Encode()
	}
	return a.pacer.CallRoute(ctx, r.Method, r.Route, func(int) error {
		return a.once(ctx, r.Method, path, u, payload, out)
	})
}

// CloseIdleConnections lets go of the keep-alive connections the API
// holds.
func (a *API) CloseIdleConnections() { a.http.CloseIdleConnections() }

// Redact is the API's Redactor applied to s.
func (a *API) Redact(s string) string { return a.redact.String(s) }

// Pacer is the pacer the API's calls go through.
func (a *API) Pacer() *pipeline.Pacer { return a.pacer }

func (a *API) once(ctx context.Context, method, path, u string, payload []byte, out any) error {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		// The error would quote the URL, query and all.
		return pipeline.Fatalf("%s %s %s: not a valid request URL", a.cfg.Name, method, path)
	}
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.cfg.Sign != nil {
		if err := a.cfg.Sign(req); err != nil {
			return pipeline.Fatal(a.fail("", fmt.Errorf("%s %s %s: signing the request: %w", a.cfg.Name, method, path, err)))
		}
	}
	resp, err := a.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return a.transport(method, path, "", err)
	}
	defer resp.Body.Close()
	if a.cfg.Observe != nil {
		a.cfg.Observe(resp.Header)
	}
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	limit := a.cfg.MaxBody
	if !ok {
		limit = maxErrorBody
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return a.transport(method, path, "reading the answer: ", err)
	}
	if ok {
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(data, out); err != nil {
			// A 2xx with a body we cannot read may be a proxy's page or
			// a truncated answer: retrying is safe because every call a
			// sink makes is idempotent or checked afterwards.
			return a.fail(fmt.Sprintf("HTTP %d, not the documented JSON", resp.StatusCode), pipeline.Retryable(
				fmt.Errorf("%s %s %s: answer is not the documented JSON (%w): %q", a.cfg.Name, method, path, err, a.excerpt(data)), 0))
		}
		return nil
	}
	ans := &Answer{Method: method, Path: path, Status: resp.StatusCode, Header: resp.Header, Body: a.redact.Bytes(data), redact: a.redact}
	cerr := a.cfg.Classify(ans)
	if cerr == nil {
		cerr = ClassifyStatus(ans.Status, ans.Header, &StatusError{Name: a.cfg.Name, Method: method, Path: path, Status: ans.Status, Message: ans.Excerpt()})
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		cerr = pipeline.Fatal(&RedirectError{Location: a.location(req.URL, resp.Header.Get("Location")), err: cerr})
	}
	return a.fail("HTTP "+strconv.Itoa(resp.StatusCode), cerr)
}

// location is where a redirect points, for a message: resolved against
// the request and without user info or query.
func (a *API) location(from *url.URL, loc string) string {
	if loc == "" {
		return "nowhere (no Location)"
	}
	to, err := from.Parse(loc)
	if err != nil {
		return a.redact.String(Public(loc))
	}
	return a.redact.String(Public(to.String()))
}

// transport is the error of a request the network or the server's
// slowness broke. Timeouts, resets and connections closed without an
// answer are all worth another try; whether a write happened is for the
// caller's idempotence to settle.
func (a *API) transport(method, path, doing string, err error) error {
	// The URL is left out: a lookup carries an email in its query.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	reason := "connection failed"
	if errors.Is(err, context.DeadlineExceeded) || os.IsTimeout(err) {
		reason = "timed out"
		if a.http.Timeout > 0 {
			err = fmt.Errorf("no complete answer within %v, the API timeout (%w)", a.http.Timeout, err)
		}
	}
	if doing != "" {
		reason += " " + strings.TrimSuffix(doing, ": ")
	}
	return a.fail(reason, pipeline.Retryable(fmt.Errorf("%s %s %s: %s%w", a.cfg.Name, method, path, doing, err), 0))
}

// excerpt is the start of a body, for an error message.
func (a *API) excerpt(b []byte) string {
	return OneLine(a.redact.String(string(b[:min(len(b), maxErrorBody)])))
}

// fail wraps err, whose class it keeps, so that its text holds no secret
// and the pacer's retry log says why in reason's words.
func (a *API) fail(reason string, err error) error {
	return &callError{reason: reason, msg: a.redact.String(err.Error()), err: err}
}

// callError is an error of a call: its text redacted, its chain (class,
// the connector's error type) kept.
type callError struct {
	reason string
	msg    string
	err    error
}

func (e *callError) Error() string { return e.msg }
func (e *callError) Unwrap() error { return e.err }

// RetryReason says why the attempt failed without a server's text, which
// may echo personal data sent: the pacer logs it.
func (e *callError) RetryReason() string { return e.reason }

// Answer is an answer that was not a success, handed to Config.Classify.
type Answer struct {
	Method, Path string
	Status       int
	Header       http.Header
	// Body is the start of the body (64 KiB at most), secrets removed.
	Body   []byte
	redact *Redactor
}

// Text makes s, a text taken from the answer, fit for an error: secrets
// removed, one line, at most MaxText bytes. Every text from Body goes
// through it, since decoding JSON undoes the escapes a secret was
// recognised in.
func (a *Answer) Text(s string) string { return OneLine(a.redact.String(s)) }

// Excerpt is the start of the body as Text.
func (a *Answer) Excerpt() string { return a.Text(string(a.Body)) }

// StatusError is an answer that was not a success, for APIs whose errors
// have no envelope of their own.
type StatusError struct {
	Name, Method, Path string
	Status             int
	Message            string
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s %s %s: %d", e.Name, e.Method, e.Path, e.Status)
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// RedirectError is a 3xx answer: API calls follow no redirect.
type RedirectError struct {
	Location string // without user info or query
	err      error
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("%v: the API redirects to %s, and crmsync follows no redirect (it would send the API key and customer data there): check the target URL", e.err, e.Location)
}

func (e *RedirectError) Unwrap() error { return e.err }

// ClassifyStatus gives err the class its answer's status calls for:
// 401 and 403 are fatal (the key is wrong or lacks a permission for the
// whole run); 429 is retryable and marked pipeline.ErrRateLimited; 408
// and 5xx are retryable; both honour Retry-After. Other 4xx belong to one
// row (permanent); anything else (a 3xx, a 1xx) is fatal.
func ClassifyStatus(status int, h http.Header, err error) error {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return pipeline.Fatal(err)
	case status == http.StatusTooManyRequests:
		return pipeline.Retryable(fmt.Errorf("%w: %w", pipeline.ErrRateLimited, err), RetryAfter(h))
	case status == http.StatusRequestTimeout || status >= 500:
		return pipeline.Retryable(err, RetryAfter(h))
	case status >= 400:
		return pipeline.Permanent(err)
	default:
		return pipeline.Fatal(err)
	}
}

// MaxRetryAfter caps the wait a server may ask for. The pacer sleeps for
// whatever Retry-After says before it retries, and a proxy's nonsense (or
// a number of seconds too large for a Duration, which wrapped round to
// centuries) would hold a run for ever, saying nothing; past the cap the
// pacer retries, and a server still refusing ends the run with its error.
const MaxRetryAfter = time.Hour

// RetryAfter reads an answer's Retry-After, as seconds or an HTTP date;
// 0 when there is none.
func RetryAfter(h http.Header) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && secs >= 0 {
		return time.Duration(min(secs, int64(MaxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(time.Until(t), 0), MaxRetryAfter)
	}
	return 0
}
