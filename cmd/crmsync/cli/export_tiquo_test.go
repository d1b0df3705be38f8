package cli_test

// Tests of `crmsync export` against the tiquo emulator: an API whose
// customer object nests an address, holds a list and a bool, and has no
// export layout of its own, so its table is the registry's default.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"crmsync/cmd/crmsync/cli"
	"crmsync/crm"
	"crmsync/gdpr/layout"
	"crmsync/pipeline"
	"crmsync/sinks/tiquo"
	"crmsync/sinks/tiquo/tiquotest"
)

// newTiquo starts a tiquo emulator on a SQLite file in a temporary
// directory, closed when the test ends.
func newTiquo(t *testing.T) *tiquotest.Server {
	t.Helper()
	srv, err := tiquotest.NewServer(tiquotest.Options{DBPath: filepath.Join(t.TempDir(), "tiquo.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("closing the emulator: %v", err)
		}
	})
	return srv
}

// tiquoClient is a tiquo client for the test's own reads and writes.
func tiquoClient(t *testing.T, srv *tiquotest.Server) *tiquo.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return tiquo.NewClient(srv.URL, srv.APIKey, &http.Client{Transport: tr, Timeout: 30 * time.Second},
		pipeline.NewPacer(pipeline.PacerOptions{}))
}

// tiquoPerson is a customer the test created.
type tiquoPerson struct{ ID, Email string }

// seedTiquo creates n customers, each with an address, tags, a consent and
// a birth date, and returns them in order.
func seedTiquo(t *testing.T, c *tiquo.Client, tag string, n int) []tiquoPerson {
	t.Helper()
	out := make([]tiquoPerson, n)
	for i := range n {
		email := fmt.Sprintf("Person%d.%s@Example.org", i, tag)
		id, err := c.Create(context.Background(), map[string]any{
			"firstName": []string{"Zoë", "Jürgen", "Ada"}[i%3], "lastName": fmt.Sprintf("Tester%d", i), "email": email,
			"phone": fmt.Sprintf("+4930%07d", i), "dateOfBirth": "1990-04-0" + fmt.Sprint(1+i%9),
			"address":          map[string]any{"line1": fmt.Sprintf("Rue %d", i), "city": "Lyon", "postalCode": "69001", "country": "FR"},
			"tags":             []string{"vip", tag},
			"marketingConsent": i%2 == 0,
		})
		if err != nil {
			t.Fatal(err)
		}
		out[i] = tiquoPerson{ID: id, Email: email}
	}
	return out
}

// tiquoArgs are the arguments of a command against srv, the key in keyEnv.
func tiquoArgs(cmd string, srv *tiquotest.Server, extra ...string) []string {
	return append([]string{cmd, "--api", "tiquo", "--target", srv.URL, "--api-key-env", keyEnv}, extra...)
}

// tiquoObject is the emulator's customer object, as decoded JSON.
func tiquoObject(t *testing.T, c *tiquo.Client, id string) map[string]any {
	t.Helper()
	raw, err := c.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestExportTiquoSubjects answers a subject-access request against tiquo,
// subjects named by email in another case and by id: each subject's file
// is the customer object as tiquo answered it (address, tags, consent,
// loyalty points, times) and nothing else, and the table has the default
// layout's columns (id, every schema field, the address flattened,
// other_fields holding the rest) with each value as tiquo holds it.
func TestExportTiquoSubjects(t *testing.T) {
	t.Parallel()
	srv := newTiquo(t)
	c := tiquoClient(t, srv)
	people := seedTiquo(t, c, "sar", 4)
	dir := t.TempDir()
	subjects := writeSubjects(t, filepath.Join(dir, "s.csv"), []string{"email", "id"},
		[]string{strings.ToLower(people[0].Email), ""}, []string{"", people[2].ID}, []string{"nobody@example.org", ""})
	for _, format := range []string{"jsonl", "csv"} {
		out := filepath.Join(dir, "sar-"+format)
		if code := runMain(t, srv.APIKey, tiquoArgs("export", srv, "--subjects", subjects, "--out", out, "--format", format, "--progress", "none")...); code != cli.ExitOK {
			t.Fatalf("%s: exit %d", format, code)
		}
		m, files := readManifest(t, out)
		if m.API != "tiquo" || m.Counts.Exported != 2 || m.Counts.NotFound != 1 || len(files) != 4 {
			t.Errorf("%s: manifest %+v, %d files", format, m, len(files))
		}
		for _, p := range []tiquoPerson{people[0], people[2]} {
			data, err := os.ReadFile(filepath.Join(out, "subjects", p.ID+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]json.RawMessage
			if err := json.Unmarshal(data, &doc); err != nil {
				t.Fatal(err)
			}
			keys := slices.Sorted(func(yield func(string) bool) {
				for k := range doc {
					if !yield(k) {
						return
					}
				}
			})
			if !slices.Equal(keys, []string{"api", "customer", "exported_at"}) || string(doc["api"]) != `"tiquo"` {
				t.Errorf("%s: keys %v, api %s", p.ID, keys, doc["api"])
			}
			var got map[string]any
			if err := json.Unmarshal(doc["customer"], &got); err != nil {
				t.Fatal(err)
			}
			want := tiquoObject(t, c, p.ID)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: the file holds\n %v\nthe emulator\n %v", p.ID, got, want)
			}
			if addr, _ := got["address"].(map[string]any); addr["city"] != "Lyon" || len(got["tags"].([]any)) != 2 || got["createdAt"] == nil {
				t.Errorf("%s: the object lacks its address, tags or creation time: %v", p.ID, got)
			}
		}

		conn, err := crm.Lookup("tiquo")
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(out, "customers."+format))
		if err != nil {
			t.Fatal(err)
		}
		rows := tableRows(t, format, data)
		if len(rows) != 2 {
			t.Fatalf("%s: %d rows", format, len(rows))
		}
		cols := conn.ExportLayout().Table()
		if len(cols) != len(conn.Schema.Fields)+2 || cols[0].Name != "id" || cols[len(cols)-1].Name != layout.OtherFields {
			t.Errorf("columns %v: want id, every schema field, other_fields", cols)
		}
		for _, row := range rows {
			id, _ := row["id"].(string)
			obj := tiquoObject(t, c, id)
			addr, _ := obj["address"].(map[string]any)
			tags, _ := json.Marshal(obj["tags"])
			want := map[string]any{"email": obj["email"], "firstName": obj["firstName"], "dateOfBirth": obj["dateOfBirth"],
				"address_city": addr["city"], "address_line1": addr["line1"], "address_postalCode": addr["postalCode"],
				"tags": string(tags), "marketingConsent": obj["marketingConsent"], "notes": nil, "companyId": nil}
			if format == "csv" {
				want["marketingConsent"] = fmt.Sprint(obj["marketingConsent"])
				want["notes"], want["companyId"] = "", ""
			}
			for name, w := range want {
				if g := row[name]; !reflect.DeepEqual(g, w) {
					t.Errorf("%s %s, %s: %#v, the emulator holds %#v", format, id, name, g, w)
				}
			}
			var other map[string]any
			if err := json.Unmarshal([]byte(row[layout.OtherFields].(string)), &other); err != nil {
				t.Fatalf("%s: other_fields: %v", id, err)
			}
			for _, k := range []string{"loyaltyPoints", "createdAt", "updatedAt"} {
				if !reflect.DeepEqual(other[k], obj[k]) {
					t.Errorf("%s: other_fields %s = %v, the emulator holds %v", id, k, other[k], obj[k])
				}
			}
		}
		nf := readCSVFile(t, filepath.Join(out, "not_found.csv"))
		if !reflect.DeepEqual(nf, [][]string{{"row", "id", "email"}, {"3", "", "nobody@example.org"}}) {
			t.Errorf("not_found.csv: %q", nf)
		}
	}
}
