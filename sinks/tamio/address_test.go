package tamio_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"crmsync/crm"
	"crmsync/pipeline"
	"crmsync/sinks/tamio"
	"crmsync/sinks/tamio/tamiotest"
)

// withAddresses returns harness.Valid(n) as long as the schema, with a
// billing address of every part and a shipping address of the required
// parts and a few more. Countries are upper case, as a source gives them.
func withAddresses(n int) []string {
	sch := tamio.Schema()
	v := make([]string, len(sch.Fields))
	copy(v, harness.Valid(n))
	set := func(name, value string) {
		i := sch.Index(name)
		if i < 0 {
			panic("no field " + name)
		}
		v[i] = value
	}
	for part, value := range map[string]string{
		"name": fmt.Sprintf("Bill%d", n), "last_name": "Payer", "company": "Acme SRL", "address": "Via Roma 1",
		"city": "Roma", "postcode": "00100", "state": "RM", "country": "IT", "email": fmt.Sprintf("billing.%d@example.com", n),
		"phone": "+390612345678", "vat": "IT12345678901", "locale": "it", "is_company": "true", "representative": "Ada Rossi",
	} {
		set("billing_information."+part, value)
	}
	for part, value := range map[string]string{
		"name": fmt.Sprintf("Ship%d", n), "address": "Calle Mayor 2", "city": "Madrid", "country": "ES", "postcode": "28013",
		"is_company": "false",
	} {
		set("shipping_information."+part, value)
	}
	return v
}

// addressChanges are changes of n new customers with addresses.
func addressChanges(from, n int) []pipeline.Change {
	chs := make([]pipeline.Change, n)
	for i := range chs {
		chs[i] = pipeline.Change{Record: &pipeline.Record{Row: &pipeline.Row{Num: int64(i + 1)}, Key: fmt.Sprint(from + i), Values: withAddresses(from + i)}}
	}
	return chs
}

// allMapped maps every field of the schema.
func allMapped() []bool {
	m := make([]bool, len(tamio.Schema().Fields))
	for i := range m {
		m[i] = true
	}
	return m
}

// stored is what the engine would hand the sink for v: countries in lower
// case, as the schema's Lower fields say tamio stores them.
func stored(v []string) []string {
	out := append([]string(nil), v...)
	for f, field := range tamio.Schema().Fields {
		if field.Lower {
			out[f] = strings.ToLower(out[f])
		}
	}
	return out
}

// readBack reads the account through the connector's reader, by email.
func readBack(t *testing.T, a *account) map[string][]string {
	t.Helper()
	if err := a.srv.WaitIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
	conn, err := crm.Lookup("tamio")
	if err != nil {
		t.Fatal(err)
	}
	r, err := conn.NewReader(crm.Config{BaseURL: a.srv.URL, Credentials: map[string]string{tamio.APIKeyCredential: a.srv.APIKey}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	err = r.Walk(context.Background(), func(cs []pipeline.Customer) error {
		for _, c := range cs {
			out[c.Values[0]] = c.Values
			got, err := r.Get(context.Background(), c.ID)
			if err != nil {
				return err
			}
			if fmt.Sprint(got.Values) != fmt.Sprint(c.Values) {
				t.Errorf("customer %s: Get reads %q, Walk %q", c.ID, got.Values, c.Values)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// applyEach applies each change with a sink of its own, so that a sink
// that did not index the account looks each customer up by email rather
// than index the account (it does once the new customers outnumber the
// account's pages).
func applyEach(t *testing.T, a *account, plan pipeline.Plan, chs []pipeline.Change) []pipeline.Result {
	t.Helper()
	res := make([]pipeline.Result, len(chs))
	for i := range chs {
		copy(res[i:i+1], applyPlan(t, newSink(t, a, a.srv.APIKey), plan, chs[i:i+1]))
	}
	return res
}

// requireHeld fails unless the account holds every change's values, the
// addresses included, as the reader reads them.
func requireHeld(t *testing.T, a *account, chs []pipeline.Change) {
	t.Helper()
	sch := tamio.Schema()
	held := readBack(t, a)
	for _, ch := range chs {
		want := stored(ch.Record.Values)
		got, ok := held[want[0]]
		if !ok {
			t.Errorf("%s was not created", want[0])
			continue
		}
		for f := range sch.Fields {
			if got[f] != want[f] {
				t.Errorf("%s: the account holds %s=%q, the row %q", want[0], sch.Fields[f].Name, got[f], want[f])
			}
		}
	}
}

func writes(st tamiotest.Stats) map[string]int64 {
	out := map[string]int64{}
	for route, byStatus := range st.Requests {
		if strings.HasPrefix(route, "GET ") {
			continue
		}
		for _, n := range byStatus {
			out[route] += n
		}
	}
	return out
}

func requests(st tamiotest.Stats, route string) int64 {
	var n int64
	for _, c := range st.Requests[route] {
		n += c
	}
	return n
}

// The addresses go out with the create, nested as tamio takes them, in a
// bulk body and in the single creates of a bulk job that was not
// confirmed in time, and come back through the reader (the customer
// object's billing_address and shipping_address) as the row's values.
func TestAddressesCreatedAndReadBack(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  tamiotest.Options
		sink  tamio.Options
		route string // the endpoint every customer must have been created by
	}{
		{"bulk", tamiotest.Options{BulkDelay: time.Millisecond}, tamio.Options{PollInterval: 10 * time.Millisecond},
			"POST /customers/bulk/create"},
		// The bulk job runs long after the confirm timeout: the rows
		// are created one by one, and the job finds their emails taken.
		{"single", tamiotest.Options{BulkDelay: time.Second}, tamio.Options{PollInterval: 10 * time.Millisecond, ConfirmTimeout: 20 * time.Millisecond},
			"POST /customers/create"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := startAccount(t, tc.opts)
			tc.sink.BaseURL, tc.sink.APIKey = a.srv.URL, a.srv.APIKey
			s, err := tamio.New(tc.sink)
			if err != nil {
				t.Fatal(err)
			}
			chs := addressChanges(100, 6)
			// One customer without any address: tamio answers null
			// for both, read as no value.
			for f, field := range tamio.Schema().Fields {
				if field.Group() != "" {
					chs[5].Record.Values[f] = ""
				}
			}
			res := applyAll(t, s, chs)
			for i, r := range res {
				if r.Outcome != pipeline.OutcomeCreated || r.ID == "" {
					t.Fatalf("change %d: %v %q %v, want created", i, r.Outcome, r.ID, r.Reject)
				}
			}
			st := a.srv.Stats()
			if tc.route == "POST /customers/create" && st.Requests[tc.route]["200"] != int64(len(chs)) {
				t.Errorf("%d single creates succeeded, want %d: %v", st.Requests[tc.route]["200"], len(chs), st.Requests)
			}
			if tc.route == "POST /customers/bulk/create" && (st.Requests[tc.route]["200"] != 1 || requests(st, "POST /customers/create") != 0) {
				t.Errorf("want one bulk create and no single one: %v", st.Requests)
			}
			requireHeld(t, a, chs)
			c, err := a.client.Retrieve(context.Background(), res[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			if b := c.Billing(); b == nil || b.City != "Roma" || b.Country != "it" || b.IsCompany == nil || !*b.IsCompany {
				t.Errorf("billing address as the client reads it: %+v", b)
			}
			if sh := c.Shipping(); sh == nil || sh.City != "Madrid" || sh.IsCompany == nil || *sh.IsCompany {
				t.Errorf("shipping address as the client reads it: %+v", sh)
			}
		})
	}
}

// A second run over the same rows is unchanged from the account alone,
// whether the sink indexed the account or looked each customer up: the
// addresses read back compare equal, and nothing is written or read one
// by one.
func TestAddressesUnchangedOnSecondRun(t *testing.T) {
	a := startAccount(t, tamiotest.Options{BulkDelay: time.Millisecond})
	chs := addressChanges(200, 5)
	applyAll(t, newSink(t, a, a.srv.APIKey), chs)
	if err := a.srv.WaitIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, indexed := range []bool{true, false} {
		t.Run(fmt.Sprintf("indexed=%v", indexed), func(t *testing.T) {
			again := addressChanges(200, 5)
			before := a.srv.Stats()
			res := applyEach(t, a, pipeline.Plan{Mapped: allMapped(), Mode: pipeline.ModeUpsert, IndexAccount: indexed}, again)
			for i, r := range res {
				if r.Outcome != pipeline.OutcomeUnchanged {
					t.Errorf("change %d: %v %v, want unchanged", i, r.Outcome, r.Reject)
				}
			}
			after := a.srv.Stats()
			if w0, w1 := writes(before), writes(after); !maps.Equal(w0, w1) {
				t.Errorf("the second run wrote: %v, then %v", w0, w1)
			}
			if n := requests(after, "GET /customers/retrieve/{uuid}") - requests(before, "GET /customers/retrieve/{uuid}"); n != 0 {
				t.Errorf("the second run read %d customers one by one", n)
			}
		})
	}
}

// tamio cannot change an address after the create: a row whose billing
// city changed sends no update for it (an unchanged row none at all, a row
// whose name changed only the name), whatever the caller marks, and the
// result says what the CRM holds (Old), so that the engine records that
// and not the row's city. That holds whether the sink compared from its
// index (which keeps hashes: it reads the customer), looked the customer
// up by email, or was told the id.
func TestChangedAddressOfExistingCustomerIsNotSent(t *testing.T) {
	sch := tamio.Schema()
	city, name := sch.Index("billing_information.city"), sch.Index("name")
	for _, how := range []string{"indexed", "looked up", "id and send"} {
		t.Run(how, func(t *testing.T) {
			a := startAccount(t, tamiotest.Options{BulkDelay: time.Millisecond})
			created := applyAll(t, newSink(t, a, a.srv.APIKey), addressChanges(300, 2))
			if err := a.srv.WaitIdle(context.Background()); err != nil {
				t.Fatal(err)
			}
			chs := addressChanges(300, 2)
			for i := range chs {
				chs[i].Record.Values[city] = "Milano"
			}
			chs[1].Record.Values[name] = "Renamed"
			plan := pipeline.Plan{Mapped: allMapped(), Mode: pipeline.ModeUpsert, IndexAccount: how == "indexed", Claim: claimAll}
			if how == "id and send" {
				for i := range chs {
					send := make([]bool, len(sch.Fields))
					send[city] = true // marked, as by a caller that does not know the field is create-only
					chs[i].ID, chs[i].Send = created[i].ID, send
				}
				chs[1].Send[name] = true
			}
			before := a.srv.Stats()
			res := applyEach(t, a, plan, chs)
			after := a.srv.Stats()

			if r := res[0]; r.Outcome != pipeline.OutcomeUnchanged {
				t.Errorf("only the city changed: %v %v, want unchanged", r.Outcome, r.Reject)
			}
			if r := res[1]; r.Outcome != pipeline.OutcomeUpdated {
				t.Errorf("city and name changed: %v %v, want updated", r.Outcome, r.Reject)
			} else {
				for f, on := range r.Sent {
					if on != (f == name) {
						t.Errorf("the result marks %s sent=%v; only name was sent", sch.Fields[f].Name, on)
					}
				}
			}
			if n := requests(after, "POST /customers/update/{uuid}") - requests(before, "POST /customers/update/{uuid}"); n != 1 {
				t.Errorf("%d updates, want the renamed customer's alone", n)
			}
			for i, r := range res {
				if how == "id and send" {
					// The engine has the state's values; the sink read
					// nothing.
					continue
				}
				if len(r.Old) != len(sch.Fields) || r.Old[city] != "Roma" {
					t.Errorf("change %d: Old=%q, want the CRM's values with billing city Roma", i, r.Old)
				}
			}
			for _, vals := range readBack(t, a) {
				if vals[city] != "Roma" || vals[sch.Index("shipping_information.city")] != "Madrid" {
					t.Errorf("%s: billing city %q, shipping city %q; the create's addresses must stay", vals[0], vals[city], vals[sch.Index("shipping_information.city")])
				}
			}
		})
	}
}

// claimAll is the Claim of a run whose state binds every match: what the
// sink is given when the engine keeps a state.
func claimAll(_ context.Context, keys, _ []string) ([]string, error) {
	return make([]string, len(keys)), nil
}

// Without a state nothing records what tamio holds, and a dry run records
// nothing: a row whose address differs costs no read of its customer.
func TestChangedAddressCostsNoReadWithoutAState(t *testing.T) {
	sch := tamio.Schema()
	a := startAccount(t, tamiotest.Options{BulkDelay: time.Millisecond})
	applyAll(t, newSink(t, a, a.srv.APIKey), addressChanges(500, 3))
	if err := a.srv.WaitIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, plan := range []pipeline.Plan{
		{Mapped: allMapped(), Mode: pipeline.ModeUpsert, IndexAccount: true},
		{Mapped: allMapped(), Mode: pipeline.ModeUpsert, IndexAccount: true, DryRun: true, Claim: claimAll},
	} {
		chs := addressChanges(500, 3)
		for i := range chs {
			chs[i].Record.Values[sch.Index("billing_information.city")] = "Milano"
		}
		before := a.srv.Stats()
		res := applyPlan(t, newSink(t, a, a.srv.APIKey), plan, chs)
		for i, r := range res {
			if r.Outcome != pipeline.OutcomeUnchanged || r.Old != nil {
				t.Errorf("dry run %v, change %d: %v with Old %q, want unchanged without Old", plan.DryRun, i, r.Outcome, r.Old)
			}
		}
		if n := requests(a.srv.Stats(), "GET /customers/retrieve/{uuid}") - requests(before, "GET /customers/retrieve/{uuid}"); n != 0 {
			t.Errorf("dry run %v: %d customers read one by one", plan.DryRun, n)
		}
	}
}

// A row that fills part of an address but not a part tamio requires in
// it is rejected before anything is sent, naming the missing part; the
// rest of the batch is created. An existing customer's row is not held to
// it, since no update sends an address.
func TestPartialAddressRejectedBeforeAnyCall(t *testing.T) {
	sch := tamio.Schema()
	a := startAccount(t, tamiotest.Options{BulkDelay: time.Millisecond})
	existing := addressChanges(400, 1)
	applyAll(t, newSink(t, a, a.srv.APIKey), existing)
	if err := a.srv.WaitIdle(context.Background()); err != nil {
		t.Fatal(err)
	}

	chs := addressChanges(400, 4)
	chs[1].Record.Values[sch.Index("billing_information.city")] = ""
	for _, part := range []string{"name", "address", "city", "country", "postcode", "is_company"} {
		chs[2].Record.Values[sch.Index("shipping_information."+part)] = ""
	}
	chs[2].Record.Values[sch.Index("shipping_information.address")] = "Calle Mayor 2" // address without name, city, country
	chs[0].Record.Values[sch.Index("billing_information.city")] = ""                  // existing: not created, not checked
	before := a.srv.Stats()
	res := applyPlan(t, newSink(t, a, a.srv.APIKey), pipeline.Plan{Mapped: allMapped(), Mode: pipeline.ModeUpsert, IndexAccount: true}, chs)

	for i, want := range map[int]string{1: "billing_information.city", 2: "shipping_information.name"} {
		r := res[i]
		if r.Outcome != pipeline.OutcomeRejected || r.Reject == nil {
			t.Errorf("change %d: %v, want rejected for %s", i, r.Outcome, want)
			continue
		}
		rej := r.Reject
		if rej.Stage != pipeline.StageValidate || rej.Code != pipeline.CodeRequired || rej.Field != want {
			t.Errorf("change %d: rejected %s/%s on %q, want validate/required on %s", i, rej.Stage, rej.Code, rej.Field, want)
		}
		if !strings.Contains(rej.Message, "no "+want) || !strings.Contains(rej.Message, "leave every") {
			t.Errorf("change %d: reason %q does not say what is missing and how to fix it", i, rej.Message)
		}
	}
	if r := res[0]; r.Outcome != pipeline.OutcomeUnchanged {
		t.Errorf("existing customer: %v %v, want unchanged", r.Outcome, r.Reject)
	}
	if r := res[3]; r.Outcome != pipeline.OutcomeCreated {
		t.Errorf("whole addresses: %v %v, want created", r.Outcome, r.Reject)
	}
	after := a.srv.Stats()
	// One bulk body, for the whole row alone, and no refusal from tamio.
	if n := after.Requests["POST /customers/bulk/create"]["200"] - before.Requests["POST /customers/bulk/create"]["200"]; n != 1 {
		t.Errorf("%d bulk creates, want 1", n)
	}
	if n := after.ByStatus["400"] - before.ByStatus["400"]; n != 0 {
		t.Errorf("tamio refused %d requests: the partial addresses reached it", n)
	}
	if got := len(readBack(t, a)); got != 2 {
		t.Errorf("the account holds %d customers, want 2", got)
	}
}
