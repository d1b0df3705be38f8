package crmsource

import (
	"os"
	"path/filepath"
	"testing"

	"crmsync/pipeline"
)

func TestRejectWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rejects.csv")
	w, err := NewRejectWriter(path, []string{"id", "name", "tags"})
	if err != nil {
		t.Fatal(err)
	}
	row := &pipeline.Row{Num: 7, Values: []string{"c7", "=HYPERLINK(\"x\")", `["a","b"]`}}
	if err := w.Write(row, &pipeline.Reject{Stage: pipeline.StageValidate, Code: "required", Field: "email", Message: "no email"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("reject file mode %v, want 0600: it holds personal data", st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "\uFEFFid,name,tags,_row,_stage,_code,_field,_message\n" +
		`c7,"'=HYPERLINK(""x"")","[""a"",""b""]",7,validate,required,email,no email` + "\n"
	if string(b) != want {
		t.Errorf("reject file:\n%s\nwant:\n%s", b, want)
	}
}
