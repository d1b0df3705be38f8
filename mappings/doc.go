// Package mappings turns source rows into target records with a mapping
// file: one expression per target field, over the source's columns.
//
// # Use
//
//	m, err := mappings.Load("customers.acme.yaml", sink.Schema()) // parse, compile, check
//	prog, err := m.Bind(source.Columns(), nestedColumns)            // resolve column names
//	rej := prog.Apply(&row, &rec)                                   // per row; safe in parallel
//
// Load checks everything that does not depend on a source: YAML
// structure, field names, expression syntax, functions and their
// arguments, constant regular expressions, date layouts and phone regions,
// lookup tables. `crmsync check --mapping M` can run it without a source.
// Bind checks the columns. Both report every problem they find as an
// Errors, each "file:line:column: message", with a did-you-mean where a
// name is close to a known one.
//
// # The mapping file
//
//	# customers.acme.yaml, for the columns of samples/customers.csv
//	api: acme                  # must equal the sink's API
//	key: customer_id           # source column identifying a row across runs
//	options:
//	  phone_region: DE         # region of phone numbers written without +CC
//	  phone_validation: plan   # plan (default, fast) or strict
//	lookups:
//	  teammates:               # lookup("teammates", owner_email)
//	    file: teammates.csv    # CSV with a header; relative to this file
//	    key: email             # column matched
//	    value: id              # column returned
//	    ignore_case: true      # optional; default false
//	    delimiter: ","         # optional; default ",", one character such as ";"
//	  categories:              # a short table kept in the mapping itself
//	    values: {Customer: customer, Lead: lead}
//	fields:
//	  email: lower(trim(email))
//	  name: first_word(full_name)
//	  last_name: rest_words(full_name)
//	  country: country(country)
//	  phone: phone(phone)
//	  teammate_id: lookup("teammates", owner_email)
//	  locale: default(language, "en")
//	  timezone_offset: utc_offset
//	  priority: {const: normal}  # a constant, taken literally
//	  category: '"customer"'     # the same, as an expression
//
// Sections: api and key and fields are required; options and lookups are
// optional; any other key is an error. A field appears once. Fields the
// target requires on every update (a name some APIs require) must be mapped; fields it
// requires only to create a record may be left out, which Warnings
// reports (for update-only runs).
//
// Some targets let each account define fields of its own (custom template
// fields): their schema names a prefix (pipeline.Schema.Open)
// under which a mapping may name any key, template.contract_value. Load
// adds the ones the file names to a copy of the schema (Mapping.Schema);
// the connector checks at the start of a run that the account has them.
//
// Each field is an expression of the expr language
// (https://expr-lang.org) or {const: value}. Plain, quoted and block
// (|, >) YAML scalars all work; quote an expression that starts with a
// YAML indicator ('"x"', '[a]') or holds ": ". A bare YAML number,
// boolean or date (priority: 5, since: 2024-01-31) is that constant as
// written, not arithmetic.
//
// # Columns, values and results
//
// A column whose name is an identifier (letters, digits, _; not a keyword
// such as and, or, not, in, let, if, else, matches, contains, nil, true,
// false) is written by name; any column as col("First Name"), whose
// argument must be a quoted constant. A column name may be the same as a
// function: phone(phone) calls phone() on the column phone. Columns whose
// name starts with "_" are reserved for crmsync's reject files and cannot
// be used. let variables shadow columns of the same name.
//
// Every column value is text; an empty cell (or a Parquet null) is "".
// Values are not trimmed for you: write trim(x), or use a function that
// trims (most below do). An expression's result becomes the field's value:
// text as it is, nil as "" (no value), whole numbers without a fraction,
// other numbers in Go's shortest form, true/false as "true"/"false". A
// list or a map is an error when Load can tell, else a row reject with
// code "type"; on a list field, a list of text is the value (below).
//
// An expression that reads no column is computed once at Load, so a
// mistake in it (country("Atlantis")) fails Load rather than every row.
//
// # Typed fields, lists and null
//
// Each field of a target has a kind, which its connector's schema
// declares; the validate stage checks every value against its field's
// kind, with the reject codes of pipeline.Codes. What a mapping gives the
// kinds beside text:
//
//	kind      give it                                   example
//	----      -------                                   -------
//	bool      a condition, or the text true / false     consent: 'opt_in == "Y"'
//	int       a whole number, or its digits as text     points: int(points_raw) * 10
//	decimal   a number, or digits with a point          balance: 'replace(balance, ",", ".")'
//	date      YYYY-MM-DD: date(s, in) or date_iso(s)    born: date(dob, "DD/MM/YYYY")
//	list      split(s, sep), list(a, …), or text that   tags: split(tags, ";")
//	          is a JSON array of strings already
//
// A number on an int or decimal field is written in plain decimals, never
// with an exponent (1e-7 is "0.0000001"); one that is not finite rejects
// the row with code "type". Int and decimal text need not be in canonical
// form: the engine compares, records and sends each value in its kind's
// canonical form, so "007" and "7" are one value, as are "12.50" and
// "12.5", and a source that switches between them changes nothing. On a date
// field, an RFC 3339 date and time (what date_iso gives for a value with a
// time; "2024-01-31T23:30:00-05:00") is cut to its date as written,
// 2024-01-31; other text must already be YYYY-MM-DD.
//
// A list is compared and sent whole: a change to any item sends the list.
// split and list trim their items and drop blank ones; a list without
// items is no value (""), as an empty cell is, so that a row with no tags
// leaves the field as a blank cell does. Text on a list field is not
// guessed into a list: it must be a JSON array of strings (["vip","gold"],
// a list's canonical text), else the row is rejected with code "list";
// write split(tags, ";") or list(tier) to build one. A list on a
// field that is not a list is an error at Load (or a row reject with code
// "type" when only the row tells). expr's functions on lists work on
// ours: map(split(tags, ";"), lower(#)) gives the tags in lower case, and
// filter, len, first, last and the like take them too; a list whose items
// are not all text rejects the row with code "type".
//
// null() is an explicit null: "clear this field in the CRM". An empty
// value ("", no value) clears on update a field the API can clear too,
// and leaves one it cannot clear as it is; null() says the clear is meant,
// and a mapping that asks it of a field the API cannot clear fails Load
// (from another mapper, the row is rejected with code "not_clearable").
// On a create, neither sends anything. null() is meant as a whole value,
// usually in a condition:
//
//	phone: 'opt_out == "Y" ? null() : phone(phone)'
//	tags: 'tags == "-" ? null() : split(tags, ";")'
//
// Each field says how its API clears it (JSON null, "", or [] for a list);
// the sink sends that form, the state records the field as empty, and the
// --max-blank guard counts the clear like any other blanking. null()
// inside text ("x" + null(), concat(a, null())) rejects the row with code
// "type"; split and list drop it.
//
// # Functions
//
// Our functions replace expr's built-ins of the same name (lower, upper,
// trim, split, replace, join, concat, date); expr's other built-ins stay
// available (len, hasPrefix, hasSuffix, indexOf, int, float, string,
// trimPrefix, trimSuffix, repeat, abs, round, …), as do its operators:
// + on text, ==, !=, and, or, not, matches, the ternary a ? b : c,
// if a { b } else { c }, ?? and let. now, duration and timezone are
// disabled: the same file must give the same records whenever it runs.
// Arity and argument types are checked at Load.
//
//	function                        result                                   example
//	--------                        ------                                   -------
//	lower(s), upper(s)              Unicode case mapping                     lower("ÀNA") → "àna"
//	trim(s)                         s without surrounding Unicode spaces     trim(" a b ") → "a b"
//	title(s)                        each word capitalised, rest lower case   title("ANA MARÍA") → "Ana María"
//	first_word(s)                   first word (split at any space)          first_word("Ana María López") → "Ana"
//	last_word(s)                    last word                                last_word("Ana María López") → "López"
//	rest_words(s)                   all but the first word, single-spaced    rest_words("Ana María López") → "María López"
//	split(s, sep, i)                i-th part (from 0; -1 is the last);      split("a,b,c", ",", -1) → "c"
//	                                "" when there is none; sep "" splits
//	                                into characters; parts are not trimmed
//	split(s, sep)                   the list of the parts, each trimmed,     split("vip; gold;;", ";") → ["vip", "gold"]
//	                                blank parts dropped (for list fields)
//	list(a, b, …)                   the list of the non-blank arguments,     list(tier, region)
//	                                each trimmed (for list fields)
//	null()                          an explicit null: clears the field       'opt_out == "Y" ? null() : phone(tel)'
//	concat(a, b, …)                 a, b, … run together                     concat(first, " ", last)
//	join(sep, a, b, …)              the non-blank arguments, each trimmed,   join(", ", street, city)
//	                                joined with sep
//	coalesce(a, b, …)               the first non-blank argument, trimmed    coalesce(mobile, phone)
//	default(a, d)                   a trimmed, or d when a is blank          default(lang, "en")
//	replace(s, old, new)            every old replaced; old "" changes       replace(vat, " ", "")
//	                                nothing
//	regex(s, pattern)               first match of pattern in s, or ""       regex(s, "[0-9]{5}")
//	regex(s, pattern, group)        that group of the first match, or ""     regex(email, "@(.+)$", 1)
//	regex_replace(s, pattern, new)  every match replaced; $1 … in new        regex_replace(s, "\\s+", " ")
//	date(s, in, out)                s read with layout in, written with out  date(d, "DD/MM/YYYY", "MM/DD/YYYY")
//	date(s, in)                     the same, written YYYY-MM-DD             date(d, "DD/MM/YYYY") → "2024-01-31"
//	date_iso(s)                     common forms → YYYY-MM-DD, or RFC 3339   date_iso("31.01.2024") → "2024-01-31"
//	                                when s has a time
//	country(s)                      ISO 3166-1 alpha-2, lower case           country("Deutschland") → "de"
//	country_alpha3(s)               alpha-3, upper case                      country_alpha3("de") → "DEU"
//	country_name(s)                 English short name                       country_name("KOR") → "South Korea"
//	country_numeric(s)              numeric code, without leading zeros      country_numeric("Germany") → "276"
//	phone(s)                        E.164, numbers without +CC read in       phone("030 1234567") → "+49301234567"
//	                                options.phone_region
//	phone(s, region)                the same in the given region; a blank    phone(tel, country(land))
//	                                region falls back to phone_region
//	lookup(table, key)              key's value in a lookups table; blank    lookup("teammates", owner_email)
//	                                key → ""; missing key → reject
//	lookup(table, key, default)     the same, default for a missing key      lookup("categories", kind, "lead")
//	email(s)                        trimmed, out of "Name <a@b>" and         email(" Ana <Ana@X.COM>") → "Ana@x.com"
//	                                mailto:, domain lower-cased
//	digits(s)                       the ASCII digits of s                    digits("+49 (30) 12") → "493012"
//	truncate(s, n)                  at most n characters                     truncate(notes, 255)
//	col("name")                     the column named name                    col("First Name")
//
// Functions that read a value (country, phone, date, date_iso, email,
// lookup) take blank input (empty or only spaces) as no value and give "",
// so an empty cell stays empty rather than failing the row; the text
// functions give "" for "".
//
// country accepts alpha-2, alpha-3 and numeric codes ("276", "040"), the
// ISO English names and their usual forms ("Korea, Republic of", "Republic
// of Korea", "South Korea"), a few names in other European languages
// ("Deutschland", "España", "Schweiz") and abbreviations ("USA", "UK",
// "UAE"), ignoring case, accents and punctuation. An unknown value rejects
// the row with code "unknown_country".
//
// phone writes E.164 (+ and digits) or rejects the row with code
// "bad_phone". With phone_validation: plan (the default) a number must
// have a possible length and fit the general pattern of its country's
// numbering plan, as published in libphonenumber's metadata: that catches
// typos, missing digits and junk, and costs well under a microsecond for
// the usual shapes. strict applies libphonenumber's IsValidNumber (the
// number must fall in an assigned range of a known type), at 20-40 µs a
// number. Extensions are dropped.
//
// lookup tables are loaded once at Load, at most 16 MiB each (see
// Limits). Keys match exactly after trimming both sides, or ignoring case
// with ignore_case: true. A table in which one key has two different
// values is an error; blank keys are skipped.
//
// # Tables read from the target
//
// A lookup table named api:table is not declared under lookups: the
// target's connector reads it from the API at the start of every run, so
// it is never out of step with the CRM. A CRM with teammates may offer
// api:teammates, its teammates' ids by email, whose keys match ignoring
// case; `crmsync teammates --api NAME --target T` lists it:
//
//	# owners.acme.yaml
//	api: acme
//	key: customer_id
//	fields:
//	  email: lower(trim(email))
//	  name: first_word(full_name)
//	  country: country(country)
//	  teammate_id: lookup("acme:teammates", owner_email)
//
// A miss is handled as in any lookup table: a blank key gives "", a key
// the table lacks rejects the row with code lookup_miss, unless the
// lookup gives a default (lookup("acme:teammates", owner_email, "")).
// Load checks only the name's form and that its api is the mapping's;
// the table itself is read (References, then WithReferences) once per
// run, before the first row is mapped. A name the target does not offer,
// or a target that cannot be read, stops the run before anything is
// sent. `crmsync check` says which tables a mapping reads from the
// target, and reads them when given --target. The table's content is part
// of what a row's source digest covers: a teammate whose email or id
// changed in the CRM makes the next incremental run map every row again,
// as an edited lookup file does.
//
// # Limits
//
// A mapping file is at most 4 MiB. An expression nests at most 100
// brackets deep (lower(trim(x)) is 2) and holds at most 20000 tokens
// (names, values, operators, brackets); past either, Load names the
// field and the place, and parses no further, because expr's parser
// recurses once per level and a deep enough expression would overflow
// the stack and kill the process. The YAML itself nests at most 10000
// levels (yaml.v3's own limit).
//
// A lookup file is at most 16 MiB: it is held in memory, where a table of
// short rows takes about 8 times its size, and a table larger than that is
// a second source rather than a lookup; join it into the source instead.
//
// Messages quote names and values cut to 64 characters, and list at most
// 10 columns of a header, then how many more there are: a file can hold a
// header of a million columns, and a message is copied into summary.json.
//
// # Date layouts
//
// date() takes layouts in tokens, Go layouts (any layout with a digit,
// such as "02/01/2006"), or the names "iso" (RFC 3339; on input with or
// without a fraction of a second) and "unix" (seconds since 1970).
//
//	token         meaning                          token    meaning
//	YYYY, yyyy    year, 4 digits                   HH       hour 00-23
//	YY, yy        year, 2 digits                   hh, h    hour 01-12, 1-12
//	MMMM          month name (January)             mm       minute
//	MMM           month abbreviation (Jan)         ss       second
//	MM            month 01-12                      SSS      milliseconds (after ss.)
//	M             month 1-12                       A, a     PM, pm
//	DD, dd        day 01-31                        Z        zone +01:00 (Z for UTC)
//	D             day 1-31                         ZZ       zone +0100
//
// Other characters stand for themselves; [text] is taken literally, for
// words holding token letters: "D MMM YYYY [at] HH:mm". On input DD, MM,
// mm and ss need two digits, D, M, HH and h take one or two. A time
// without a zone is UTC. A layout with mm but no hour is
// refused: it is nearly always MM (month) mistyped.
//
// date_iso reads YYYY-MM-DD (also with / or . and without zero padding),
// YYYYMMDD, DD.MM.YYYY, "January 2, 2006", "2 Jan 2006", RFC 3339 and
// RFC 1123 with GMT, each optionally with a time. DD/MM/YYYY and
// MM/DD/YYYY are read only when unambiguous (a part above 12, or both
// readings the same day); otherwise the row is rejected and the message
// says to use date(). Failures reject with code "bad_date".
//
// # Rejects
//
// A row the mapping cannot map gets a pipeline.Reject with Stage "map",
// Field the target field, Column the source column the bad value came
// from when it can be told, and one of the codes: missing_key (the key
// column is blank), field_count (a row shorter than the header),
// unknown_country, bad_phone, lookup_miss, bad_date, type (the result is
// not text) and expression (any other runtime error). The message quotes
// the value at fault, cut to 64 characters.
//
// # Speed
//
// Expressions are compiled once. A bare column is copied; a constant is
// computed at Load; an expression made only of our functions (split and
// list, and null() included), columns, constants, + on text, ternaries
// whose conditions compare text (==, !=, and, or, not), and such a
// condition alone (for a bool field) runs on a small direct evaluator that
// boxes nothing; anything else (expr's built-ins, arithmetic, matches, ??,
// let, map and filter on lists) runs on expr's VM, pooled per goroutine,
// at several times the cost.
// BenchmarkApply measures the sample mapping.
package mappings
