package gdpr_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"crmsync/gdpr"
)

func TestExportDirWritesPrivateFiles(t *testing.T) {
	root := filepath.Join(t.TempDir(), "out")
	d := &gdpr.Dir{Root: root}
	if err := d.MkdirAll("subjects"); err != nil {
		t.Fatal(err)
	}
	e, err := d.WriteFile("subjects/a.json", []byte(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(`{"a":1}`))
	if e != (gdpr.FileEntry{Path: "subjects/a.json", Bytes: 7, SHA256: hex.EncodeToString(sum[:])}) {
		t.Errorf("entry %+v", e)
	}
	checkMode(t, root, 0o700)
	checkMode(t, filepath.Join(root, "subjects"), 0o700)
	checkMode(t, filepath.Join(root, "subjects", "a.json"), 0o600)

	// An aborted file leaves nothing, not even its temporary name.
	f, err := d.Create("subjects/b.json")
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("half"))
	f.Abort()
	entries, _ := os.ReadDir(filepath.Join(root, "subjects"))
	if len(entries) != 1 {
		t.Errorf("after an abort the directory holds %d entries, want 1", len(entries))
	}
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %04o, want %04o", path, got, want)
	}
}

func TestExportDirEncrypts(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := age.GenerateX25519Identity()
	recips, err := gdpr.ParseRecipients([]string{" " + id.Recipient().String() + " "})
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	d := &gdpr.Dir{Root: root, Recipients: recips}
	plain := bytes.Repeat([]byte("ada@example.com,"), 10000) // several age chunks
	e, err := d.WriteFile("customers.csv", plain)
	if err != nil {
		t.Fatal(err)
	}
	if e.Path != "customers.csv.age" {
		t.Errorf("written as %s", e.Path)
	}
	data, err := os.ReadFile(filepath.Join(root, "customers.csv.age"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if e.SHA256 != hex.EncodeToString(sum[:]) || e.Bytes != int64(len(data)) {
		t.Errorf("entry %+v is not of the bytes on disk", e)
	}
	if bytes.Contains(data, []byte("ada@")) {
		t.Error("the encrypted file holds the plain text")
	}
	r, err := age.Decrypt(bytes.NewReader(data), id)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, plain) {
		t.Errorf("decrypted %d bytes (%v), want the %d written", len(got), err, len(plain))
	}
	if _, err := age.Decrypt(bytes.NewReader(data), other); err == nil {
		t.Error("another identity decrypted the file")
	}
}

func TestExportRecipientRefusals(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	for _, bad := range []string{id.String(), "age1notakey", "ssh-ed25519 AAAA", ""} {
		_, err := gdpr.ParseRecipients([]string{bad})
		if err == nil {
			t.Errorf("%.20q accepted", bad)
			continue
		}
		if bad != "" && strings.Contains(err.Error(), bad) {
			t.Errorf("the error quotes the key: %v", err)
		}
	}
}

func TestExportKeyFingerprintAndEraseEmailHash(t *testing.T) {
	fp := gdpr.KeyFingerprint("tamio-secret-key-123")
	if !strings.HasPrefix(fp, "sha256:") || len(fp) != len("sha256:")+16 || strings.Contains(fp, "secret") {
		t.Errorf("fingerprint %q", fp)
	}
	if fp == gdpr.KeyFingerprint("tamio-secret-key-124") {
		t.Error("two keys share a fingerprint")
	}
	sum := sha256.Sum256([]byte("ada@example.com"))
	if got := gdpr.EmailHash("  Ada@Example.COM "); got != hex.EncodeToString(sum[:]) {
		t.Errorf("EmailHash = %s", got)
	}
}

func TestExportSubjectFileName(t *testing.T) {
	cases := map[string]bool{ // id → used as it is
		"6f1c9a52-5b7e-4d3a-9c1e-2a4b6c8d0e1f": true,
		"cus_123":                              true,
		"../etc/passwd":                        false,
		"ada@example.com":                      false,
		".hidden":                              false,
		"a/b":                                  false,
		"":                                     false,
	}
	for id, plain := range cases {
		name := gdpr.SubjectFileName(id)
		if plain != (name == id+".json") {
			t.Errorf("SubjectFileName(%q) = %q", id, name)
		}
		if strings.ContainsAny(name, `/\@`) || strings.HasPrefix(name, ".") {
			t.Errorf("SubjectFileName(%q) = %q is not a safe name", id, name)
		}
	}
}

// TestExportDirInPlace checks the in-place mode a staging directory uses:
// files under their final names from the start, a second file of the
// same name refused rather than overwritten, and an abort leaving
// nothing.
func TestExportDirInPlace(t *testing.T) {
	root := t.TempDir()
	d := &gdpr.Dir{Root: root, InPlace: true}
	f, err := d.Create("a.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "a.json")); err != nil {
		t.Errorf("not under its final name while written: %v", err)
	}
	f.Write([]byte("one"))
	if _, err := f.Commit(false); err != nil {
		t.Fatal(err)
	}
	checkMode(t, filepath.Join(root, "a.json"), 0o600)
	if _, err := d.Create("a.json"); !errors.Is(err, fs.ErrExist) {
		t.Errorf("a second a.json: %v, want it refused", err)
	}
	f, err = d.Create("b.json")
	if err != nil {
		t.Fatal(err)
	}
	f.Abort()
	entries, _ := os.ReadDir(root)
	if len(entries) != 1 {
		t.Errorf("the directory holds %d entries, want a.json alone", len(entries))
	}
}
