package gdpr

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"crmsync/internal/outdir"
)

// Names of the hidden directories a Staging keeps in the output
// directory while it works; whatever carries them is left over from a
// run that was killed, and is removed by the next.
const (
	stagingPrefix = ".crmsync-staging-"
	trashPrefix   = ".crmsync-trash-"
)

// Staging is a hidden directory inside an output directory where an
// export writes its files, to be published into the output directory as
// a whole when it is complete. Until then the previous export's files
// stay as they were; a killed run leaves only the hidden directory, which
// the next run removes.
//
// An export replaces or removes only what an earlier export wrote, as its
// manifest lists it: a directory holding other files and no manifest is
// refused, and files of the user's beside an export are left alone.
//
// One run at a time may use an output directory: the caller holds its
// lock (outdir.Lock) from before NewStaging to after Publish or Discard.
type Staging struct {
	out  string
	dir  string
	kind string
	// owned are the files (slash-separated paths) that earlier exports'
	// manifests list, and ownedDirs the directories above them: what a
	// run may replace or remove.
	owned     map[string]bool
	ownedDirs map[string]bool
	done      bool
}

// ForeignError is the error of NewStaging and Publish for an output
// directory holding files that no earlier export wrote, where an export
// would replace or remove them.
type ForeignError struct {
	Dir string
	// Paths are a few of those files, relative to Dir, slash-separated.
	Paths []string
	// NoManifest is set when the directory holds no manifest of an
	// export (of this kind) at all.
	NoManifest bool
}

func (e *ForeignError) Error() string {
	names := strings.Join(e.Paths, ", ")
	if e.NoManifest {
		return fmt.Sprintf("%s holds files that no crmsync export wrote (%s), and no %s of a crmsync export", e.Dir, names, ManifestName)
	}
	return fmt.Sprintf("%s holds files that the last export's manifest does not list, where this export writes (%s)", e.Dir, names)
}

// maxForeign is how many foreign files a ForeignError names.
const maxForeign = 3

// NewStaging prepares out for an export of kind (the manifest's "kind")
// that may write the top-level entries names: it creates out (with
// DirMode) when it does not exist, checks that out is empty or holds an
// earlier export of that kind, and that whatever of names is in out was
// written by such an export (a *ForeignError otherwise, before anything
// is changed), removes what killed runs left in it, and creates a staging
// directory in it.
func NewStaging(out, kind string, names []string) (*Staging, error) {
	if err := os.MkdirAll(out, DirMode); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		return nil, err
	}
	s := &Staging{out: out, kind: kind, owned: map[string]bool{}, ownedDirs: map[string]bool{}}
	var others, leftovers []string
	hasManifest := false
	for _, e := range entries {
		switch n := e.Name(); {
		case n == outdir.LockName:
		case strings.HasPrefix(n, stagingPrefix) || strings.HasPrefix(n, trashPrefix):
			if e.IsDir() {
				leftovers = append(leftovers, n)
			} else {
				others = append(others, n)
			}
		case n == ManifestName:
			hasManifest = true
		default:
			others = append(others, n)
		}
	}
	if hasManifest && !s.addManifest(out) {
		others = append([]string{ManifestName}, others...)
		return nil, &ForeignError{Dir: out, Paths: others[:min(len(others), maxForeign)], NoManifest: true}
	}
	found := hasManifest
	// A run killed while publishing left the manifest of the export
	// before it in its trash directory, and its own in its staging
	// directory; the files of both may be in out.
	for _, l := range leftovers {
		if s.addManifest(filepath.Join(out, l)) {
			found = true
		}
	}
	if !found && len(others) > 0 {
		return nil, &ForeignError{Dir: out, Paths: others[:min(len(others), maxForeign)], NoManifest: true}
	}
	if err := s.checkReplaceable(names); err != nil {
		return nil, err
	}
	for _, l := range leftovers {
		if err := os.RemoveAll(filepath.Join(out, l)); err != nil {
			return nil, fmt.Errorf("removing what a killed run left: %w", err)
		}
	}
	if s.dir, err = os.MkdirTemp(out, stagingPrefix+"*"); err != nil { // 0700
		return nil, err
	}
	return s, nil
}

// addManifest adds the files the manifest in dir lists to what a run may
// replace, when it is the manifest of an export of s.kind.
func (s *Staging) addManifest(dir string) bool {
	var h struct {
		Kind string `json:"kind"`
	}
	files, err := ReadManifest(dir, &h)
	if err != nil || h.Kind != s.kind {
		return false
	}
	for _, f := range files {
		p := f.Path
		if p == "" || p == ManifestName || path.IsAbs(p) || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") {
			continue
		}
		s.owned[p] = true
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			s.ownedDirs[d] = true
		}
	}
	return true
}

// checkReplaceable returns a *ForeignError when an entry of out named in
// names holds anything an earlier export did not write.
func (s *Staging) checkReplaceable(names []string) error {
	var foreign []string
	for _, n := range names {
		foreign = append(foreign, s.foreignUnder(n)...)
		if len(foreign) >= maxForeign {
			break
		}
	}
	if len(foreign) > 0 {
		return &ForeignError{Dir: s.out, Paths: foreign[:min(len(foreign), maxForeign)]}
	}
	return nil
}

// foreignUnder returns up to maxForeign paths at or under rel (a
// top-level entry of out) that no earlier export wrote. A link is judged
// as a name, never followed.
func (s *Staging) foreignUnder(rel string) []string {
	fi, err := os.Lstat(filepath.Join(s.out, rel))
	switch {
	case err != nil:
		return nil // absent (or unreadable, which the rename will say)
	case !fi.IsDir():
		if s.owned[rel] {
			return nil
		}
		return []string{rel}
	case !s.ownedDirs[rel]:
		if !holdsFiles(filepath.Join(s.out, rel)) {
			return nil
		}
		return []string{rel + "/"}
	}
	var foreign []string
	errEnough := errors.New("enough")
	filepath.WalkDir(filepath.Join(s.out, rel), func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		r, err := filepath.Rel(s.out, p)
		if err != nil {
			return err
		}
		r = filepath.ToSlash(r)
		switch {
		case r == rel:
			return nil
		case e.IsDir() && !s.ownedDirs[r]:
			if !holdsFiles(p) {
				return fs.SkipDir
			}
			foreign = append(foreign, r+"/")
			if len(foreign) >= maxForeign {
				return errEnough
			}
			return fs.SkipDir
		case !e.IsDir() && !s.owned[r]:
			foreign = append(foreign, r)
			if len(foreign) >= maxForeign {
				return errEnough
			}
		}
		return nil
	})
	return foreign
}

// holdsFiles says a directory holds anything but directories, at any
// depth. An export leaves a folder empty where a CRM held none of the
// people (its subjects/), and its manifest, which lists files, cannot
// name it: such a tree holds nothing to lose. An unreadable one counts
// as holding files.
func holdsFiles(dir string) bool {
	found := errors.New("found")
	err := filepath.WalkDir(dir, func(_ string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() {
			return found
		}
		return nil
	})
	return err != nil
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
// directory, replacing entries of the same name, and removes what earlier
// exports wrote (their manifests list it) that this run did not write,
// such as an earlier run's table in another format: what an erased
// subject left in an earlier export must not survive the next. Nothing
// else in the output directory is touched. An entry this run would
// replace that holds files no export wrote (put there while the run
// went on) is a *ForeignError, with the output directory left as it was.
//
// The manifest, when there is one, is removed first and put in place
// last, so a manifest in the output directory always describes the files
// beside it; a run killed while publishing leaves none in the output
// directory (the next run finds it in the hidden ones), and the next run
// publishes a complete export.
func (s *Staging) Publish() error {
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
	if err := s.checkReplaceable(names); err != nil {
		return err
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
	if err := s.removeStale(names, toTrash); err != nil {
		return err
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

// removeStale removes what earlier exports wrote outside the entries
// this run published: a top-level entry wholly theirs goes to the trash,
// and from one that also holds files of the user's only the files they
// listed (and the directories that leaves empty) are removed.
func (s *Staging) removeStale(published []string, toTrash func(string) error) error {
	entries, err := os.ReadDir(s.out)
	if err != nil {
		return err
	}
	for _, e := range entries {
		n := e.Name()
		if slices.Contains(published, n) || n == ManifestName || (!s.owned[n] && !s.ownedDirs[n]) {
			continue
		}
		if len(s.foreignUnder(n)) == 0 {
			if err := toTrash(n); err != nil {
				return err
			}
			continue
		}
		var dirs []string
		err := filepath.WalkDir(filepath.Join(s.out, n), func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			r, err := filepath.Rel(s.out, p)
			if err != nil {
				return err
			}
			switch r = filepath.ToSlash(r); {
			case e.IsDir() && s.ownedDirs[r]:
				dirs = append(dirs, p)
			case e.IsDir():
				return fs.SkipDir
			case s.owned[r]:
				return os.Remove(p)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, d := range slices.Backward(dirs) {
			os.Remove(d) // fails, as it should, on one still holding files
		}
	}
	return nil
}
