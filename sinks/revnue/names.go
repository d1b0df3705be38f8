package revnue

import (
	"context"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"crmsync/pipeline"
)

// nameIndex maps the company's customer names, folded as Revnue compares
// them, to their ids: Revnue has no way to find a customer by name but
// reading the list, so Find reads it once (or takes what a walk read) and
// looks names up here. It learns the customers the connector creates and
// renames. A create refused because the name is taken marks it stale: the
// customer holding the name is one it does not know (created since, or
// by a create whose answer was lost), and the next lookup that misses
// reads the list's last pages again. Safe for concurrent use.
type nameIndex struct {
	load sync.Mutex // held while the list is read, so it is read once

	mu       sync.Mutex
	loaded   bool
	stale    bool
	lastPage int                 // the last page of the list read
	ids      map[string][]string // folded name → ids
	byID     map[string]string   // id → folded name
}

// add notes customers read or created.
func (x *nameIndex) add(cs []pipeline.Customer) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for i := range cs {
		x.put(cs[i].ID, cs[i].Values[fieldName])
	}
}

// put notes that customer id has the name, forgetting its old one.
func (x *nameIndex) put(id, name string) {
	if x.ids == nil {
		x.ids, x.byID = map[string][]string{}, map[string]string{}
	}
	key := foldName(name)
	if old, ok := x.byID[id]; ok {
		if old == key {
			return
		}
		x.ids[old] = slices.DeleteFunc(x.ids[old], func(o string) bool { return o == id })
		if len(x.ids[old]) == 0 {
			delete(x.ids, old)
		}
	}
	x.byID[id] = key
	if key != "" {
		x.ids[key] = append(x.ids[key], id)
	}
}

// rename notes a name an update gave customer id.
func (x *nameIndex) rename(id, name string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.loaded {
		x.put(id, name)
	}
}

// complete notes that a walk from the first page read the whole list,
// up to page last.
func (x *nameIndex) complete(last int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.loaded, x.stale, x.lastPage = true, false, last
}

func (x *nameIndex) markStale() {
	x.mu.Lock()
	x.stale = true
	x.mu.Unlock()
}

// lookup returns the ids listed under the name, whether the index holds
// the whole list, and whether it is stale.
func (x *nameIndex) lookup(name string) (ids []string, loaded, stale bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return slices.Clone(x.ids[foldName(name)]), x.loaded, x.stale
}

// Find implements pipeline.Reader: the customers of the company whose
// name equals match as Revnue compares names (trimmed, without regard to
// case), read afresh with a Get each, so that an update replaces what
// Revnue holds now. The first Find of a run that has not walked the list
// reads it whole (a page a hundred customers); after a create met a taken
// name, a Find that misses reads the list again from its last page read.
// A customer renamed since the list was read is not found under its old
// name.
func (a *API) Find(ctx context.Context, match string) ([]pipeline.Customer, error) {
	if strings.TrimSpace(match) == "" {
		return nil, nil
	}
	ids, loaded, stale := a.names.lookup(match)
	if loaded && len(ids) == 0 {
		// Another Find may be walking the list for a create whose answer
		// was lost, having taken the stale mark this one would act on:
		// the customer this one looks for may be on the pages it reads.
		// Wait for that walk before concluding there is none.
		a.names.load.Lock()
		//lint:ignore SA2001 an empty section: waiting for the walk is the point
		a.names.load.Unlock()
		ids, loaded, stale = a.names.lookup(match)
	}
	if !loaded || len(ids) == 0 && stale {
		if err := a.readNames(ctx); err != nil {
			return nil, err
		}
		ids, _, _ = a.names.lookup(match)
	}
	var out []pipeline.Customer
	for _, id := range ids {
		c, err := a.Get(ctx, id)
		if pipeline.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if foldName(c.Values[fieldName]) == foldName(match) {
			out = append(out, *c)
		}
	}
	return out, nil
}

// readNames reads the whole list into the name index, or, when it holds
// it already and is stale, the list from its last page read on, where
// customers created since lie.
func (a *API) readNames(ctx context.Context) error {
	a.names.load.Lock()
	defer a.names.load.Unlock()
	a.names.mu.Lock()
	loaded, stale, last := a.names.loaded, a.names.stale, a.names.lastPage
	a.names.stale = false
	a.names.mu.Unlock()
	switch {
	case !loaded:
		_, err := a.walkFrom(ctx, 1, nil)
		return err
	case stale:
		n, err := a.walkFrom(ctx, max(last, 1), nil)
		if err == nil {
			a.names.mu.Lock()
			a.names.lastPage = max(a.names.lastPage, n)
			a.names.mu.Unlock()
		}
		return err
	}
	return nil
}

// foldName is a name as Revnue compares it: trimmed, and each character
// replaced by the smallest of those Unicode simple case folding makes
// equal to it, so that two names have one key exactly when
// strings.EqualFold says they are equal (the emulator's decision,
// shared/api/revnue.md).
func foldName(v string) string {
	v = strings.TrimSpace(v)
	ascii := true
	for i := 0; i < len(v); i++ {
		if v[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToUpper(v)
	}
	return strings.Map(func(r rune) rune {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		return m
	}, v)
}
