package tamiotest_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"crmsync/sinks/tamio/tamiotest"
)

// benchClient is a keep-alive client with a connection per goroutine.
func benchClient(b *testing.B) *http.Client {
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}
	b.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: time.Minute}
}

// post sends a request and checks for a 200.
func post(b *testing.B, hc *http.Client, method, url, key string, body []byte) bool {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		b.Error(err)
		return false
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		b.Error(err)
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Errorf("%s %s: %s", method, url, resp.Status)
		return false
	}
	return true
}

// parallel runs one request per iteration from 64 goroutines (on 2
// cores) and reports the throughput.
func parallel(b *testing.B, do func(i int64) bool) {
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
	var next atomic.Int64
	b.ResetTimer()
	began, cpu := time.Now(), cpuTime(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !do(next.Add(1)) {
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(began).Seconds(), "req/s")
	// CPU time per request, client and server together: the machine is
	// shared, so req/s depends on the neighbours, this does much less.
	// 2 cores / 5,000 req/s = 400 µs.
	b.ReportMetric(float64((cpuTime(b)-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
}

// cpuTime returns the CPU time the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSingleUpdate is the target of the emulator: at least 5,000
// single updates per second over loopback HTTP on 2 cores, with the
// client in the same process.
func BenchmarkSingleUpdate(b *testing.B) {
	s := start(b, tamiotest.Options{})
	hc := benchClient(b)
	c := newClient(b, s)
	var ids []string
	for i := range 256 {
		ids = append(ids, c.create(person(fmt.Sprintf("bench%d@example.com", i)))["id"].(string))
	}
	// Every update changes the customer: an update that changes nothing
	// writes nothing and would flatter the figure.
	parallel(b, func(i int64) bool {
		body := fmt.Appendf(nil, `{"name":"Bench","last_name":"Run %d","priority":"high"}`, i)
		return post(b, hc, "POST", s.URL+"/customers/update/"+ids[i%int64(len(ids))], s.APIKey, body)
	})
}

func BenchmarkCreate(b *testing.B) {
	s := start(b, tamiotest.Options{})
	hc := benchClient(b)
	parallel(b, func(i int64) bool {
		return post(b, hc, "POST", s.URL+"/customers/create", s.APIKey,
			fmt.Appendf(nil, `{"name":"Bench","email":"create%d@example.com","country":"de"}`, i))
	})
}

func BenchmarkList(b *testing.B) {
	s := start(b, tamiotest.Options{BulkDelay: time.Millisecond})
	c := newClient(b, s)
	var body []any
	for i := range 1000 {
		body = append(body, person(fmt.Sprintf("list%04d@example.com", i)))
	}
	c.ok("POST", "/customers/bulk/create", map[string]any{"customers": body})
	waitIdle(b, s)
	hc := benchClient(b)
	parallel(b, func(i int64) bool {
		return post(b, hc, "GET", fmt.Sprintf("%s/customers/list?page=%d&per_page=100&sort_by=created_at", s.URL, i%10+1), s.APIKey, nil)
	})
}
