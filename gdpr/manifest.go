package gdpr

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"crmsync/internal/outdir"
)

// ManifestName is the manifest's file name. It is never encrypted: it
// holds no personal data (counts, hashes, the target, a fingerprint of
// the key), and a recipient checks the encrypted files against it before
// decrypting anything.
const ManifestName = "manifest.json"

// FileList collects the entries of the files an export writes. An export
// of a whole account writes a file per customer, so the list is spilled
// to a temporary file rather than held in memory.
type FileList struct {
	f   *os.File
	w   *bufio.Writer
	n   int
	err error
}

// NewFileList starts a list spilled to a temporary file in dir.
func NewFileList(dir string) (*FileList, error) {
	f, err := os.CreateTemp(dir, ".files-*.jsonl")
	if err != nil {
		return nil, err
	}
	return &FileList{f: f, w: bufio.NewWriter(f)}, nil
}

// Add records a file.
func (l *FileList) Add(e FileEntry) error {
	if l.err != nil {
		return l.err
	}
	b, err := json.Marshal(e)
	if err == nil {
		b = append(b, '\n')
		_, err = l.w.Write(b)
	}
	if err != nil {
		l.err = fmt.Errorf("recording the file list: %w", err)
		return l.err
	}
	l.n++
	return nil
}

// Len returns the number of files recorded.
func (l *FileList) Len() int { return l.n }

// Close removes the spill file.
func (l *FileList) Close() error {
	err := l.f.Close()
	if rerr := os.Remove(l.f.Name()); err == nil && !errors.Is(rerr, os.ErrNotExist) {
		err = rerr
	}
	return err
}

// Each calls fn with every entry recorded, in the order they were added.
func (l *FileList) Each(fn func(FileEntry) error) error {
	return l.eachLine(func(line []byte) error {
		var e FileEntry
		if err := json.Unmarshal(line, &e); err != nil {
			return fmt.Errorf("reading the file list: %w", err)
		}
		return fn(e)
	})
}

// eachLine calls fn with the JSON of every entry recorded; fn must not
// keep the line.
func (l *FileList) eachLine(fn func([]byte) error) error {
	if l.err != nil {
		return l.err
	}
	if err := l.w.Flush(); err != nil {
		return err
	}
	if _, err := l.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	// Adds after this go on at the end.
	defer l.f.Seek(0, io.SeekEnd)
	sc := bufio.NewScanner(l.f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if err := fn(sc.Bytes()); err != nil {
			return err
		}
	}
	return sc.Err()
}

// WriteManifest writes d.Root/manifest.json: the fields of header (a
// struct that marshals to a JSON object), then "files", the entries of
// each list in turn, in the order they were added. It is written plain
// whatever the directory's recipients, and synced.
func WriteManifest(d *Dir, header any, lists ...*FileList) (err error) {
	head, err := json.MarshalIndent(header, "", "  ")
	if err != nil {
		return err
	}
	head = bytes.TrimRight(head, "\n")
	if len(head) < 2 || head[0] != '{' || head[len(head)-1] != '}' {
		return errors.New("manifest header is not a JSON object")
	}
	head = bytes.TrimRight(head[:len(head)-1], " \n")
	plain := &Dir{Root: d.Root}
	out, err := plain.Create(ManifestName)
	if err != nil {
		return err
	}
	defer out.Abort()
	bw := bufio.NewWriter(out)
	bw.Write(head)
	if len(head) > 1 {
		bw.WriteString(",")
	}
	bw.WriteString("\n  \"files\": [")
	n := 0
	for _, files := range lists {
		err := files.eachLine(func(line []byte) error {
			if n > 0 {
				bw.WriteString(",")
			}
			n++
			bw.WriteString("\n    ")
			_, err := bw.Write(line)
			return err
		})
		if err != nil {
			return err
		}
	}
	if n > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteString("]\n}\n")
	if err := bw.Flush(); err != nil {
		return err
	}
	_, err = out.Commit(true)
	return err
}

// ReadManifest reads the file entries of dir/manifest.json, and the rest
// of it into header (which may be nil).
func ReadManifest(dir string, header any) ([]FileEntry, error) {
	data, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		return nil, err
	}
	var m struct {
		Files []FileEntry `json:"files"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", ManifestName, err)
	}
	if header != nil {
		if err := json.Unmarshal(data, header); err != nil {
			return nil, fmt.Errorf("%s: %w", ManifestName, err)
		}
	}
	return m.Files, nil
}

// VerifyManifest checks every file dir/manifest.json lists against its
// size and SHA-256, and that the directory holds no file it does not
// list (the manifest itself and the lock file of a run aside). It returns the entries checked.
func VerifyManifest(dir string) ([]FileEntry, error) {
	files, err := ReadManifest(dir, nil)
	if err != nil {
		return nil, err
	}
	listed := make(map[string]bool, len(files))
	var problems []string
	for _, want := range files {
		if want.Path == "" || strings.HasPrefix(want.Path, "/") || strings.Contains("/"+want.Path+"/", "/../") {
			problems = append(problems, fmt.Sprintf("%q is not a path inside the export", want.Path))
			continue
		}
		listed[want.Path] = true
		got, err := HashFile(dir, want.Path)
		switch {
		case err != nil:
			problems = append(problems, err.Error())
		case got != want:
			problems = append(problems, fmt.Sprintf("%s: %d bytes with SHA-256 %s; the manifest says %d bytes, %s", want.Path, got.Bytes, got.SHA256, want.Bytes, want.SHA256))
		}
	}
	err = filepath.WalkDir(dir, func(path string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		// The lock file is a run's, not the export's: a killed run
		// leaves it.
		if rel = filepath.ToSlash(rel); rel != ManifestName && rel != outdir.LockName && !listed[rel] {
			problems = append(problems, rel+": not in the manifest")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		const show = 10
		more := ""
		if len(problems) > show {
			more = fmt.Sprintf(" (and %d more)", len(problems)-show)
			problems = problems[:show]
		}
		return files, fmt.Errorf("the export does not match its manifest: %s%s", strings.Join(problems, "; "), more)
	}
	return files, nil
}
