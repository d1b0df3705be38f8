package emulator

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// startEcho serves POST /raw, which reads its body with ReadRaw, and
// POST /json, with ReadBody; both answer the length read, or the
// BodyError. WriteFault reads the body with ReadRaw as a signed API
// does, and answers its BodyError, else the injected status.
func startEcho(t *testing.T, maxBody int64, f Faults) *Server {
	t.Helper()
	bodyError := func(w http.ResponseWriter, err error) {
		var be *BodyError
		if !errors.As(err, &be) {
			t.Errorf("not a BodyError: %v", err)
			return
		}
		WriteJSON(w, be.Status, map[string]any{"msg": be.Msg, "limit": be.Limit, "cause": be.Err != nil})
	}
	read := func(read func(*http.Request, *bytes.Buffer) error) Handler {
		return func(w http.ResponseWriter, r *http.Request, c *Call) {
			buf := GetBuffer()
			defer PutBuffer(buf)
			if err := read(r, buf); err != nil {
				bodyError(w, err)
				return
			}
			WriteJSON(w, 200, map[string]any{"read": buf.Len()})
		}
	}
	s, err := Listen(ServerOptions{MaxBody: maxBody, Faults: f,
		WriteFault: func(w http.ResponseWriter, r *http.Request, c *Call, status int) {
			buf := GetBuffer()
			defer PutBuffer(buf)
			if err := ReadRaw(r, buf); err != nil {
				bodyError(w, err)
				return
			}
			WriteJSON(w, status, map[string]any{"read": buf.Len()})
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(5 * time.Second) })
	s.Endpoint("POST /raw", "POST /raw", true, read(ReadRaw))
	s.Endpoint("POST /json", "POST /json", true, read(ReadBody))
	s.Serve()
	return s
}

type echoReply struct {
	status int
	raw    string
}

func post(t *testing.T, url, contentType, body string) echoReply {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	hc := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return echoReply{resp.StatusCode, string(raw)}
}

// TestReadRaw reads bodies as sent: any Content-Type, up to the server's
// cap, a 413 naming the cap beyond it. ReadBody is CheckContentType then
// ReadRaw.
func TestReadRaw(t *testing.T) {
	s := startEcho(t, 64, Faults{})
	for _, tc := range []struct {
		path, ct, body string
		status         int
		want           string
	}{
		{"/raw", "text/plain", "signed bytes", 200, `"read":12`},
		{"/raw", "", strings.Repeat("x", 64), 200, `"read":64`},
		{"/raw", "application/json", strings.Repeat("x", 65), 413, `"limit":64,"msg":"the request body is larger than 64 bytes"`},
		{"/json", "application/json; charset=utf-8", "{}", 200, `"read":2`},
		{"/json", "", "{}", 200, `"read":2`},
		{"/json", "text/plain", "{}", 415, `"msg":"Content-Type must be application/json, not text/plain"`},
		{"/json", "application/json", strings.Repeat("x", 100), 413, `"limit":64`},
	} {
		rp := post(t, s.URL+tc.path, tc.ct, tc.body)
		if rp.status != tc.status || !strings.Contains(rp.raw, tc.want) {
			t.Errorf("%s %q, %d bytes: %d %s, want %d with %s", tc.path, tc.ct, len(tc.body), rp.status, rp.raw, tc.status, tc.want)
		}
	}
	// A body shorter than its Content-Length: a 400 carrying the cause.
	conn, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /raw HTTP/1.1\r\nHost: %s\r\nContent-Length: 10\r\n\r\nabc", s.Addr)
	conn.(*net.TCPConn).CloseWrite()
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(string(raw), `"cause":true`) || !strings.Contains(string(raw), "cannot read the request body: unexpected EOF") {
		t.Errorf("a short body: %s %s", resp.Status, raw)
	}
}

// TestReadRawInWriteFault checks that the body cap is in place before
// WriteFault, which reads the body of a signed API to authenticate the
// request it fails.
func TestReadRawInWriteFault(t *testing.T) {
	s := startEcho(t, 64, Faults{Seed: 1, ErrorRate: 1})
	if rp := post(t, s.URL+"/raw", "", strings.Repeat("x", 10)); rp.status < 500 || !strings.Contains(rp.raw, `"read":10`) {
		t.Errorf("a small body: %d %s", rp.status, rp.raw)
	}
	if rp := post(t, s.URL+"/raw", "", strings.Repeat("x", 1000)); rp.status != 413 || !strings.Contains(rp.raw, `"limit":64`) {
		t.Errorf("a body over the cap in WriteFault: %d %s", rp.status, rp.raw)
	}
}
