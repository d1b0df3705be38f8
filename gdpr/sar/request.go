package sar

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Request is one subject-access request as answered: what the reports
// are made of. It names no CLI flag and no API; the export fills it.
type Request struct {
	Controller *Controller
	// RequestID is the controller's reference for the request; optional.
	RequestID string
	// RequestedAt is when the request was received; zero when not given.
	RequestedAt time.Time
	// AnsweredAt is when the data was read from the CRMs.
	AnsweredAt time.Time
	Subjects   []Subject
	// Files are the files of the export other than the cover report and
	// the manifest, as the manifest lists them.
	Files []File
	// Problems are what the export could not read, in words that quote
	// no personal value.
	Problems []string
}

// Subject is one person of a request.
type Subject struct {
	// ID names the subject's page: subjects/<ID>.html. It must be a file
	// name that reveals nothing personal (see PageName).
	ID string
	// Named is how the request named the person (an email, a customer
	// id), shown on their own page only: the cover report lists it too,
	// as it is given to the controller's staff.
	Named    string
	Holdings []Holding
	// NotFoundIn names the CRMs that hold nothing on the person.
	NotFoundIn []string
	// NotReadIn names the CRMs that could not be read, so that what they
	// hold on the person, if anything, is missing from the answer.
	NotReadIn []string
}

// Holding is what one CRM holds on a subject.
type Holding struct {
	// Target is the CRM's remote or target name; API its API. Together
	// they pick the controller file's entry (Controller.For).
	Target, API string
	// Title names the CRM in plain words; "" takes the controller
	// file's title, then the target's name.
	Title      string
	CustomerID string
	// Fields are what the CRM holds, in the order it answered them;
	// empty values are left out when rendered.
	Fields []Field
	// Copy is the path of the machine-readable copy (the customer's JSON
	// file) relative to the export's top directory.
	Copy string
}

// Field is one value a CRM holds, named by its path in the CRM's answer
// ("billing_address.city", "tags", "custom_fields.vip").
type Field struct {
	Name, Value string
}

// File is a file of the export with the SHA-256 the manifest gives it.
type File struct {
	Path   string
	Bytes  int64
	SHA256 string
}

// PageName is the path of a subject's page relative to the export's top
// directory.
func PageName(id string) string { return "subjects/" + id + ".html" }

// FieldsFromJSON flattens a CRM's answer into fields, in the order of its
// keys: a nested object's values are named by their dotted path
// ("address.city"), a list of texts or numbers becomes one value joined
// by ", ", a list of objects numbers its items ("contacts.1.email").
// Nulls, empty texts, lists and objects are left out; false and 0 are
// values. prefix, when given, starts every name ("owner.email" for the
// record "owner").
func FieldsFromJSON(prefix string, raw json.RawMessage) ([]Field, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out []Field
	if err := flatten(dec, prefix, &out); err != nil {
		return nil, fmt.Errorf("reading the CRM's answer: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("reading the CRM's answer: text after its end")
	}
	return out, nil
}

// flatten reads one JSON value from dec into fields under name.
func flatten(dec *json.Decoder, name string, out *[]Field) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				if err := flatten(dec, dotted(name, k.(string)), out); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		case '[':
			// A list of plain values reads as one value; a list of
			// objects keeps each item's fields under its number.
			var items [][]Field
			plain := true
			for i := 1; dec.More(); i++ {
				n := dotted(name, strconv.Itoa(i))
				var item []Field
				if err := flatten(dec, n, &item); err != nil {
					return err
				}
				if len(item) == 0 {
					continue
				}
				plain = plain && len(item) == 1 && item[0].Name == n
				items = append(items, item)
			}
			if plain && len(items) > 0 {
				vals := make([]string, len(items))
				for i, item := range items {
					vals[i] = item[0].Value
				}
				*out = append(*out, Field{name, strings.Join(vals, ", ")})
			} else {
				for _, item := range items {
					*out = append(*out, item...)
				}
			}
			_, err = dec.Token()
			return err
		}
	case nil:
	case string:
		if strings.TrimSpace(t) != "" {
			*out = append(*out, Field{name, t})
		}
	case bool:
		*out = append(*out, Field{name, strconv.FormatBool(t)})
	case json.Number:
		*out = append(*out, Field{name, t.String()})
	}
	return nil
}

func dotted(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}
