package counttest_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"crmsync/sinks/count/counttest"
)

// BenchmarkSignedPut measures signed PUTs that change a billing address,
// over HTTP from concurrent clients: the request a sync of changed
// customers makes once per customer, signature check and body hash
// included. It bounds the rate a bench against the emulator can ask for
// (the bench asks 20 a second).
func BenchmarkSignedPut(b *testing.B) {
	s := start(b, counttest.Options{RateLimit: 1 << 30})
	c := newClient(b, s)
	c.Client = c.Pooled(64)
	var ids []string
	for i := range 256 {
		ids = append(ids, c.create(company("Bench", fmt.Sprintf("bench%d@example.com", i)))["id"].(string))
	}
	var n atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			k := i % int64(len(ids))
			a, err := c.send("PUT", "/customers/"+ids[k], map[string]any{
				"customer": "Bench", "email": fmt.Sprintf("bench%d@example.com", k),
				"billingAddress": map[string]any{"street": fmt.Sprint(i, " Main St"), "city": "Berlin", "country": "DE"}})
			if err != nil || a.Status != 200 {
				b.Errorf("PUT: %v %v", a, err)
				return
			}
		}
	})
}
