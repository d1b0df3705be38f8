package tamio

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"crmsync/gdpr/layout"
	"crmsync/pipeline"
)

var _ layout.RelatedReader = (*reader)(nil)

// customerKeys are the documented keys of tamio's customer object, in its
// order, with their kinds. "object" is ignored: it is always "customer".
var customerKeys = []struct {
	key  string
	kind layout.Kind
}{
	{"id", layout.String}, {"email", layout.String}, {"name", layout.String}, {"last_name", layout.String},
	{"country", layout.String}, {"locale", layout.String}, {"timezone_offset", layout.String},
	{"category", layout.String}, {"priority", layout.String}, {"lead_status", layout.String},
	{"phone", layout.String}, {"stripe_customer_id", layout.String}, {"teammate_id", layout.String},
	{"affiliate_partner_id", layout.String}, {"has_notes", layout.Bool}, {"created_at", layout.Int64},
	{"direct_debits", layout.String}, {"client_id", layout.String},
}

// addressKeys are the documented keys of the address object, less
// "object" (always "address") and "shipping_address" (which the column's
// prefix already says), both ignored.
var addressKeys = []struct {
	key  string
	kind layout.Kind
}{
	{"id", layout.String}, {"name", layout.String}, {"last_name", layout.String}, {"email", layout.String},
	{"address", layout.String}, {"city", layout.String}, {"postcode", layout.String}, {"state", layout.String},
	{"country", layout.String}, {"locale", layout.String}, {"phone", layout.String}, {"company", layout.String},
	{"message", layout.String}, {"is_company", layout.Bool}, {"vat", layout.String}, {"verified_vat", layout.Bool},
	{"representative", layout.String},
}

// addressKinds are the customer object's two address keys.
var addressKinds = []string{"billing_address", "shipping_address"}

// teammateRecord names the related record of a customer's assigned
// teammate, in an export's subject files and in the table's columns.
const teammateRecord = "teammate"

// exportLayout is the table of a tamio export: the customer's keys, the
// assigned teammate's email and name, the billing and the shipping address
// flattened as billing_address_city and so on, then other_fields.
var exportLayout = func() *layout.Layout {
	l := &layout.Layout{Related: []string{teammateRecord}, Ignore: [][]string{{"object"}}, Normalize: normalizeAddresses}
	for _, k := range customerKeys {
		l.Columns = append(l.Columns, layout.Column{Name: k.key, Kind: k.kind, Path: []string{k.key}})
	}
	l.Columns = append(l.Columns,
		layout.Column{Name: "teammate_email", Related: teammateRecord, Path: []string{"email"}},
		layout.Column{Name: "teammate_name", Related: teammateRecord, Path: []string{"name"}})
	for _, a := range addressKinds {
		for _, k := range addressKeys {
			l.Columns = append(l.Columns, layout.Column{Name: a + "_" + k.key, Kind: k.kind, Path: []string{a, k.key}})
		}
		l.Ignore = append(l.Ignore, []string{a, "object"}, []string{a, "shipping_address"})
	}
	return l
}()

// normalizeAddresses reads an address given as the plural array some
// pages of the API documentation show (billing_addresses: [{…}]) instead
// of the documented object, as a client must accept both: its first
// address fills the columns. An array of one (or none) is then taken
// whole; of more, it stays among the other fields so the rest is kept.
func normalizeAddresses(obj map[string]json.RawMessage) {
	for _, kind := range addressKinds {
		if v := bytes.TrimSpace(obj[kind]); len(v) > 0 && v[0] == '{' {
			continue
		}
		plural, ok := obj[kind+"es"]
		if !ok {
			continue
		}
		var list []map[string]json.RawMessage
		if json.Unmarshal(plural, &list) != nil {
			continue
		}
		if len(list) <= 1 {
			delete(obj, kind+"es")
		}
		if len(list) > 0 {
			first, err := json.Marshal(list[0])
			if err == nil {
				obj[kind] = first
			}
		}
	}
}

// Related implements layout.RelatedReader: a customer's related record is
// the teammate it is assigned to, from the account's teammate list, read
// once; null for none, or for one the list lacks.
func (r *reader) Related(ctx context.Context) (func(context.Context, *pipeline.Customer) (map[string]json.RawMessage, error), error) {
	tms, err := r.client.Teammates(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the teammates: %w", err)
	}
	byID := make(map[string]json.RawMessage, len(tms))
	var buf bytes.Buffer
	for _, t := range tms {
		// As an export's files show text: without HTML escapes.
		buf.Reset()
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(t); err != nil {
			return nil, err
		}
		byID[strings.ToLower(t.ID)] = json.RawMessage(bytes.TrimSpace(bytes.Clone(buf.Bytes())))
	}
	return func(_ context.Context, c *pipeline.Customer) (map[string]json.RawMessage, error) {
		if len(c.Values) <= fieldTeammateID {
			return nil, nil
		}
		tm := byID[strings.ToLower(c.Values[fieldTeammateID])]
		if tm == nil {
			return nil, nil
		}
		return map[string]json.RawMessage{teammateRecord: tm}, nil
	}, nil
}
