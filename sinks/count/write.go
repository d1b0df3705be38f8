package count

import (
	"context"
	"fmt"
	"net/http"

	"crmsync/pipeline"
	"crmsync/pipeline/rowsink"
)

// Create implements rowsink.API: a POST of the fields that hold a value,
// each address an object of its parts, and the contact as COUNT's
// contacts list of one primary contact.
func (a *API) Create(ctx context.Context, w *rowsink.Write) (string, error) {
	return a.client.Create(ctx, createBody(w.Values, w.Send))
}

// createBody is the body that creates a customer: the fields marked in
// send that hold a value.
func createBody(values []string, send []bool) map[string]any {
	body := make(map[string]any, numFields)
	for f := range schema.Fields {
		field := &schema.Fields[f]
		if f >= len(send) || !send[f] || pipeline.IsEmpty(values[f]) {
			continue
		}
		out, _ := field.JSONValue(values[f])
		switch g := field.Group(); g {
		case "":
			body[field.Name] = out
		case groupContact:
			contacts, _ := body["contacts"].([]map[string]any)
			if contacts == nil {
				contacts = []map[string]any{{"primary": true}}
				body["contacts"] = contacts
			}
			contacts[0][field.Leaf()] = out
		default:
			obj, _ := body[g].(map[string]any)
			if obj == nil {
				obj = make(map[string]any, numAddressParts)
				body[g] = obj
			}
			obj[field.Leaf()] = out
		}
	}
	return body
}

// Update implements rowsink.API: a PUT of customer and email, which COUNT
// requires in every update, and of the fields w sends; an address whole
// whenever any part of it is sent (see addressBody); never the contact,
// which COUNT's update ignores.
//
// An update that changes the email first asks find-by-email whether
// another customer holds the new one, as COUNT's reference advises: when
// one does, nothing is written and the error is COUNT's email_exists for
// the row. A PUT answered 409 all the same (the email was taken between
// the two calls) is the same row reject.
func (a *API) Update(ctx context.Context, id string, w *rowsink.Write) error {
	if w.Send[fieldEmail] {
		if err := a.checkEmailFree(ctx, id, w.Values[fieldEmail]); err != nil {
			return err
		}
	}
	body := map[string]any{
		schema.Fields[fieldCustomer].Name: w.Values[fieldCustomer],
		schema.Fields[fieldEmail].Name:    w.Values[fieldEmail],
	}
	for f := fieldMainPhone; f < fieldBilling; f++ {
		if !w.Send[f] {
			continue
		}
		if out, ok := schema.Fields[f].JSONValue(w.Values[f]); ok {
			body[schema.Fields[f].Name] = out
		}
	}
	cur := w.Current
	for _, first := range []int{fieldBilling, fieldShipping} {
		addr, send, err := a.addressBody(ctx, id, w, first, &cur)
		if err != nil {
			return err
		}
		if send {
			body[schema.Fields[first].Group()] = addr
		}
	}
	return a.client.Update(ctx, id, body)
}

// checkEmailFree returns COUNT's email_exists, as a row's error, when
// find-by-email finds a customer other than id holding email.
func (a *API) checkEmailFree(ctx context.Context, id, email string) error {
	holders, err := a.Find(ctx, email)
	if err != nil {
		return err
	}
	for _, c := range holders {
		if c.ID != id {
			return pipeline.Permanent(&APIError{Code: codeEmailExists, Field: "email",
				Message: "find-by-email found another customer with the new email, so the update was not sent",
				Method:  http.MethodGet, Path: findRoute})
		}
	}
	return nil
}

// addressBody is what an update sends for the address whose first part
// is schema field first, and whether it sends it at all: only when w
// sends one of its parts, since COUNT replaces the address whole. Then
// every part is sent, each mapped one with the record's value and each
// one the mapping leaves alone with what COUNT holds (read once, into
// *cur, when the write did not bring it), so that an update never erases
// a part the mapping does not own; an empty part is left out, which
// COUNT's replacement empties. An address left without any part is
// sent as null, which is how COUNT removes one: a mapping removes an
// address by emptying every part it maps, of an address holding no other.
func (a *API) addressBody(ctx context.Context, id string, w *rowsink.Write, first int, cur **pipeline.Customer) (any, bool, error) {
	sent := false
	for f := first; f < first+numAddressParts; f++ {
		sent = sent || w.Send[f]
	}
	if !sent {
		return nil, false, nil
	}
	addr := make(map[string]any, numAddressParts)
	for f := first; f < first+numAddressParts; f++ {
		v := w.Values[f]
		if !a.partMapped(w, f) {
			if *cur == nil {
				c, err := a.Get(ctx, id)
				if err != nil {
					return nil, false, fmt.Errorf("count: reading the address the update replaces: %w", err)
				}
				*cur = c
			}
			v = (*cur).Values[f]
		}
		if !pipeline.IsEmpty(v) {
			addr[schema.Fields[f].Leaf()] = v
		}
	}
	if len(addr) == 0 {
		return nil, true, nil
	}
	return addr, true, nil
}

// partMapped reports whether the mapping fills address part f: what
// Prepare was told, or before it, whether w sends it.
func (a *API) partMapped(w *rowsink.Write, f int) bool {
	if a.mapped != nil {
		return f < len(a.mapped) && a.mapped[f]
	}
	return w.Send[f]
}
