package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"sync"
)

// DefaultMaxBody is the body size limit of a server whose options set
// none: a bulk body of 1,000 full customers is far below it, and a client
// sending more is broken.
const DefaultMaxBody = 8 << 20

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// GetBuffer returns an empty buffer from a pool shared by the kit's
// readers and writers; give it back with [PutBuffer] once nothing refers
// to its bytes.
func GetBuffer() *bytes.Buffer {
	b := bufPool.Get().(*bytes.Buffer)
	b.Reset()
	return b
}

// PutBuffer returns a buffer to the pool.
func PutBuffer(b *bytes.Buffer) { bufPool.Put(b) }

// WriteJSON answers status with v encoded as JSON (HTML characters not
// escaped), with Content-Type and Content-Length set. When v cannot be
// encoded it writes nothing and returns the error, so that the emulator
// can answer a 500 in its own envelope instead.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	buf := GetBuffer()
	defer PutBuffer(buf)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encode answer: %w", err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// BodyError is a request body that cannot be read: Status is the HTTP
// status to answer (415, 413 or 400) and Error the message for the
// client; the emulator wraps it in its own envelope, or words its own
// message from Limit or Err.
type BodyError struct {
	Status int
	Msg    string
	// Limit is the size cap a 413's body went over, in bytes; else 0.
	Limit int64
	// Err is what failed a 400's read; else nil.
	Err error
}

func (e *BodyError) Error() string { return e.Msg }
func (e *BodyError) Unwrap() error { return e.Err }

// ReadBody reads a request body meant to be JSON into buf, after checking
// its Content-Type ([CheckContentType]); see [ReadRaw]. Errors are
// *BodyError. Called by handlers, once per request.
func ReadBody(r *http.Request, buf *bytes.Buffer) error {
	if err := CheckContentType(r); err != nil {
		return err
	}
	return ReadRaw(r, buf)
}

// CheckContentType returns a *BodyError 415 unless the request's
// Content-Type, if any, is application/json.
func CheckContentType(r *http.Request) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return &BodyError{Status: http.StatusUnsupportedMediaType,
				Msg: "Content-Type must be application/json, not " + ct}
		}
	}
	return nil
}

// ReadRaw reads the request body as it was sent into buf, checking
// nothing of it: for an API that must see the exact bytes before any
// check of them answers (a signature over the body comes before the 415
// or 400 of a bad one). The size cap is the one [Server] set on r.Body,
// for [ServerOptions.WriteFault] as for handlers. Errors are *BodyError:
// 413 over the cap, else 400. Called once per request.
func ReadRaw(r *http.Request, buf *bytes.Buffer) error {
	if _, err := buf.ReadFrom(r.Body); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return &BodyError{Status: http.StatusRequestEntityTooLarge, Limit: tooLarge.Limit,
				Msg: "the request body is larger than " + sizeText(tooLarge.Limit)}
		}
		return &BodyError{Status: http.StatusBadRequest, Err: err,
			Msg: "cannot read the request body: " + err.Error()}
	}
	return nil
}

func sizeText(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return strconv.FormatInt(n>>20, 10) + " MiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
