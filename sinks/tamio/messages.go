package tamio

import (
	"fmt"
	"regexp"
	"strings"

	"crmsync/pipeline"
)

// bulkPrefix is how tamio names an element of a bulk body at the start of
// an error text ("customers[17]: "), an index into crmsync's own request
// that tells the person reading a reject nothing.
var bulkPrefix = regexp.MustCompile(`^[A-Za-z_]+\[\d+\](: |\.)?`)

// rowMessage says what tamio refused of this row in the row's terms: the
// field and its value as the row holds them, and what to do, rather than
// the API's words about crmsync's request body. rec is the row's record,
// or nil when none is at hand. It also returns the field to file the
// reject under: the one tamio named, less the bulk body's own member.
func rowMessage(e *APIError, rec *pipeline.Record) (field, msg string) {
	text := e.Message
	if e.Index >= 0 {
		text = bulkPrefix.ReplaceAllLiteralString(text, "")
	}
	field = e.Field
	i := schema.Index(field)
	switch {
	case field == "customers":
		// The body's list of customers: the row as a whole.
		text = strings.TrimPrefix(text, field+": ")
		field = ""
	case i >= 0:
		text = strings.TrimPrefix(text, field+": ")
	}
	value := ""
	if i >= 0 {
		value = rowValue(rec, i)
	}
	switch {
	case e.Code == CodeNotFound && field == "teammate_id":
		return field, fmt.Sprintf("teammate_id %s is not a teammate of this tamio account: map owners to teammates it has, "+
			`e.g. lookup("tamio:teammates", owner_email), or leave teammate_id empty`, quoteOr(value, text))
	case e.Code == CodeEmailUsed:
		return "email", fmt.Sprintf("email %s belongs to another tamio customer: merge the two customers in tamio, or correct the email in the source",
			quoteOr(rowValue(rec, fieldEmail), text))
	case e.Code == CodeCustomerExists:
		return "email", fmt.Sprintf("a tamio customer with email %s appeared while this run was creating one: run again, and it is updated",
			quoteOr(rowValue(rec, fieldEmail), text))
	case i >= 0 && value != "" && !strings.Contains(text, value):
		return field, fmt.Sprintf("tamio refused this row's %s %s: %s", field, pipeline.Quote(value), text)
	case i >= 0:
		return field, fmt.Sprintf("tamio refused this row's %s: %s", field, text)
	}
	// A field that is not one of the row's (a query parameter, an
	// address's member) stays in tamio's words.
	return field, "tamio refused this row: " + text
}

func rowValue(rec *pipeline.Record, field int) string {
	if rec == nil || field >= len(rec.Values) {
		return ""
	}
	return rec.Values[field]
}

// quoteOr quotes the row's value, or gives tamio's own words when the row
// is not at hand.
func quoteOr(value, text string) string {
	if value == "" {
		return "(" + text + ")"
	}
	return pipeline.Quote(value)
}
