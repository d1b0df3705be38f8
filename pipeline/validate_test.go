package pipeline

import (
	"strings"
	"testing"
)

// testSchema mirrors tamio's customer fields.
func testSchema() *Schema {
	return &Schema{
		API: "tamio",
		Fields: []Field{
			{Name: "email", Kind: KindEmail, RequiredOnCreate: true, MaxLen: 254},
			{Name: "name", RequiredOnCreate: true, RequiredOnUpdate: true, MaxLen: 255},
			{Name: "last_name", MaxLen: 255},
			{Name: "country", Kind: KindCountry, RequiredOnCreate: true},
			{Name: "locale", Kind: KindLocale},
			{Name: "timezone_offset", Kind: KindOffset},
			{Name: "priority", Kind: KindEnum, Enum: []string{"low", "normal", "medium", "high"}},
			{Name: "category", Kind: KindEnum, Enum: []string{"customer", "lead"}},
			{Name: "phone", Kind: KindPhone},
			{Name: "teammate_id", Kind: KindUUID, Clear: ClearEmpty},
			{Name: "company", MaxLen: 10},
			{Name: "vip", Kind: KindBool},
		},
		MatchField: "email",
	}
}

func TestValidateKinds(t *testing.T) {
	s := testSchema()
	cases := []struct {
		field, value string
		code         string // "" when valid
	}{
		{"email", "ana@example.com", ""},
		{"email", "Ana.Lopez+crm@sub.example.co.uk", ""},
		{"email", "ana@bücher.de", ""},
		{"email", "ana@xn--bcher-kva.de", ""},
		{"email", "o'brien@example.ie", ""},
		{"email", "ana", "email"},
		{"email", "ana@", "email"},
		{"email", "@example.com", "email"},
		{"email", "ana@@example.com", "email"},
		{"email", "ana@b@example.com", "email"},
		{"email", "ana@localhost", "email"},
		{"email", "ana lopez@example.com", "email"},
		{"email", " ana@example.com", "email"},
		{"email", "ana@example.com\n", "email"},
		{"email", "ana@exa mple.com", "email"},
		{"email", "Ana <ana@example.com>", "email"},
		{"email", "\"ana\"@example.com", "email"},
		{"email", ".ana@example.com", "email"},
		{"email", "ana.@example.com", "email"},
		{"email", "a..na@example.com", "email"},
		{"email", "ana@example..com", "email"},
		{"email", "ana@.example.com", "email"},
		{"email", "ana@example.com.", "email"},
		{"email", "ana@-example.com", "email"},
		{"email", "ana@example-.com", "email"},
		{"email", "ana@exa_mple.com", "email"},
		{"email", "ana@example.c", "email"},
		{"email", "ana@1.2.3.4", "email"},
		{"email", "ana@[1.2.3.4]", "email"},
		{"email", strings.Repeat("a", 64) + "@example.com", ""},
		{"email", strings.Repeat("a", 65) + "@example.com", "email"},
		{"email", "a@" + strings.Repeat("b", 64) + ".com", "email"},
		{"email", "a@" + strings.Repeat("b.", 130) + "com", "too_long"},

		{"name", "Ana", ""},
		{"name", strings.Repeat("é", 255), ""},
		{"name", strings.Repeat("é", 256), "too_long"},
		{"company", "Ünïcödé Co", ""},
		{"company", "Ünïcödé Co.", "too_long"},
		{"company", "日本語日本語日本語日", ""},

		{"country", "de", ""},
		{"country", "DE", ""},
		{"country", "De", ""},
		{"country", "gb", ""},
		{"country", "ZW", ""},
		{"country", "AX", ""},
		{"country", "uk", "country"},
		{"country", "eu", "country"},
		{"country", "xk", "country"},
		{"country", "deu", "country"},
		{"country", "d", "country"},
		{"country", "Germany", "country"},
		{"country", " de", "country"},
		{"country", "d1", "country"},
		{"country", "d@", "country"},
		{"country", "\xc4\x80", "country"},

		{"locale", "en", ""},
		{"locale", "pt-BR", ""},
		{"locale", "pt_BR", ""},
		{"locale", "zh-Hant-TW", ""},
		{"locale", "ast", ""},
		{"locale", "es-419", ""},
		{"locale", "EN", "locale"},
		{"locale", "e", "locale"},
		{"locale", "engl", "locale"},
		{"locale", "en-", "locale"},
		{"locale", "en-B", "locale"},
		{"locale", "en-abcdefghi", "locale"},
		{"locale", "en--US", "locale"},
		{"locale", "en US", "locale"},
		{"locale", "English", "locale"},

		{"timezone_offset", "+02:00", ""},
		{"timezone_offset", "-05:30", ""},
		{"timezone_offset", "+14:00", ""},
		{"timezone_offset", "-00:00", ""},
		{"timezone_offset", "+00:45", ""},
		{"timezone_offset", "+15:00", "offset"},
		{"timezone_offset", "+2:00", "offset"},
		{"timezone_offset", "02:00", "offset"},
		{"timezone_offset", "+02:60", "offset"},
		{"timezone_offset", "+0200", "offset"},
		{"timezone_offset", "+02:00 ", "offset"},
		{"timezone_offset", "+2a:00", "offset"},
		{"timezone_offset", "UTC", "offset"},

		{"priority", "low", ""},
		{"priority", "high", ""},
		{"priority", "High", "enum"},
		{"priority", "urgent", "enum"},
		{"priority", "low ", "enum"},
		{"category", "lead", ""},
		{"category", "customers", "enum"},

		{"phone", "+4930123456", ""},
		{"phone", "+12025550123", ""},
		{"phone", "+123456789012345", ""},
		{"phone", "+1234567", ""},
		{"phone", "+123456", "phone"},
		{"phone", "+1234567890123456", "phone"},
		{"phone", "+0301234567", "phone"},
		{"phone", "4930123456", "phone"},
		{"phone", "+49 30 123456", "phone"},
		{"phone", "+49-30-123456", "phone"},
		{"phone", "++4930123456", "phone"},

		{"teammate_id", "123e4567-e89b-12d3-a456-426614174000", ""},
		{"teammate_id", "123E4567-E89B-12D3-A456-426614174000", ""},
		{"teammate_id", "00000000-0000-0000-0000-000000000000", ""},
		{"teammate_id", "123e4567e89b12d3a456426614174000", "uuid"},
		{"teammate_id", "123e4567-e89b-12d3-a456-42661417400", "uuid"},
		{"teammate_id", "123e4567-e89b-12d3-a456-4266141740000", "uuid"},
		{"teammate_id", "{123e4567-e89b-12d3-a456-426614174000}", "uuid"},
		{"teammate_id", "g23e4567-e89b-12d3-a456-426614174000", "uuid"},
		{"teammate_id", "123e4567-e89b-12d3-a456_426614174000", "uuid"},
		{"teammate_id", "ana@example.com", "uuid"},

		{"vip", "true", ""},
		{"vip", "false", ""},
		{"vip", "TRUE", "bool"},
		{"vip", "1", "bool"},
		{"vip", "yes", "bool"},
	}
	for _, c := range cases {
		i := s.Index(c.field)
		if i < 0 {
			t.Fatalf("no field %q", c.field)
		}
		rec := &Record{Values: make([]string, len(s.Fields))}
		rec.Values[i] = c.value
		r := s.Validate(rec, nil)
		switch {
		case c.code == "" && r != nil:
			t.Errorf("%s=%q: unexpected reject %v", c.field, c.value, r)
		case c.code != "" && r == nil:
			t.Errorf("%s=%q: accepted, want code %q", c.field, c.value, c.code)
		case r != nil:
			if r.Code != c.code || r.Field != c.field || r.Stage != StageValidate {
				t.Errorf("%s=%q: got %s/%s/%s, want validate/%s/%s", c.field, c.value, r.Stage, r.Code, r.Field, c.code, c.field)
			}
			if r.Message == "" {
				t.Errorf("%s=%q: reject has no message", c.field, c.value)
			}
		}
	}
}

func TestValidateMessages(t *testing.T) {
	s := testSchema()
	cases := []struct {
		field, value string
		want         []string
	}{
		{"priority", "urgent", []string{`priority "urgent"`, "low, normal, medium, high"}},
		{"email", "ana@example", []string{`email "ana@example"`, "no dot"}},
		{"email", "ana", []string{"no @"}},
		{"company", "Ünïcödé Co.", []string{`company "Ünïcödé Co."`, "11 characters", "at most 10", "truncate(…, 10)"}},
		{"country", "Germany", []string{`country "Germany"`, "alpha-2", "country(…)"}},
		{"phone", "+49 30 123456", []string{`phone "+49 30 123456"`, "E.164", "phone(…)"}},
		// A huge value is cut in the message.
		{"timezone_offset", strings.Repeat("x", 10000), []string{"…"}},
	}
	for _, c := range cases {
		rec := &Record{Values: make([]string, len(s.Fields))}
		rec.Values[s.Index(c.field)] = c.value
		r := s.Validate(rec, nil)
		if r == nil {
			t.Errorf("%s=%q: accepted", c.field, c.value)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(r.Message, w) {
				t.Errorf("%s=%q: message %q lacks %q", c.field, c.value, r.Message, w)
			}
		}
		if len(r.Message) > 200 {
			t.Errorf("%s: message is %d bytes long", c.field, len(r.Message))
		}
	}
}

func TestValidateRequired(t *testing.T) {
	s := testSchema()
	nameIdx := s.Index("name")
	all := make([]bool, len(s.Fields))
	for i := range all {
		all[i] = true
	}
	empty := &Record{Values: make([]string, len(s.Fields))}

	// name is RequiredOnUpdate: empty and mapped → rejected.
	r := s.Validate(empty, all)
	if r == nil || r.Code != "required" || r.Field != "name" {
		t.Fatalf("empty mapped name: got %v, want required name", r)
	}
	// Not mapped → not this stage's business.
	unmapped := make([]bool, len(s.Fields))
	copy(unmapped, all)
	unmapped[nameIdx] = false
	if r := s.Validate(empty, unmapped); r != nil {
		t.Fatalf("unmapped name: got %v", r)
	}
	// A short mapped slice counts the rest as unmapped.
	if r := s.Validate(empty, all[:nameIdx]); r != nil {
		t.Fatalf("short mapped: got %v", r)
	}
	// Empty values of other kinds are never kind-checked.
	rec := &Record{Values: make([]string, len(s.Fields))}
	rec.Values[nameIdx] = "Ana"
	if r := s.Validate(rec, all); r != nil {
		t.Fatalf("only name set: got %v", r)
	}
	// A short Values slice does not panic; missing values are empty.
	if r := s.Validate(&Record{Values: []string{"ana@example.com"}}, all); r == nil || r.Field != "name" {
		t.Fatalf("short record: got %v", r)
	}
	if r := s.Validate(&Record{}, nil); r != nil {
		t.Fatalf("nil values: got %v", r)
	}
}

// A row without a value the target needs is told so in its terms: which
// field, when the target needs it (a create, or any write when Validate
// cannot know which), and what to do; never "update" for a create.
func TestMissingValueMessages(t *testing.T) {
	s := testSchema()
	s.Fields = append(s.Fields, Field{Name: "revision", RequiredOnUpdate: true})
	all := make([]bool, len(s.Fields))
	for i := range all {
		all[i] = true
	}
	named := func(name string) *Record {
		rec := &Record{Values: make([]string, len(s.Fields))}
		for i, f := range s.Fields {
			if f.Name != name {
				rec.Values[i] = "x"
			}
		}
		rec.Values[s.Index("email")] = "ana@example.com"
		rec.Values[s.Index("country")] = "de"
		rec.Values[s.Index("vip")] = "true"
		rec.Values[s.Index("locale")] = "en"
		rec.Values[s.Index("timezone_offset")] = "+01:00"
		rec.Values[s.Index("priority")] = "low"
		rec.Values[s.Index("category")] = "lead"
		rec.Values[s.Index("phone")] = "+4930123456"
		rec.Values[s.Index("teammate_id")] = "123e4567-e89b-12d3-a456-426614174000"
		if i := s.Index(name); i >= 0 {
			rec.Values[i] = ""
		}
		return rec
	}
	cases := []struct {
		name   string
		field  string
		reject func(*Record) *Reject
		want   []string
		not    []string
	}{
		{"create without name", "name", s.ValidateCreate,
			[]string{"this row has no name", "tamio requires to create a customer", "fill it in the source", "default(…) for name"}, []string{"update"}},
		{"create without email", "email", s.ValidateCreate,
			[]string{"this row has no email", "to create a customer"}, []string{"update"}},
		// Before the sink matches the row, create and update are both
		// possible: name is needed for either.
		{"any write without name", "name", func(r *Record) *Reject { return s.Validate(r, all) },
			[]string{"this row has no name", "on every customer it creates or updates", "default(…)"}, nil},
		{"update without revision", "revision", func(r *Record) *Reject { return s.Validate(r, all) },
			[]string{"this row has no revision", "on every update"}, []string{"create"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.reject(named(c.field))
			if r == nil || r.Code != CodeRequired || r.Field != c.field {
				t.Fatalf("got %v, want a required reject of %s", r, c.field)
			}
			for _, w := range c.want {
				if !strings.Contains(r.Message, w) {
					t.Errorf("message %q lacks %q", r.Message, w)
				}
			}
			for _, w := range c.not {
				if strings.Contains(r.Message, w) {
					t.Errorf("message %q says %q", r.Message, w)
				}
			}
		})
	}
}

func TestValidateFirstProblemInFieldOrder(t *testing.T) {
	s := testSchema()
	rec := &Record{Values: make([]string, len(s.Fields))}
	rec.Values[s.Index("phone")] = "bad"
	rec.Values[s.Index("email")] = "bad"
	r := s.Validate(rec, nil)
	if r == nil || r.Field != "email" {
		t.Fatalf("got %v, want the email reject first", r)
	}
}

func TestValidateCreate(t *testing.T) {
	s := testSchema()
	rec := &Record{Values: make([]string, len(s.Fields))}
	for _, step := range []struct{ set, wantField string }{
		{"", "email"},
		{"email", "name"},
		{"name", "country"},
		{"country", ""},
	} {
		if step.set != "" {
			rec.Values[s.Index(step.set)] = "x"
		}
		r := s.ValidateCreate(rec)
		if step.wantField == "" {
			if r != nil {
				t.Fatalf("all required set: got %v", r)
			}
			continue
		}
		if r == nil || r.Code != "required" || r.Field != step.wantField || r.Stage != StageValidate {
			t.Fatalf("after setting %q: got %v, want required %s", step.set, r, step.wantField)
		}
		if !strings.Contains(r.Message, "create") {
			t.Errorf("message %q does not say why", r.Message)
		}
	}
	if r := s.ValidateCreate(&Record{}); r == nil || r.Field != "email" {
		t.Fatalf("nil values: got %v", r)
	}
}

func TestIsCountryCode(t *testing.T) {
	codes := CountryCodes()
	if len(codes) != 249 {
		t.Fatalf("%d codes, want 249", len(codes))
	}
	n := 0
	for a := byte('A'); a <= 'Z'; a++ {
		for b := byte('A'); b <= 'Z'; b++ {
			if IsCountryCode(string([]byte{a, b})) {
				n++
			}
		}
	}
	if n != 249 {
		t.Fatalf("IsCountryCode accepts %d codes, want 249", n)
	}
	for _, c := range codes {
		if !IsCountryCode(strings.ToLower(c)) {
			t.Errorf("%s lower case refused", c)
		}
	}
	for _, s := range []string{"", "D", "DEU", "1A", "[A", "`a", "{a", "\x00\x00", "é"} {
		if IsCountryCode(s) {
			t.Errorf("IsCountryCode(%q) = true", s)
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	s := testSchema()
	rec := &Record{Values: []string{
		"ana.lopez@example.com", "Ana", "María López", "de", "es-ES", "+02:00",
		"normal", "customer", "+4930123456", "123e4567-e89b-12d3-a456-426614174000", "ACME", "true",
	}}
	mapped := make([]bool, len(s.Fields))
	for i := range mapped {
		mapped[i] = true
	}
	if r := s.Validate(rec, mapped); r != nil {
		b.Fatal(r)
	}
	b.ReportAllocs()
	for b.Loop() {
		if s.Validate(rec, mapped) != nil {
			b.Fatal("reject")
		}
	}
}

// FuzzEmailCommon holds emailCommon's shortcut to the full check: an
// address it accepts, emailProblemFull accepts too.
func FuzzEmailCommon(f *testing.F) {
	for _, s := range []string{
		"ana.garcia@example.com", "a@b.co", "a+tag@mail.example.net", "a@b.c0m", "a@b.12",
		"a..b@x.io", ".a@x.io", "a.@x.io", "a@-x.io", "a@x-.io", "a@x..io", "a@x.io.", "a@@x.io",
		"a@x.i", "ü@x.io", "a@xn--bcher-kva.example", "a b@x.io", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if !emailCommon(v) {
			return
		}
		if why := emailProblemFull(v); why != "" {
			t.Fatalf("%q: the shortcut accepts it, the full check says %s", v, why)
		}
	})
}

// TestValidatePassedValues checks the per-worker memory of values that
// passed: a value seen to pass is taken again without a check, a failing
// one is never remembered, and another string of the same length at
// another address is checked.
func TestValidatePassedValues(t *testing.T) {
	s := testSchema()
	seen := make(passed, len(s.Fields))
	rec := func(country, teammate string) *Record {
		vals := make([]string, len(s.Fields))
		vals[0], vals[1], vals[3], vals[9] = "ana@example.com", "Ana", country, teammate
		return &Record{Values: vals}
	}
	good, bad := "DE", "XX"
	uuid := "0f8fad5b-d9cb-4a1f-a165-70867728950e"
	for range 3 {
		if r := s.validate(rec(good, uuid), nil, nil, seen); r != nil {
			t.Fatalf("a valid record rejected: %+v", r)
		}
		if r := s.validate(rec(bad, uuid), nil, nil, seen); r == nil || r.Code != CodeCountry {
			t.Fatalf("country %q: reject %+v, want %s every time", bad, r, CodeCountry)
		}
	}
	// The same bytes at a new address are checked afresh, and so is a
	// string of the length of one that passed.
	if r := s.validate(rec(strings.Clone(bad), strings.Clone(uuid)), nil, nil, seen); r == nil || r.Code != CodeCountry {
		t.Fatalf("a cloned bad country: %+v", r)
	}
	broken := strings.Replace(uuid, "a", "z", 1)
	if r := s.validate(rec(good, broken), nil, nil, seen); r == nil || r.Code != CodeUUID {
		t.Fatalf("teammate %q after %q passed: %+v, want %s", broken, uuid, r, CodeUUID)
	}
}
