package gdpr

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"
)

// DirMode and FileMode are the permissions of everything this package
// creates: exports hold personal data, readable by their owner only.
const (
	DirMode  os.FileMode = 0o700
	FileMode os.FileMode = 0o600
)

// EncryptedSuffix is added to the name of every file written encrypted.
const EncryptedSuffix = ".age"

// FileEntry is one file as written: its path relative to the directory
// it was written in (slash-separated), its size and the SHA-256 of its
// bytes on disk (of the ciphertext, for an encrypted file).
type FileEntry struct {
	Path   string `json:"path"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// ParseRecipients parses age public keys (age1…, or age1pq1… for the
// post-quantum hybrid kind). The error names the position of a bad key,
// never its text: a private key pasted by mistake must not reach a log.
func ParseRecipients(keys []string) ([]age.Recipient, error) {
	out := make([]age.Recipient, 0, len(keys))
	for i, k := range keys {
		k = strings.TrimSpace(k)
		if strings.HasPrefix(strings.ToUpper(k), "AGE-SECRET-KEY-") {
			return nil, fmt.Errorf("recipient %d is an age private key (AGE-SECRET-KEY-…); give its public key (age1…)", i+1)
		}
		rs, err := age.ParseRecipients(strings.NewReader(k))
		if err != nil || len(rs) != 1 {
			return nil, fmt.Errorf("recipient %d is not an age public key (want age1…)", i+1)
		}
		out = append(out, rs[0])
	}
	return out, nil
}

// KeyFingerprint identifies an API key without revealing it: "sha256:"
// and the first 16 hex digits of the SHA-256 of the key. Enough to tell
// which of an account's keys ran an export; far too little to guess it.
func KeyFingerprint(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(sum[:8])
}

// MatchHash is the hex SHA-256 of a match value (an email, say) trimmed,
// and folded to lower case when fold is set, as it is for an API that
// compares match values without regard to case: how the erasure log names
// a person without holding their address.
func MatchHash(match string, fold bool) string {
	match = strings.TrimSpace(match)
	if fold {
		match = strings.ToLower(match)
	}
	sum := sha256.Sum256([]byte(match))
	return hex.EncodeToString(sum[:])
}

// EmailHash is the MatchHash of an email, which compares without regard
// to case.
func EmailHash(email string) string { return MatchHash(email, true) }

// SubjectFileName is the base name of a customer's own file: the CRM's
// id when it is a plain token (a UUID, cus_123), otherwise a hash of it,
// so that no id can reach outside the directory or make a file name that
// holds an email.
func SubjectFileName(crmID string) string {
	ok := crmID != "" && len(crmID) <= 128 && crmID[0] != '.' && !strings.Contains(crmID, "@")
	for _, r := range crmID {
		if !ok {
			break
		}
		ok = r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
	}
	if ok {
		return crmID + ".json"
	}
	sum := sha256.Sum256([]byte(crmID))
	return "id-" + hex.EncodeToString(sum[:16]) + ".json"
}

// Dir creates files under Root with owner-only permissions, encrypted to
// Recipients when there are any.
type Dir struct {
	Root       string
	Recipients []age.Recipient
	// InPlace creates files under their final names rather than under a
	// temporary name renamed at Commit. It suits a directory published
	// only once complete (a Staging's), where the rename buys nothing and
	// costs a system call per file: 100,000 of them in an export of an
	// account.
	InPlace bool
}

// MkdirAll creates rel under the root, and the root, with DirMode.
func (d *Dir) MkdirAll(rel string) error {
	return os.MkdirAll(filepath.Join(d.Root, filepath.FromSlash(rel)), DirMode)
}

// Encrypted reports whether files are written encrypted.
func (d *Dir) Encrypted() bool { return len(d.Recipients) > 0 }

// Name is the name rel is written under: with EncryptedSuffix when the
// directory encrypts.
func (d *Dir) Name(rel string) string {
	if d.Encrypted() {
		return rel + EncryptedSuffix
	}
	return rel
}

// File is a file being written. Nothing appears under its final name
// before Commit; Abort (or a failed Commit) removes what was written.
type File struct {
	rel     string // final name, relative to the root, slash-separated
	final   string
	f       *os.File
	sum     hash.Hash
	n       int64
	enc     io.WriteCloser // the age writer, or nil
	buf     *bufio.Writer
	err     error
	closed  bool
	inPlace bool
}

// Create starts the file rel (slash-separated, relative to the root; its
// directory must exist). See Name for the name it ends up with.
func (d *Dir) Create(rel string) (*File, error) {
	rel = d.Name(rel)
	final := filepath.Join(d.Root, filepath.FromSlash(rel))
	var f *os.File
	var err error
	if d.InPlace {
		// O_EXCL: two customers must never share a file unnoticed.
		f, err = os.OpenFile(final, os.O_WRONLY|os.O_CREATE|os.O_EXCL, FileMode)
	} else {
		// CreateTemp opens with 0600 and O_EXCL, in the final directory
		// so that the rename in Commit stays on one file system.
		f, err = os.CreateTemp(filepath.Dir(final), "."+filepath.Base(final)+".tmp-*")
	}
	if err != nil {
		return nil, err
	}
	w := &File{rel: rel, final: final, f: f, sum: sha256.New(), inPlace: d.InPlace}
	var dst io.Writer = (*hashingWriter)(w)
	if d.Encrypted() {
		if w.enc, err = age.Encrypt(dst, d.Recipients...); err != nil {
			w.Abort()
			return nil, fmt.Errorf("encrypting %s: %w", rel, err)
		}
		dst = w.enc
	}
	w.buf = bufio.NewWriterSize(dst, 32<<10)
	return w, nil
}

// hashingWriter is the bottom of a File's writers: what reaches the disk
// is what the manifest hashes.
type hashingWriter File

func (h *hashingWriter) Write(p []byte) (int, error) {
	n, err := h.f.Write(p)
	h.sum.Write(p[:n])
	h.n += int64(n)
	return n, err
}

// Write implements io.Writer.
func (w *File) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.closed {
		return 0, errors.New("write after commit")
	}
	n, err := w.buf.Write(p)
	if err != nil {
		w.err = err
	}
	return n, err
}

// Name returns the file's final name relative to the root.
func (w *File) Name() string { return w.rel }

// Commit finishes the file and renames it into place. With durable set
// it is synced to disk first. A caller writing many small files may leave
// it unset: a disk flush per file costs about 0.7 ms (over a minute for
// 100,000 customers), and a file a power cut damaged shows up as a
// mismatch against the manifest's hash.
func (w *File) Commit(durable bool) (FileEntry, error) {
	if w.closed {
		return FileEntry{}, errors.New("commit twice")
	}
	w.closed = true
	err := w.err
	if err == nil {
		err = w.buf.Flush()
	}
	if err == nil && w.enc != nil {
		err = w.enc.Close()
	}
	if err == nil && durable {
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err == nil && !w.inPlace {
		err = os.Rename(w.f.Name(), w.final)
	}
	if err != nil {
		os.Remove(w.f.Name())
		return FileEntry{}, fmt.Errorf("writing %s: %w", w.rel, err)
	}
	return FileEntry{Path: w.rel, Bytes: w.n, SHA256: hex.EncodeToString(w.sum.Sum(nil))}, nil
}

// Abort drops the file. It is safe after Commit, where it does nothing.
func (w *File) Abort() {
	if w.closed {
		return
	}
	w.closed = true
	w.f.Close()
	os.Remove(w.f.Name())
}

// WriteFile writes data to rel through Create and Commit(true).
func (d *Dir) WriteFile(rel string, data []byte) (FileEntry, error) {
	f, err := d.Create(rel)
	if err != nil {
		return FileEntry{}, err
	}
	if _, err := f.Write(data); err != nil {
		f.Abort()
		return FileEntry{}, err
	}
	return f.Commit(true)
}

// SyncDir flushes a directory's entries (the names of files renamed into
// it) to disk.
func SyncDir(path string) error {
	d, err := os.Open(path)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// HashFile returns the entry of the file at root/rel as it is on disk.
func HashFile(root, rel string) (FileEntry, error) {
	f, err := os.Open(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		return FileEntry{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return FileEntry{}, err
	}
	return FileEntry{Path: rel, Bytes: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}
