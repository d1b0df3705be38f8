package gdpr

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Names of the hidden directories a Staging keeps in the output
// directory while it works; whatever carries them is left over from a
// run that was killed, and is removed by the next.
const (
	stagingPrefix = ".crmsync-staging-"
	trashPrefix   = ".crmsync-trash-"
)

// Staging is a hidden directory inside an output directory where a run
// writes its files, to be published into the output directory as a
// whole when it is complete. Until then the previous run's files stay
// as they were; a killed run leaves only the hidden directory, which the
// next run removes.
//
// One run at a time may use an output directory.
type Staging struct {
	out  string
	dir  string
	done bool
}

// NewStaging creates out (with DirMode) when it does not exist, removes
// what killed runs left in it, and creates a staging directory in it.
func NewStaging(out string) (*Staging, error) {
	if err := os.MkdirAll(out, DirMode); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if n := e.Name(); strings.HasPrefix(n, stagingPrefix) || strings.HasPrefix(n, trashPrefix) {
			if err := os.RemoveAll(filepath.Join(out, n)); err != nil {
				return nil, fmt.Errorf("removing what a killed run left: %w", err)
			}
		}
	}
	dir, err := os.MkdirTemp(out, stagingPrefix+"*") // 0700
	if err != nil {
		return nil, err
	}
	return &Staging{out: out, dir: dir}, nil
}

// Path is the staging directory, to write the run's files in.
func (s *Staging) Path() string { return s.dir }

// Discard removes the staging directory and everything in it; the output
// directory is left as it was. It does nothing after Publish.
func (s *Staging) Discard() error {
	if s.done {
		return nil
	}
	s.done = true
	return os.RemoveAll(s.dir)
}

// Publish moves every entry of the staging directory into the output
// directory, replacing entries of the same name, and removes the entries
// of owned (names a run of this kind writes) that this run did not
// write, such as an earlier run's table in another format: what an
// erased subject left in an earlier export must not survive the next.
//
// The manifest, when there is one, is removed first and put in place
// last, so a manifest in the output directory always describes the files
// beside it; a run killed while publishing leaves none, and the next run
// publishes a complete export.
func (s *Staging) Publish(owned []string) error {
	if s.done {
		return errors.New("staging directory already published or discarded")
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	var names []string
	hasManifest := false
	for _, e := range entries {
		switch n := e.Name(); {
		case n == ManifestName:
			hasManifest = true
		case strings.HasPrefix(n, "."):
			// temporary files of this run (the file list)
		default:
			names = append(names, n)
		}
	}
	trash := filepath.Join(s.out, trashPrefix+filepath.Base(s.dir)[len(stagingPrefix):])
	if err := os.Mkdir(trash, DirMode); err != nil {
		return err
	}
	defer os.RemoveAll(trash)
	toTrash := func(name string) error {
		err := os.Rename(filepath.Join(s.out, name), filepath.Join(trash, name))
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	if err := toTrash(ManifestName); err != nil {
		return err
	}
	if err := SyncDir(s.out); err != nil {
		return err
	}
	for _, n := range names {
		dst := filepath.Join(s.out, n)
		// A directory cannot be renamed over one that holds files, and
		// is moved aside first; a file is replaced in one rename.
		if fi, err := os.Lstat(dst); err == nil && fi.IsDir() {
			if err := toTrash(n); err != nil {
				return err
			}
		}
		if err := os.Rename(filepath.Join(s.dir, n), dst); err != nil {
			return err
		}
	}
	for _, n := range owned {
		if !slices.Contains(names, n) && n != ManifestName {
			if err := toTrash(n); err != nil {
				return err
			}
		}
	}
	if err := SyncDir(s.out); err != nil {
		return err
	}
	if hasManifest {
		if err := os.Rename(filepath.Join(s.dir, ManifestName), filepath.Join(s.out, ManifestName)); err != nil {
			return err
		}
		if err := SyncDir(s.out); err != nil {
			return err
		}
	}
	s.done = true
	if err := os.RemoveAll(s.dir); err != nil {
		return err
	}
	return os.RemoveAll(trash)
}
