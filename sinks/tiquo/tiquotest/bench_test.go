package tiquotest_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"crmsync/sinks/tiquo/tiquotest"
)

// BenchmarkPatch measures PATCHes over HTTP from concurrent clients, the
// request a sync of changed customers makes once per customer; it bounds
// the rate a bench against the emulator can ask for.
func BenchmarkPatch(b *testing.B) {
	s := start(b, tiquotest.Options{RateLimit: 1 << 30})
	c := &client{newClient(b, s).Pooled(64)}
	var ids []string
	for i := range 256 {
		ids = append(ids, c.create(full(fmt.Sprintf("bench%d@example.com", i)))["id"].(string))
	}
	var n atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			a, err := c.send("PATCH", "/customers/"+ids[i%int64(len(ids))],
				map[string]any{"notes": fmt.Sprint("run ", i), "address": map[string]any{"city": "Berlin"}})
			if err != nil || a.Status != 200 {
				b.Errorf("PATCH: %v %v", a, err)
				return
			}
		}
	})
}
