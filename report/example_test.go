package report_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"crmsync/report"
)

func ExampleDiffWriter() {
	dir, err := os.MkdirTemp("", "diff-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "diff.csv")

	w, err := report.CreateDiff(path)
	if err != nil {
		log.Fatal(err)
	}
	// The engine writes a batch of changes at a time.
	err = w.Write([]report.DiffRow{
		{Key: "C-1001", CRMID: "cus_8fk2Lw", Action: report.ActionUpdate, Field: "email", OldValue: "anna@old.example", NewValue: "anna@new.example"},
		{Key: "C-1001", CRMID: "cus_8fk2Lw", Action: report.ActionUpdate, Field: "phone", OldValue: "", NewValue: "+49 30 1234567"},
		{Key: "C-1002", CRMID: "", Action: report.ActionCreate, Field: "name", NewValue: "=HYPERLINK(\"http://evil.example\")"},
		{Key: "C-0917", CRMID: "cus_Q0a91z", Action: report.ActionDelete, OldValue: "gone@example.com"},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}

	b, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	// The file starts with a byte order mark, for spreadsheets.
	fmt.Print(strings.TrimPrefix(string(b), "\uFEFF"))
	// Output:
	// key,crm_id,action,field,old_value,new_value
	// C-1001,cus_8fk2Lw,update,email,anna@old.example,anna@new.example
	// C-1001,cus_8fk2Lw,update,phone,,+49 30 1234567
	// C-1002,,create,name,,"'=HYPERLINK(""http://evil.example"")"
	// C-0917,cus_Q0a91z,delete,,gone@example.com,
}
