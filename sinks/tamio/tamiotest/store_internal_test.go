package tamiotest

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// BenchmarkStoreUpdate measures the write path without HTTP: how many
// single updates the one writer can commit, which bounds the API's rate.
func BenchmarkStoreUpdate(b *testing.B) {
	st, err := openStore(filepath.Join(b.TempDir(), "tamio.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer st.close()
	ctx := context.Background()
	var ids []string
	for i := range 256 {
		c, err := st.create(ctx, &newCustomer{Email: fmt.Sprintf("s%d@example.com", i), Name: "S",
			Country: "de", Locale: "en", TimezoneOffset: "+00:00", Category: "customer", Priority: "normal"})
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	var n atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			u := &update{name: "S", lastName: change{set: true, v: fmt.Sprint("run ", i)}}
			old, cur, err := st.update(ctx, ids[i%int64(len(ids))], u)
			if err != nil || cur.LastName != u.lastName.v || old.ID != cur.ID {
				b.Errorf("update: %v", err)
				return
			}
		}
	})
}

// TestGroupCommitIsolatesFailures puts failing and succeeding writes in
// the same transactions: the failures must undo only themselves.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	st, err := openStore(filepath.Join(t.TempDir(), "tamio.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	ctx := context.Background()
	nc := func(email string) *newCustomer {
		return &newCustomer{Email: email, Name: "G", Country: "de", Locale: "en", TimezoneOffset: "+00:00",
			Category: "customer", Priority: "normal", Billing: &address{Name: "G", Country: "de", Address: "A", City: "B"}}
	}
	if _, err := st.create(ctx, nc("taken@example.com")); err != nil {
		t.Fatal(err)
	}
	const n = 200
	errs := make(chan error, n)
	for i := range n {
		go func() {
			email := fmt.Sprintf("g%d@example.com", i)
			if i%2 == 1 {
				email = "TAKEN@example.com"
			}
			_, err := st.create(ctx, nc(email))
			errs <- err
		}()
	}
	var ok, exists int
	for range n {
		err := <-errs
		if ae, isAPI := err.(*apiError); isAPI && ae.code == codeCustomerExists {
			exists++
		} else if err == nil {
			ok++
		} else {
			t.Errorf("create: %v", err)
		}
	}
	total, cs, err := st.list(ctx, &listQuery{page: 1, perPage: 100, sortBy: "created_at"})
	if err != nil {
		t.Fatal(err)
	}
	if ok != n/2 || exists != n/2 || total != n/2+1 {
		t.Errorf("%d created, %d refused, %d stored; want %d, %d, %d", ok, exists, total, n/2, n/2, n/2+1)
	}
	for _, c := range cs {
		if c.BillingAddress == nil || c.BillingAddress.City != "B" {
			t.Errorf("customer %s lost its address: %+v", c.Email, c.BillingAddress)
		}
	}
	var addrs int
	if err := st.r.QueryRow("SELECT count(*) FROM addresses").Scan(&addrs); err != nil || addrs != n/2+1 {
		t.Errorf("%d addresses stored (%v), want %d: a refused create left its address", addrs, err, n/2+1)
	}
}
