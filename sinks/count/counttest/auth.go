package counttest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"crmsync/internal/emulator"
)

// The signature headers COUNT requires beside Authorization.
const (
	headerClientID  = "x-client-id"
	headerTimestamp = "x-timestamp"
	headerSignature = "x-signature"
)

// basePath is where the API is mounted; the signed path leaves it out.
const basePath = "/partners"

// readRaw reads the body as it was sent, capped by the kit at maxBody,
// into buf: the signature covers these exact bytes, whatever they are, so
// it is read before anything checks them.
func readRaw(r *http.Request, buf *bytes.Buffer) *apiError {
	var be *emulator.BodyError
	if err := emulator.ReadRaw(r, buf); !errors.As(err, &be) {
		return nil
	}
	if be.Status == http.StatusRequestEntityTooLarge {
		return &apiError{status: http.StatusRequestEntityTooLarge, code: codeValidation,
			msg: "The request body is larger than " + strconv.FormatInt(be.Limit>>10, 10) + " KiB"}
	}
	return invalid("Cannot read the request body: %v", be.Err)
}

// stringToSign is what x-signature signs: METHOD:path:timestamp:bodyHash,
// the path without the host, the /partners prefix and the query string,
// the timestamp as sent, and bodyHash the hex SHA-256 of the body, or ""
// when there is none.
func stringToSign(method, path, timestamp string, body []byte) string {
	hash := ""
	if len(body) > 0 {
		sum := sha256.Sum256(body)
		hash = hex.EncodeToString(sum[:])
	}
	return strings.ToUpper(method) + ":" + path + ":" + timestamp + ":" + hash
}

// signature is the lower-case hex HMAC-SHA256 of s keyed with secret.
func signature(secret, s string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(s))
	return hex.EncodeToString(m.Sum(nil))
}

// authenticate returns the client that signed r, whose body is body, or
// the 401 to answer. The checks come in the order a client fixes them:
// the headers are there, the token is known, the client id is the
// token's, the timestamp is within TimestampWindow of now, and the
// signature is right. Each 401 says which failed; none reveals a secret.
func (s *Server) authenticate(r *http.Request, body []byte) (*Client, *emulator.Principal, *apiError) {
	token, ok := emulator.BearerToken(r)
	if !ok {
		return nil, nil, unauthorized("Missing Authorization header: send Authorization: Bearer <token>")
	}
	for _, h := range []string{headerClientID, headerTimestamp, headerSignature} {
		if r.Header.Get(h) == "" {
			return nil, nil, unauthorized("Missing %s header: every request is signed", h)
		}
	}
	p := s.keys.Lookup(token)
	if p == nil {
		return nil, nil, unauthorized("Invalid or expired token")
	}
	c := &s.opts.Clients[p.Index]
	if r.Header.Get(headerClientID) != c.ClientID {
		return nil, nil, unauthorized("The %s header does not name the client this token was issued to", headerClientID)
	}
	ts := r.Header.Get(headerTimestamp)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || ts[0] == '+' {
		return nil, nil, unauthorized("The %s header must be unix seconds, not %q", headerTimestamp, ts)
	}
	now, window := s.opts.Now().Unix(), int64(TimestampWindow/time.Second)
	if skew := now - sec; skew > window || skew < -window {
		return nil, nil, unauthorized("The %s header %s is more than %d s from the server's clock (%d): "+
			"send the current time in unix seconds", headerTimestamp, ts, window, now)
	}
	signed := stringToSign(r.Method, strings.TrimPrefix(r.URL.EscapedPath(), basePath), ts, body)
	if !hmac.Equal([]byte(r.Header.Get(headerSignature)), []byte(signature(c.ClientSecret, signed))) {
		return nil, nil, unauthorized("Invalid signature: %s must be the lower-case hex HMAC-SHA256, keyed "+
			"with the client secret, of %q", headerSignature, signed)
	}
	return c, p, nil
}
