package cli

// What export and erase share: the subjects file, read by the API's match
// field, the lookup of a subject, and the reader they look subjects up
// with.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"unicode/utf8"

	"crmsync/crm"
	"crmsync/gdpr"
	"crmsync/pipeline"
)

// subjectColumnsHelp names, for help texts, the column of match values a
// subjects file has for each API.
func subjectColumnsHelp() string {
	var fields []string
	apis := map[string][]string{}
	for _, c := range crm.All() {
		f := c.Schema.MatchField
		if f == "" {
			continue
		}
		if apis[f] == nil {
			fields = append(fields, f)
		}
		apis[f] = append(apis[f], c.Name)
	}
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = fmt.Sprintf("%q for %s", f, strings.Join(apis[f], ", "))
	}
	return strings.Join(parts, "; ")
}

// nonEmailMatchHelp names, for help texts, the APIs whose match field
// holds no email, with it: "name for X".
func nonEmailMatchHelp() string {
	var parts []string
	for _, c := range crm.All() {
		if c.Schema.MatchField != "" && !matchIsEmail(c.Schema) {
			parts = append(parts, fmt.Sprintf("%s for %s", c.Schema.MatchField, c.Name))
		}
	}
	if len(parts) == 0 {
		return "no API crmsync knows"
	}
	return strings.Join(parts, ", ")
}

// firstMatchField is the first API's match field, for examples.
func firstMatchField() string {
	if c, err := crm.Lookup(firstAPI()); err == nil {
		return c.Schema.MatchField
	}
	return ""
}

// connectorOf returns the connector --api names. Commands that read a
// subjects file need its schema before they resolve the target, so that
// a bad file is refused before a sandbox starts or anything is called.
func connectorOf(api string) (*crm.Connector, error) {
	if api == "" {
		return nil, usageError("--api is required: crmsync knows %s", strings.Join(crm.Names(), ", "))
	}
	c, err := crm.Lookup(api)
	if err != nil {
		return nil, usageError("%v", err)
	}
	return c, nil
}

// newReader returns the reader of the endpoint's API; its connections
// are let go of when the endpoint closes.
func newReader(ep *endpoint, log *slog.Logger, rate float64, concurrency int) (pipeline.Reader, error) {
	r, err := ep.api.NewReader(ep.config(log, rate, concurrency))
	if err != nil {
		return nil, pipeline.Fatalf("reading %s: %w", ep.api.Name, err)
	}
	return r, nil
}

// closeQuietly closes what a connector returned when it holds anything to
// close.
func closeQuietly(v any) {
	if c, ok := v.(io.Closer); ok {
		c.Close()
	}
}

// matchName names the match value's column in the files a run writes.
func matchName(s *pipeline.Schema) string {
	if s.MatchField == "" {
		return "match"
	}
	return s.MatchField
}

// lookupSubject returns the customer a subject names, or nil when the CRM
// does not hold it: by id when the subject has one, else by match value.
// A match value that several customers share names nobody for certain:
// handing over or deleting any of them could be another person's, so it
// is an error asking for the id.
func lookupSubject(ctx context.Context, r pipeline.Reader, s gdpr.Subject) (*pipeline.Customer, error) {
	if s.ID != "" {
		c, err := r.Get(ctx, s.ID)
		if pipeline.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading the customer of row %d: %w", s.Row, err)
		}
		return c, nil
	}
	schema := r.Schema()
	if i := schema.Index(schema.MatchField); i >= 0 && schema.Fields[i].MaxLen > 0 && utf8.RuneCountInString(s.Match) > schema.Fields[i].MaxLen {
		// Longer than the API takes, it names nobody, and a lookup
		// could be refused.
		return nil, nil
	}
	cs, err := r.Find(ctx, s.Match)
	if err != nil {
		return nil, fmt.Errorf("looking up the subject of row %d: %w", s.Row, err)
	}
	switch len(cs) {
	case 0:
		return nil, nil
	case 1:
		return &cs[0], nil
	}
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	slices.Sort(ids)
	return nil, pipeline.Fatalf("row %d of the subjects file names %d customers by its %s (%s): name the person by id instead",
		s.Row, len(cs), matchName(schema), strings.Join(ids, ", "))
}
