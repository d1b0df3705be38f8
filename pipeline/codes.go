package pipeline

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
)

// Code explains one reject code: what a row rejected with it means and
// what to change so that it goes through. Every code a Reject may carry
// is registered once, by the package that emits it, and `crmsync codes`,
// the README and report.html all explain codes from this one reference.
type Code struct {
	// Name is the code as the reject file's _code column holds it.
	Name  string
	Stage Stage
	// Meaning says what is wrong with the row, in a sentence.
	Meaning string
	// Fix says what the user changes: the source, the mapping, a flag.
	Fix string
}

// Reject codes the engine itself emits, besides the validation codes
// beside Validate and CodeNoID and CodeAmbiguousMatch beside Sink.
const (
	CodeDuplicateKey = "duplicate_key"
	CodeMaxBlank     = "max_blank"
	CodeNoOutcome    = "no_outcome"
	CodeUnknown      = "unknown"
	// CodeAPI is a sink's code for an API refusal the reference does not
	// explain; the message carries the API's own code and text.
	CodeAPI = "api"
	// CodeNotFound and CodeExists are a sink's codes for a row that
	// --mode update or --mode create leaves alone.
	CodeNotFound = "not_found"
	CodeExists   = "exists"
	// CodeEncoding is a source's code for a text value that is not valid
	// UTF-8, which every source shares.
	CodeEncoding = "encoding"
)

// Anchor is the id of the code's entry in the README's table and in
// report.html: "code-api-1002".
func (c Code) Anchor() string { return "code-" + string(c.Stage) + "-" + c.Name }

var codeRef struct {
	mu   sync.RWMutex
	list []Code
}

// RegisterCodes adds codes to the reference; a package calls it from init
// for the codes it emits. An entry without a name, stage, meaning or fix,
// or one registered twice at the same stage, panics: both are mistakes in
// the code, which the tests meet at once.
func RegisterCodes(cs ...Code) {
	codeRef.mu.Lock()
	defer codeRef.mu.Unlock()
	for _, c := range cs {
		if c.Name == "" || c.Stage == "" || c.Meaning == "" || c.Fix == "" {
			panic(fmt.Sprintf("pipeline.RegisterCodes: code %q at stage %q lacks a name, stage, meaning or fix", c.Name, c.Stage))
		}
		for _, o := range codeRef.list {
			if o.Name == c.Name && o.Stage == c.Stage {
				panic(fmt.Sprintf("pipeline.RegisterCodes: code %q at stage %q registered twice", c.Name, c.Stage))
			}
		}
		codeRef.list = append(codeRef.list, c)
	}
}

// stageOrder is the order in which a row meets the stages.
func stageOrder(s Stage) int {
	switch s {
	case StageRead:
		return 0
	case StageMap:
		return 1
	case StageValidate:
		return 2
	case StageAPI:
		return 3
	}
	return 4
}

// Codes returns every registered code, in the order a row meets their
// stages and then by name.
func Codes() []Code {
	codeRef.mu.RLock()
	out := slices.Clone(codeRef.list)
	codeRef.mu.RUnlock()
	slices.SortFunc(out, func(a, b Code) int {
		return cmp.Or(cmp.Compare(stageOrder(a.Stage), stageOrder(b.Stage)), cmp.Compare(a.Stage, b.Stage), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// LookupCode returns the entries of the code called name, one per stage
// that emits it (field_count is both a read and a map code), or none.
func LookupCode(name string) []Code {
	var out []Code
	for _, c := range Codes() {
		if c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

// KnownCode returns name when the reference explains it at stage, and
// fallback otherwise. A code computed at run time, such as an API's own
// error number, goes through it, so that no row carries a code the
// reference lacks.
func KnownCode(stage Stage, name, fallback string) string {
	codeRef.mu.RLock()
	defer codeRef.mu.RUnlock()
	for _, c := range codeRef.list {
		if c.Name == name && c.Stage == stage {
			return name
		}
	}
	return fallback
}

// DuplicateCode is the code of a row whose match value (matchField, such
// as "email") an earlier row of the input carries: "duplicate_email".
func DuplicateCode(matchField string) string { return "duplicate_" + matchField }

// OwnedCode is the code of a row whose match value led to a customer bound
// to another key (see OwnedReject): "email_owned".
func OwnedCode(matchField string) string { return matchField + "_owned" }

// MatchCodes are the entries of the codes named after s's match field,
// which a sink registers with its schema: DuplicateCode and OwnedCode.
func MatchCodes(s *Schema) []Code {
	mf := s.MatchField
	return []Code{
		{Name: DuplicateCode(mf), Stage: StageValidate,
			Meaning: fmt.Sprintf("an earlier row of the input carries the same %s; the first row that carries a %s owns it, whatever becomes of that row, because one CRM customer cannot hold two rows", mf, mf),
			Fix:     fmt.Sprintf("give each row its own %s, or merge the rows in the source; the reason names the row that owns it", mf)},
		{Name: OwnedCode(mf), Stage: StageAPI,
			Meaning: fmt.Sprintf("this %s leads to a CRM customer that the state binds to another key; writing would overwrite that key's customer, so nothing was written", mf),
			Fix:     fmt.Sprintf("give this row its own %s, or remove one of the two keys from the source (the reason names the other key)", mf)},
	}
}

// RegisterMatchCodes registers the codes named after s's match field, once
// however many connectors match by a field of that name.
func RegisterMatchCodes(s *Schema) {
	codeRef.mu.Lock()
	defer codeRef.mu.Unlock()
	for _, c := range MatchCodes(s) {
		known := false
		for _, o := range codeRef.list {
			known = known || (o.Name == c.Name && o.Stage == c.Stage)
		}
		if !known {
			codeRef.list = append(codeRef.list, c)
		}
	}
}

func init() {
	RegisterCodes(
		Code{Name: CodeEncoding, Stage: StageRead,
			Meaning: "a value is not valid UTF-8 text: the file is in another encoding, or mixes two",
			Fix:     "for a CSV file, pass its encoding (--encoding windows-1252, --encoding latin1); for Parquet, write the string column as UTF-8 again"},
		Code{Name: CodeRequired, Stage: StageValidate,
			Meaning: "a field the target needs holds no value: a field required to create a customer is empty on a new row, or a field the target requires on every update is empty",
			Fix:     "fill the column in the source, or give the field a default in the mapping (default(col, \"…\"))"},
		Code{Name: CodeTooLong, Stage: StageValidate,
			Meaning: "the value is longer than the target accepts for this field",
			Fix:     "shorten the value in the source, or cut it in the mapping (truncate(col, n))"},
		Code{Name: CodeEmail, Stage: StageValidate,
			Meaning: "the value is not a valid email address; the reason says what is wrong with it",
			Fix:     "correct the address in the source; email(col) in the mapping trims and lower-cases it"},
		Code{Name: CodeCountry, Stage: StageValidate,
			Meaning: "the value is not an ISO 3166-1 alpha-2 country code such as \"de\"",
			Fix:     "map country names and other codes with country(col) in the mapping"},
		Code{Name: CodeLocale, Stage: StageValidate,
			Meaning: "the value is not a language tag such as \"en\" or \"pt-BR\"",
			Fix:     "correct the value in the source, or map it with a lookup table"},
		Code{Name: CodeOffset, Stage: StageValidate,
			Meaning: "the value is not a UTC offset such as \"+02:00\"",
			Fix:     "correct the value in the source, or map it with a lookup table"},
		Code{Name: CodePhone, Stage: StageValidate,
			Meaning: "the value is not an E.164 phone number such as \"+4930123456\"",
			Fix:     "map the column with phone(col), and set options.phone_region in the mapping for numbers written without +"},
		Code{Name: CodeEnum, Stage: StageValidate,
			Meaning: "the value is not one of the values the field accepts; the reason lists them",
			Fix:     "map the source's values onto the accepted ones with a lookup table or an expression"},
		Code{Name: CodeUUID, Stage: StageValidate,
			Meaning: "the value is not a UUID, which the field (an id such as a teammate's) must be",
			Fix:     "look the id up in the mapping (lookup(\"table\", col)) rather than sending a name or an email"},
		Code{Name: CodeBool, Stage: StageValidate,
			Meaning: "the value is neither \"true\" nor \"false\"",
			Fix:     "map the source's values onto true and false in the mapping, with a lookup table or an expression such as col == \"yes\" ? \"true\" : \"false\""},
		Code{Name: CodeInt, Stage: StageValidate,
			Meaning: "the value is not a whole number (digits with an optional sign, at most 18 digits)",
			Fix:     "correct the value in the source, or strip units and separators in the mapping"},
		Code{Name: CodeDecimal, Stage: StageValidate,
			Meaning: "the value is not a decimal number written with digits and a point, without exponent",
			Fix:     "correct the value in the source, or replace a decimal comma in the mapping"},
		Code{Name: CodeDate, Stage: StageValidate,
			Meaning: "the value is not a calendar date YYYY-MM-DD, or not a real date (2023-02-30)",
			Fix:     "convert the source's dates with date(col, \"layout\") in the mapping"},
		Code{Name: CodeList, Stage: StageValidate,
			Meaning: "the value given for a list field is not a list",
			Fix:     "build the list in the mapping with split(col, \";\") or list(a, b)"},
		Code{Name: CodeNotClearable, Stage: StageValidate,
			Meaning: "the mapping sets the field to null(), but the target has no way to clear it",
			Fix:     "leave the field empty to keep what the CRM holds, or remove null() from the mapping"},
		Code{Name: CodeDuplicateKey, Stage: StageValidate,
			Meaning: "an earlier row of the input carries the same key; only the first row of a key is synced",
			Fix:     "remove the repeated rows from the source, or choose a key column that is unique"},
		Code{Name: CodeMaxBlank, Stage: StageValidate,
			Meaning: "not sent: the run would have blanked CRM values on more customers than --max-blank allows, the sign of a broken export",
			Fix:     "check the export for emptied columns; when the blanking is meant, raise --max-blank for this run"},
		Code{Name: CodeNoOutcome, Stage: StageAPI,
			Meaning: "the connector returned no outcome for this row: a bug in crmsync, and the row was not counted as written",
			Fix:     "run again (the row is retried) and report the bug with the run's log"},
		Code{Name: CodeUnknown, Stage: StageAPI,
			Meaning: "the connector rejected the row without a reason: a bug in crmsync",
			Fix:     "run again (the row is retried) and report the bug with the run's log"},
		Code{Name: CodeNoID, Stage: StageAPI,
			Meaning: "the target confirmed the write without naming the customer, so the row cannot be bound to its key",
			Fix:     "nothing: the next run finds the customer by its match value"},
		Code{Name: CodeAmbiguousMatch, Stage: StageAPI,
			Meaning: "the target answered inconsistently when asked for the customer with this match value; binding it could give one customer two keys",
			Fix:     "look the match value up in the CRM: merge or correct the customers it finds, then run again"},
		Code{Name: CodeAPI, Stage: StageAPI,
			Meaning: "the API refused the row with an error this reference does not explain; the reason holds the API's own code and text",
			Fix:     "read the reason, correct the row, and look the code up in the API's documentation"},
		Code{Name: CodeNotFound, Stage: StageAPI,
			Meaning: "--mode update found no customer with this match value, and that mode creates none",
			Fix:     "run with --mode upsert (the default) to create it, or correct the match value"},
		Code{Name: CodeExists, Stage: StageAPI,
			Meaning: "--mode create found a customer with this match value, and that mode updates none",
			Fix:     "run with --mode upsert (the default) to update it, or leave the row out"},
	)
}
