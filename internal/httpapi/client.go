package httpapi

import (
	"net"
	"net/http"
	"time"
)

// DefaultTimeout bounds one attempt of an API call, from dialling to the
// last byte of the answer. It is long enough for a bulk call of a
// thousand customers on a slow API, and short enough that a server that
// stalls mid-answer is noticed (and the attempt retried) within minutes.
const DefaultTimeout = 2 * time.Minute

// NewHTTPClient returns the client API calls go through: keep-alive
// connections for a run's concurrent calls, no redirects (see
// [NoRedirects]), and timeout (DefaultTimeout when 0 or less) for each
// request as a whole. net/http's Client.Timeout keeps running while the
// body is read, so it covers a server that sends its headers promptly and
// then stalls.
func NewHTTPClient(timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &http.Client{
		Timeout:       timeout,
		CheckRedirect: refuseRedirect,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			MaxIdleConns:          128,
			MaxIdleConnsPerHost:   64,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		},
	}
}

// NoRedirects returns a copy of c (sharing its transport) that follows no
// redirect: a 3xx comes back to the caller as the answer, which [API.Call]
// turns into a fatal error. net/http would otherwise re-send a 307's body,
// and its headers (Authorization included) to another port of the same
// host, to wherever the Location points.
func NoRedirects(c *http.Client) *http.Client {
	cc := *c
	cc.CheckRedirect = refuseRedirect
	return &cc
}

func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
