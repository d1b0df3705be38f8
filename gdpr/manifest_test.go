package gdpr_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"crmsync/gdpr"
)

type header struct {
	Kind  string `json:"kind"`
	Count int    `json:"count"`
}

// writeExport writes files (name → content) into a staging directory of
// out with a manifest, and publishes it; names are the top-level entries
// an export of this kind writes.
func writeExport(t *testing.T, out string, files map[string]string, names []string) {
	t.Helper()
	st, err := gdpr.NewStaging(out, "test", names)
	if err != nil {
		t.Fatal(err)
	}
	d := &gdpr.Dir{Root: st.Path()}
	list, err := gdpr.NewFileList(st.Path())
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if dir := filepath.Dir(name); dir != "." {
			if err := d.MkdirAll(dir); err != nil {
				t.Fatal(err)
			}
		}
		e, err := d.WriteFile(name, []byte(content))
		if err != nil {
			t.Fatal(err)
		}
		if err := list.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := gdpr.WriteManifest(d, header{Kind: "test", Count: len(files)}, list); err != nil {
		t.Fatal(err)
	}
	list.Close()
	if err := st.Publish(); err != nil {
		t.Fatal(err)
	}
}

func TestExportManifestAndStaging(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	owned := []string{"subjects", "table.csv", "table.jsonl"}
	writeExport(t, out, map[string]string{"subjects/a.json": "A", "subjects/b.json": "B", "table.csv": "a\nb\n"}, owned)
	// A file of the user's, which no export owns.
	if err := os.WriteFile(filepath.Join(out, "notes.txt"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	var h header
	files, err := gdpr.ReadManifest(out, &h)
	if err != nil {
		t.Fatal(err)
	}
	if h.Kind != "test" || h.Count != 3 || len(files) != 3 {
		t.Errorf("header %+v, %d files", h, len(files))
	}

	// A second export without b and in another format replaces the first
	// as a whole: b's file and table.csv are gone, the user's file stays.
	// A killed run's leftovers are cleared first.
	leftover := filepath.Join(out, ".crmsync-staging-123", "subjects")
	if err := os.MkdirAll(leftover, 0o700); err != nil {
		t.Fatal(err)
	}
	writeExport(t, out, map[string]string{"subjects/a.json": "A2", "table.jsonl": "{}\n"}, owned)
	for _, gone := range []string{"subjects/b.json", "table.csv", ".crmsync-staging-123"} {
		if _, err := os.Stat(filepath.Join(out, gone)); !os.IsNotExist(err) {
			t.Errorf("%s survived the second export (%v)", gone, err)
		}
	}
	if data, _ := os.ReadFile(filepath.Join(out, "notes.txt")); string(data) != "mine" {
		t.Error("the user's file was touched")
	}
	os.Remove(filepath.Join(out, "notes.txt"))
	if _, err := gdpr.VerifyManifest(out); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("%s left in the output directory", e.Name())
		}
	}

	// Verification notices a changed file and a file the manifest lacks.
	os.WriteFile(filepath.Join(out, "subjects", "a.json"), []byte("tampered"), 0o600)
	os.WriteFile(filepath.Join(out, "subjects", "c.json"), []byte("C"), 0o600)
	_, err = gdpr.VerifyManifest(out)
	if err == nil || !strings.Contains(err.Error(), "subjects/a.json") || !strings.Contains(err.Error(), "subjects/c.json: not in the manifest") {
		t.Errorf("VerifyManifest after tampering: %v", err)
	}
}

func TestExportStagingDiscardLeavesOutput(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	writeExport(t, out, map[string]string{"table.csv": "old\n"}, []string{"table.csv"})
	st, err := gdpr.NewStaging(out, "test", []string{"table.csv"})
	if err != nil {
		t.Fatal(err)
	}
	d := &gdpr.Dir{Root: st.Path()}
	if _, err := d.WriteFile("table.csv", []byte("new\n")); err != nil {
		t.Fatal(err)
	}
	if err := st.Discard(); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(out, "table.csv")); string(data) != "old\n" {
		t.Errorf("a discarded run changed the output: %q", data)
	}
	if _, err := gdpr.VerifyManifest(out); err != nil {
		t.Error(err)
	}
}

func TestExportManifestOfNoFiles(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	writeExport(t, out, nil, nil)
	files, err := gdpr.VerifyManifest(out)
	if err != nil || len(files) != 0 {
		t.Errorf("%d files, %v", len(files), err)
	}
}

// TestStagingRefusesForeignDirectory checks that an export is refused a
// directory holding files and no export manifest (or another tool's
// manifest.json), before anything in it is changed.
func TestStagingRefusesForeignDirectory(t *testing.T) {
	owned := []string{"subjects", "customers.csv", "customers.parquet", "customers.jsonl", "not_found.csv"}
	out := t.TempDir()
	files := map[string]string{"customers.csv": "a", "customers.parquet": "b", "not_found.csv": "c", "subjects/important.txt": "d"}
	for name, content := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(out, name)), 0o700)
		if err := os.WriteFile(filepath.Join(out, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	check := func(what string, entries int) {
		t.Helper()
		_, err := gdpr.NewStaging(out, "test", owned)
		var fe *gdpr.ForeignError
		if !errors.As(err, &fe) || !fe.NoManifest || !strings.Contains(err.Error(), out) {
			t.Errorf("%s: NewStaging = %v, want a *ForeignError naming %s", what, err, out)
		}
		for name, content := range files {
			if data, err := os.ReadFile(filepath.Join(out, name)); err != nil || string(data) != content {
				t.Errorf("%s: %s holds %q, %v", what, name, data, err)
			}
		}
		if got, _ := os.ReadDir(out); len(got) != entries {
			t.Errorf("%s: %d entries in the directory, want the %d there were", what, len(got), entries)
		}
	}
	check("no manifest", 4)
	files[gdpr.ManifestName] = `{"kind":"something else","files":[{"path":"customers.csv"}]}`
	os.WriteFile(filepath.Join(out, gdpr.ManifestName), []byte(files[gdpr.ManifestName]), 0o600)
	check("another kind's manifest", 5)
}

// TestStagingReplacesOnlyListedFiles checks that an export over an
// earlier one refuses to replace a directory holding a file of the
// user's, leaves the user's files beside it alone, and finds the earlier
// manifest in the hidden directories of a run killed while publishing.
func TestStagingReplacesOnlyListedFiles(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	owned := []string{"subjects", "table.csv", "extra"}
	writeExport(t, out, map[string]string{"subjects/a.json": "A", "table.csv": "t", "extra/x.json": "X"}, owned)

	mine := filepath.Join(out, "subjects", "mine.txt")
	os.WriteFile(mine, []byte("mine"), 0o600)
	_, err := gdpr.NewStaging(out, "test", owned)
	var fe *gdpr.ForeignError
	if !errors.As(err, &fe) || fe.NoManifest || !slices.Contains(fe.Paths, "subjects/mine.txt") {
		t.Fatalf("a file of the user's in subjects/: %v, want a *ForeignError naming it", err)
	}
	os.Remove(mine)

	// Files of the user's beside the export, and inside a directory of
	// the earlier export that this one does not write.
	os.WriteFile(filepath.Join(out, "notes.txt"), []byte("mine"), 0o600)
	os.WriteFile(filepath.Join(out, "extra", "keep.txt"), []byte("mine"), 0o600)
	// A run killed while publishing: the manifest is in its trash.
	trash := filepath.Join(out, ".crmsync-trash-1")
	os.Mkdir(trash, 0o700)
	if err := os.Rename(filepath.Join(out, gdpr.ManifestName), filepath.Join(trash, gdpr.ManifestName)); err != nil {
		t.Fatal(err)
	}
	writeExport(t, out, map[string]string{"subjects/b.json": "B", "table.jsonl": "{}\n"}, []string{"subjects", "table.jsonl"})
	for _, gone := range []string{"subjects/a.json", "table.csv", "extra/x.json", ".crmsync-trash-1"} {
		if _, err := os.Lstat(filepath.Join(out, gone)); !os.IsNotExist(err) {
			t.Errorf("%s survived the second export (%v)", gone, err)
		}
	}
	for _, kept := range []string{"notes.txt", "extra/keep.txt"} {
		if data, _ := os.ReadFile(filepath.Join(out, kept)); string(data) != "mine" {
			t.Errorf("the user's %s holds %q", kept, data)
		}
	}
}

// TestStagingReplacesEmptyDirectories: an export leaves a CRM's folder
// empty where the CRM held none of the people, which its manifest, a list
// of files, cannot name; the next export replaces it, as it holds nothing
// to lose, unless a file of the user's is in it.
func TestStagingReplacesEmptyDirectories(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	owned := []string{"crm-a", "crm-b"}
	writeExport(t, out, map[string]string{"crm-a/subjects/a.json": "A"}, owned)
	for _, empty := range []string{"crm-a/subjects/none", "crm-b/subjects"} {
		if err := os.MkdirAll(filepath.Join(out, empty), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	st, err := gdpr.NewStaging(out, "test", owned)
	if err != nil {
		t.Fatalf("empty folders of an earlier export: %v", err)
	}
	st.Discard()

	os.WriteFile(filepath.Join(out, "crm-b", "subjects", "mine.txt"), []byte("mine"), 0o600)
	_, err = gdpr.NewStaging(out, "test", owned)
	var fe *gdpr.ForeignError
	if !errors.As(err, &fe) || !slices.Contains(fe.Paths, "crm-b/") {
		t.Fatalf("a file of the user's under an empty folder's tree: %v, want a *ForeignError naming crm-b/", err)
	}
}

// TestManifestOfSeveralLists writes the manifest of an export whose parts
// (one per CRM) recorded their files in lists of their own, one of them
// added to after it was read, and checks that it lists every file once,
// in the lists' order, as on disk.
func TestManifestOfSeveralLists(t *testing.T) {
	root := t.TempDir()
	d := &gdpr.Dir{Root: root}
	var lists []*gdpr.FileList
	var want []string
	for _, part := range []string{"crm-a", "crm-b"} {
		if err := d.MkdirAll(part); err != nil {
			t.Fatal(err)
		}
		l, err := gdpr.NewFileList(root)
		if err != nil {
			t.Fatal(err)
		}
		lists = append(lists, l)
		for i := range 3 {
			e, err := d.WriteFile(part+"/"+strings.Repeat("x", i+1)+".json", []byte(part))
			if err != nil {
				t.Fatal(err)
			}
			if err := l.Add(e); err != nil {
				t.Fatal(err)
			}
			want = append(want, e.Path)
			if i == 1 {
				// Read midway: what is added after goes on at the end.
				n := 0
				if err := l.Each(func(gdpr.FileEntry) error { n++; return nil }); err != nil || n != 2 {
					t.Fatalf("Each midway: %d entries, %v", n, err)
				}
			}
		}
	}
	if err := gdpr.WriteManifest(d, header{Kind: "test"}, lists...); err != nil {
		t.Fatal(err)
	}
	for _, l := range lists {
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	files, err := gdpr.VerifyManifest(root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, f.Path)
	}
	if !slices.Equal(got, want) {
		t.Errorf("manifest lists %v, want %v", got, want)
	}
}
