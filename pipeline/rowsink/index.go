package rowsink

import (
	"context"
	"fmt"
	"hash/maphash"
	"strings"
	"unicode"
	"unicode/utf8"

	"crmsync/internal/httpapi"
	"crmsync/pipeline"
)

// index is what the sink knows of the whole account after a walk: each
// customer's id and, per mapped field, a hash of its value, so a record
// is compared without keeping the account's values (a customer costs its
// id, its match value and 8 bytes a mapped field). A changed value that
// hashes like the old one goes unnoticed with odds of 1 in 2^64. It is
// built in Prepare and only read afterwards, from any goroutine.
type index struct {
	seed    maphash.Seed
	slot    []int // schema field → its place in an entry's sums, or -1
	width   int
	byMatch map[string]int32 // match key (see matchKey) → entry
	byID    map[string]int32
	ids     []string
	sums    []uint64
	// ambiguous marks the entries the account lists under another match
	// value too, or whose match value it lists under another id too.
	ambiguous map[int32]bool
}

// entry is what the index holds for one customer.
type entry struct {
	id        string
	sums      []uint64
	ambiguous bool
}

func newIndex(s *pipeline.Schema, mapped []bool) *index {
	ix := &index{seed: maphash.MakeSeed(), slot: make([]int, len(s.Fields)),
		byMatch: map[string]int32{}, byID: map[string]int32{}, ambiguous: map[int32]bool{}}
	for f := range s.Fields {
		ix.slot[f] = -1
		if f < len(mapped) && mapped[f] {
			ix.slot[f] = ix.width
			ix.width++
		}
	}
	return ix
}

func (ix *index) sum(s *pipeline.Schema, f int, v string) uint64 {
	return maphash.String(ix.seed, comparable(&s.Fields[f], v))
}

// add indexes one page of a walk.
func (ix *index) add(s *pipeline.Schema, match int, fold bool, page []pipeline.Customer) error {
	for i := range page {
		c := &page[i]
		if c.ID == "" {
			return pipeline.Fatalf("%s listed a customer without an id: it cannot be matched or written to", s.API)
		}
		key := ""
		if match >= 0 && match < len(c.Values) {
			key = matchKey(c.Values[match], fold)
		}
		if n, seen := ix.byID[c.ID]; seen {
			// The same customer listed twice: harmless under one match
			// value, a broken or hostile answer under two.
			if m, ok := ix.byMatch[key]; !ok || m != n {
				ix.ambiguous[n] = true
				if key != "" {
					if ok {
						ix.ambiguous[m] = true
					}
					ix.byMatch[key] = n
				}
			}
			continue
		}
		n := int32(len(ix.ids))
		ix.ids = append(ix.ids, c.ID)
		ix.byID[c.ID] = n
		for f := range s.Fields {
			if ix.slot[f] >= 0 {
				v := ""
				if f < len(c.Values) {
					v = c.Values[f]
				}
				ix.sums = append(ix.sums, ix.sum(s, f, v))
			}
		}
		if key == "" {
			continue
		}
		if m, ok := ix.byMatch[key]; ok {
			// Two customers under one match value: which one a record
			// of that value means cannot be told.
			ix.ambiguous[m], ix.ambiguous[n] = true, true
			continue
		}
		ix.byMatch[key] = n
	}
	return nil
}

func (ix *index) entry(n int32) *entry {
	return &entry{id: ix.ids[n], sums: ix.sums[int(n)*ix.width : int(n+1)*ix.width], ambiguous: ix.ambiguous[n]}
}

// lookup returns the entry of a match value, or nil.
func (ix *index) lookup(match string, fold bool) *entry {
	key := matchKey(match, fold)
	if key == "" {
		return nil
	}
	n, ok := ix.byMatch[key]
	if !ok {
		return nil
	}
	return ix.entry(n)
}

// lookupID returns the entry of a customer id, or nil when the account
// did not list it.
func (ix *index) lookupID(id string) *entry {
	n, ok := ix.byID[id]
	if !ok {
		return nil
	}
	return ix.entry(n)
}

// walk reads the whole account into a new index. The connector's Walk
// guards its paging; a guard here also stops a walk whose pages repeat,
// whatever the connector checks.
func (s *Sink) walk(ctx context.Context) (*index, error) {
	ix := newIndex(s.schema, s.plan.Mapped)
	guard := httpapi.NewPageGuard(s.schema.API + " customers")
	err := s.api.Walk(ctx, func(page []pipeline.Customer) error {
		if err := guard.Page(len(page), func(i int) string { return page[i].ID }); err != nil {
			return err
		}
		return ix.add(s.schema, s.match, s.schema.MatchFold, page)
	})
	if err != nil {
		return nil, asFatal(fmt.Errorf("%s: indexing the account: %w", s.schema.API, err))
	}
	return ix, nil
}

// comparable is a value in the form two values of the field compare in:
// an empty list is no value, as a cleared list is.
func comparable(f *pipeline.Field, v string) string {
	if v == pipeline.Null || f.Kind == pipeline.KindList && v == "[]" {
		return ""
	}
	return v
}

// matchKey is a match value as the target compares it: trimmed, and when
// it folds case, each character replaced by the smallest of the
// characters Unicode simple case folding makes equal to it, so that two
// values have one key exactly when strings.EqualFold says they are equal.
func matchKey(v string, fold bool) string {
	v = strings.TrimSpace(v)
	if !fold {
		return v
	}
	ascii := true
	for i := 0; i < len(v); i++ {
		if v[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		// The smallest of an ASCII letter's equals is its upper case.
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

// sameMatch reports whether the target holds the match value want for a
// customer whose match value is got.
func sameMatch(got, want string, fold bool) bool {
	got, want = strings.TrimSpace(got), strings.TrimSpace(want)
	if fold {
		return strings.EqualFold(got, want)
	}
	return got == want
}
