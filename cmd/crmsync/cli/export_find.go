package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"crmsync/gdpr"
	"crmsync/pipeline"
)

// subjectFinder finds the subjects of one request in one CRM: by id with
// Get, by match value with Find, and by email with Find where the API's
// match field holds emails. Where it holds something else (a company's
// name) the API has no find-by-email: the finder walks the account's list
// once, under the reader's paging guards, for every subject of the
// request named by email, and notes the ids of the customers whose email
// fields hold one of them.
type subjectFinder struct {
	r pipeline.Reader
	// byWalk maps a folded email to the ids of the customers holding it,
	// in the order the walk met them; nil when no walk was needed.
	byWalk map[string][]string
}

// matchIsEmail reports whether the schema's match field holds emails, so
// that Find finds a customer by email.
func matchIsEmail(s *pipeline.Schema) bool {
	i := s.Index(s.MatchField)
	return i >= 0 && s.Fields[i].Kind == pipeline.KindEmail
}

// emailFields are the schema's fields that hold an email: those of the
// email kind, and those named email (alone or as the last part of a
// dotted name), which an API checking only their length keeps as text.
func emailFields(s *pipeline.Schema) []int {
	var out []int
	for i, f := range s.Fields {
		if f.Kind == pipeline.KindEmail || f.Name == "email" || strings.HasSuffix(f.Name, ".email") {
			out = append(out, i)
		}
	}
	return out
}

// newSubjectFinder returns the finder of subjects in the reader's CRM,
// having walked its list when a subject is named by email only and the
// API cannot find by email.
func newSubjectFinder(ctx context.Context, r pipeline.Reader, subjects []gdpr.Subject) (*subjectFinder, error) {
	f := &subjectFinder{r: r}
	schema := r.Schema()
	if matchIsEmail(schema) {
		return f, nil
	}
	wanted := map[string]bool{}
	for _, s := range subjects {
		if s.ID == "" && s.Match == "" && s.Email != "" {
			wanted[gdpr.FoldEmail(s.Email)] = true
		}
	}
	if len(wanted) == 0 {
		return f, nil
	}
	fields := emailFields(schema)
	if len(fields) == 0 {
		return nil, usageError("%s has no email field to find people by: name them by id or by %s", schema.API, matchName(schema))
	}
	f.byWalk = map[string][]string{}
	err := r.Walk(ctx, func(page []pipeline.Customer) error {
		for _, c := range page {
			var met []string // one customer may hold one email in two fields
			for _, i := range fields {
				if i >= len(c.Values) {
					continue
				}
				if e := gdpr.FoldEmail(c.Values[i]); e != "" && wanted[e] && !slices.Contains(met, e) {
					met = append(met, e)
					f.byWalk[e] = append(f.byWalk[e], c.ID)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the customers of %s to find people by email: %w", schema.API, err)
	}
	return f, nil
}

// find returns the customers the subject names: none, or one when named
// by id or match value (several sharing a match value is an error, see
// lookupSubject). By email every customer holding the email is the
// person's: a contact of two companies is found in both.
func (f *subjectFinder) find(ctx context.Context, s gdpr.Subject) ([]pipeline.Customer, error) {
	if s.ID == "" && s.Match == "" {
		if f.byWalk == nil {
			// The match field holds emails.
			s.Match = s.Email
		} else {
			return f.walked(ctx, s)
		}
	}
	c, err := lookupSubject(ctx, f.r, s)
	if err != nil || c == nil {
		return nil, err
	}
	return []pipeline.Customer{*c}, nil
}

// walked reads afresh the customers the walk found holding the subject's
// email, so that each is handed over as the API answers it for itself.
// One deleted since the walk is left out.
func (f *subjectFinder) walked(ctx context.Context, s gdpr.Subject) ([]pipeline.Customer, error) {
	var out []pipeline.Customer
	for _, id := range f.byWalk[gdpr.FoldEmail(s.Email)] {
		c, err := f.r.Get(ctx, id)
		if pipeline.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading a customer of row %d: %w", s.Row, err)
		}
		out = append(out, *c)
	}
	return out, nil
}
