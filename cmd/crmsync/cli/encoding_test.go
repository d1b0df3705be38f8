package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"

	"crmsync/cmd/crmsync/cli"
	"crmsync/sinks/tamio/tamiotest"
)

// A Windows-1252 export synced without --encoding stops before any call to
// the CRM, naming the encoding and the flag; with the flag, every row
// lands with its accents.
func TestSyncWindows1252WithoutEncodingStops(t *testing.T) {
	t.Parallel()
	rows := cleanRows(t)
	var b strings.Builder
	for _, rec := range rows {
		b.WriteString(strings.Join(rec, ";") + "\r\n")
	}
	// Excel's apostrophe is 0x92 in Windows-1252, a control character in
	// ISO-8859-1: the byte that tells the two apart.
	text := strings.ReplaceAll(b.String(), "O'Brien", "O’Brien")
	data, err := charmap.Windows1252.NewEncoder().Bytes([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	source := filepath.Join(t.TempDir(), "contacts-excel.csv")
	if err := os.WriteFile(source, data, 0o600); err != nil {
		t.Fatal(err)
	}

	srv := newCRM(t, tamiotest.Options{})
	r := runBinary(t, srv.APIKey, syncArgs(source, sample("customers.tamio.yaml"), srv.URL, filepath.Join(t.TempDir(), "out"))...)
	checkNoCrash(t, r)
	if r.code != cli.ExitFatal {
		t.Fatalf("exit %d, want %d; stderr:\n%s", r.code, cli.ExitFatal, r.stderr)
	}
	msg := lastLine(r.stderr)
	for _, s := range []string{"contacts-excel.csv", "not UTF-8", "windows-1252", "--encoding windows-1252"} {
		if !strings.Contains(msg, s) {
			t.Errorf("the error does not say %q:\n%s", s, msg)
		}
	}
	if st := srv.Stats(); len(st.ByStatus) != 0 {
		t.Errorf("the CRM got calls: %v", st.ByStatus)
	}

	r = runBinary(t, srv.APIKey, syncArgs(source, sample("customers.tamio.yaml"), srv.URL, filepath.Join(t.TempDir(), "out"), "--encoding", "windows-1252")...)
	checkNoCrash(t, r)
	if r.code != cli.ExitOK {
		t.Fatalf("with --encoding windows-1252: exit %d, want %d; stderr:\n%s", r.code, cli.ExitOK, r.stderr)
	}
	crm := crmCustomers(t, srv)
	if want := emailsBut(rows); len(crm) != len(want) {
		t.Errorf("the CRM holds %d customers, want %d", len(crm), len(want))
	}
	c := crm["mia.obrien.8@example.org"]
	if got := c.Name + " " + c.LastName; !strings.Contains(got, "Mía") || !strings.Contains(got, "O’Brien") {
		t.Errorf("row 8 landed as %q, want Mía O’Brien", got)
	}
}
