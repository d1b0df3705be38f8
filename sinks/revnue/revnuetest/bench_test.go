package revnuetest_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"crmsync/sinks/revnue/revnuetest"
)

// BenchmarkPut measures whole-record PUTs over HTTP from concurrent
// clients, the request a Revnue sync makes once per changed customer; it
// bounds the rate a bench against the emulator can ask for.
func BenchmarkPut(b *testing.B) {
	s := start(b, revnuetest.Options{})
	c := &client{newClient(b, s).Pooled(64)}
	var ids []int64
	for i := range 256 {
		ids = append(ids, idOf(seed(b, s, s.FullCustomer(fmt.Sprintf("Bench %d", i), i))))
	}
	var n atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			k := int(i % int64(len(ids)))
			body := s.FullCustomer(fmt.Sprintf("Bench %d", k), int(i))
			a, err := c.send("PUT", fmt.Sprintf("/customer/%d", ids[k]), body)
			if err != nil || a.Status != 200 {
				b.Errorf("PUT: %v %v", a, err)
				return
			}
		}
	})
}
