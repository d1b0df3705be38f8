// Package revnue is the connector for Revnue's API v2, customers
// (shared/api/revnue.md): its schema, its client on package httpapi, its
// reader ([API]), and its sink, the per-row sink of package rowsink on
// that API, since Revnue has no bulk endpoints. Its emulator is package
// revnuetest.
//
// # The whole-record PUT
//
// Revnue updates a customer with a PUT that replaces the whole record:
// every field it does not send becomes null (the signed flags false),
// custom template values included. A sink that sent only the mapped
// fields would erase everything else the sales team entered. So the
// schema says UpdateReplaces, and every update is the complete customer:
// rowsink hands the connector the values Revnue holds with the mapped
// ones written over them, and the customer as read (Write.Current), from
// which the connector carries over the template values the mapping does
// not name.
//
// Reading each customer before its PUT would double the calls. Instead
// the customers a batch updates are read together, right before the
// batch's writes, from the list pages that hold them ([API.Current],
// rowsink.BatchReader): the list holds a hundred customers a page in id
// order, so pages are located from what earlier pages showed (the walk
// of a run that indexes the account, or the batch reads before), and a
// batch of a hundred nearby customers costs a page or two of reads. The
// few customers no page serves cheaply are read with a Get each. A batch
// is a hundred changes (rowsink's largest) for that reason. An update so
// costs about one call: 2,000 updated customers cost 2,000 PUTs and some
// 20 to 40 page reads.
//
// There is no version check. A change made in Revnue to a customer
// between the read of its batch and its PUT is overwritten with what was
// read. The window is one batch: a batch's read serves only that batch
// (at Revnue's 100 requests a minute, a batch of a hundred updates is
// written within about a minute of its read). The index a run without a
// state reads in Prepare serves matching and comparing only, never a
// write.
//
// # Matching
//
// Customers are matched by name, unique in the account; the emulator's
// decision, which the sink follows, is that names compare trimmed and
// without regard to case (strings.EqualFold). Revnue has no lookup by
// name: Find reads the company's list once (100 a page) into an index of
// names, and then reads the customer it names with a Get, so that an
// update replaces what Revnue holds now. A create whose answer was lost
// comes back, retried, as "name taken", which sends Find to the list's
// last pages for the customer it did not know. A name taken by a
// customer of another company than the connector's is a row reject.
//
// # Company
//
// Every list needs a company. The connector lists the company REVNUE_COMPANY
// names (an environment variable beside REVNUE_TOKEN, optional: default 1,
// the company of a single-company account) and creates a customer there
// when its record gives no company. A mapping may map company, but a
// customer moved to another company is outside what the connector lists
// afterwards.
//
// # Typed fields
//
// company, category and country are integers on write. Revnue answers a
// category as {id, name} and a country by its English short name
// ("Germany"); the connector reads them back as the id and the ISO 3166-1
// numeric code (276), so that a second run finds nothing changed. A
// country name the connector has no code for cannot be sent back, and a
// row whose update would have to is rejected (CodeCarryOver) rather than
// its country erased. Mappings convert names and alpha-2/alpha-3 codes
// with country_numeric(x). nda_signed and msa_signed are booleans with
// their dates.
//
// # Custom template fields
//
// A mapping fills the account's custom fields by key, template.<key>
// (pipeline.Schema.Open): the schema the run hands over (crm.Config.Schema)
// holds the keys the mapping names. Prepare reads the account's templates
// (GET /api/v2/custom-field-template/?company=) and stops the run when the
// template lacks one of them, listing those it has. Each value is checked
// against its field's type before it is sent (money 0.00 to
// 999999999999999.00 with at most two decimals, number an integer within
// ±999999999999999, date YYYY-MM-DD, text at most 50 characters): a value
// that fails rejects its row with CodeTemplateValue, and nothing is sent.
// Revnue answers the values as a {key: value} map, money with two
// decimals ("1200.50"), which is how the connector compares them
// (rowsink.Holder).
//
// # Categories
//
// The reference table revnue:categories (name → id) is read from the
// category list, so that a mapping writes category: lookup("revnue:categories", segment).
//
// # Errors and limits
//
// Errors are {"detail", "errors": {field: [message]}}: a 400 rejects its
// row with the field at fault by its dotted name (CodeInvalid; a taken
// name CodeNameTaken), a 404 is a customer gone, a 401 stops the run,
// 5xx are retried. Revnue allows 100 requests in any sliding minute per
// account: the pacer spaces requests at that rate (or crm.Config.Rate)
// and after a 429 waits the longer of Retry-After and the body's
// "Expected available in N seconds". Paging is by page number, guarded
// against pages that repeat or lists that never end.
//
// # No delete
//
// Revnue documents no delete: the connector has no eraser and its sink
// cannot delete, so --mode mirror is refused at start. An erasure
// anonymises instead ([Anonymiser]): a PUT of the company, the category
// and a placeholder name replaces the whole record, which clears every
// other field.
package revnue
