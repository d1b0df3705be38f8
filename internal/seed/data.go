package seed

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// country is where a fake customer lives: the forms of its code the
// schemas ask for, and what its addresses and phones look like.
type country struct {
	alpha2, numeric, locale, offset string
	// dial is the calling code, without "+"; a phone is mobile (the
	// start of a mobile number in the country's plan) and digits more, so
	// that it is valid by the country's numbering plan, as a mapping's
	// phone() checks.
	dial, mobile string
	digits       int
	// street formats a house number (%[1]d) and a street (%[2]s).
	street  string
	streets []string
	cities  []string
	region  string
	// zip is a postcode pattern: 9 a digit, A a capital letter.
	zip string
}

func (c *country) postcode(r *rand.Rand) string {
	var b strings.Builder
	for _, ch := range c.zip {
		switch ch {
		case '9':
			b.WriteByte(byte('0' + r.IntN(10)))
		case 'A':
			b.WriteByte(byte('A' + r.IntN(26)))
		default:
			b.WriteRune(ch)
		}
	}
	return b.String()
}

// countries are spread over the world's UTC offsets, among them
// Nepal's +05:45, with the accents and apostrophes of their addresses.
var countries = []country{
	{"DE", "276", "de", "+01:00", "49", "151", 8, "%[2]s %[1]d", []string{"Hauptstraße", "Königsallee", "Am Weißen Steg"}, []string{"Berlin", "München", "Köln", "Düsseldorf"}, "Nordrhein-Westfalen", "99999"},
	{"FR", "250", "fr", "+01:00", "33", "6", 8, "%[1]d, rue %[2]s", []string{"de l'Église", "Saint-Honoré", "des Écoles"}, []string{"Paris", "Besançon", "Orléans", "Lyon"}, "Île-de-France", "99999"},
	{"GB", "826", "en-GB", "+00:00", "44", "74", 8, "%[1]d %[2]s", []string{"King's Road", "Baker Street", "St. Mary's Lane"}, []string{"London", "Stoke-on-Trent", "Manchester"}, "Greater London", "AA9 9AA"},
	{"IE", "372", "en-IE", "+00:00", "353", "87", 7, "%[1]d %[2]s", []string{"O'Connell Street", "Grafton Street"}, []string{"Dublin", "Dún Laoghaire", "Cork"}, "Leinster", "A99 A9A9"},
	{"ES", "724", "es", "+01:00", "34", "6", 8, "Calle %[2]s, %[1]d", []string{"de Alcalá", "Mayor", "del Niño Jesús"}, []string{"Madrid", "A Coruña", "Málaga"}, "Andalucía", "99999"},
	{"NO", "578", "nb", "+01:00", "47", "4", 7, "%[2]s %[1]d", []string{"Storgata", "Bjørnstjerne Bjørnsons gate"}, []string{"Oslo", "Tromsø", "Bodø"}, "Troms", "9999"},
	{"BR", "76", "pt-BR", "-03:00", "55", "119", 8, "Rua %[2]s, %[1]d", []string{"da Consolação", "São Bento"}, []string{"São Paulo", "Florianópolis"}, "São Paulo", "99999-999"},
	{"US", "840", "en-US", "-05:00", "1", "212", 7, "%[1]d %[2]s", []string{"Main Street", "Martin Luther King Jr. Blvd"}, []string{"New York", "Coeur d'Alene", "Santa Fe"}, "New York", "99999"},
	{"IN", "356", "en-IN", "+05:30", "91", "98", 8, "%[1]d, %[2]s", []string{"M.G. Road", "Linking Road"}, []string{"Mumbai", "Bengaluru"}, "Maharashtra", "999999"},
	{"NP", "524", "ne", "+05:45", "977", "98", 8, "%[2]s %[1]d", []string{"Durbar Marg", "Thamel Marg"}, []string{"Kathmandu", "Pokhara"}, "Bagmati", "99999"},
	{"JP", "392", "ja", "+09:00", "81", "90", 8, "%[1]d %[2]s", []string{"Chūō-dōri", "Omotesandō"}, []string{"Tōkyō", "Ōsaka"}, "Tōkyō-to", "999-9999"},
}

// A name as written, and the ASCII letters an address is made of.
type name struct{ text, ascii string }

var firstNames = []name{
	{"José", "jose"}, {"Zoë", "zoe"}, {"Søren", "soren"}, {"Ana", "ana"}, {"Chloé", "chloe"},
	{"Björn", "bjorn"}, {"Aoife", "aoife"}, {"Łukasz", "lukasz"}, {"Renée", "renee"}, {"François", "francois"},
	{"Mia", "mia"}, {"Noah", "noah"}, {"Ingrid", "ingrid"}, {"Mateo", "mateo"}, {"Anaïs", "anais"},
	{"Jürgen", "jurgen"}, {"Siobhán", "siobhan"}, {"Yusuf", "yusuf"}, {"Priya", "priya"}, {"Kenji", "kenji"},
	{"Mary-Kate", "marykate"}, {"Jean-Luc", "jeanluc"}, {"Ngozi", "ngozi"}, {"Ölvir", "olvir"},
}

var lastNames = []name{
	{"O'Brien", "obrien"}, {"García", "garcia"}, {"Müller", "muller"}, {"D'Angelo", "dangelo"}, {"Nguyen", "nguyen"},
	{"Smith", "smith"}, {"Kowalski", "kowalski"}, {"Ødegaard", "odegaard"}, {"van der Berg", "vanderberg"},
	{"Dubois", "dubois"}, {"Rossi", "rossi"}, {"Papadopoulos", "papadopoulos"}, {"Ó Súilleabháin", "osuilleabhain"},
	{"Jones-Williams", "joneswilliams"}, {"Fernández", "fernandez"}, {"Schäfer", "schafer"}, {"de la Cruz", "delacruz"},
	{"Okafor", "okafor"}, {"Tanaka", "tanaka"}, {"Leroy", "leroy"},
}

// companies take a last name; some hold the commas, quotes, ampersands
// and apostrophes that need escaping in CSV, JSON and query strings.
var companies = []string{
	"%s & Söhne GmbH", "%s, Jones & Co.", `Café "%s"`, "%s Consulting Ltd.", "Brasserie L'Étoile %s",
	"%s e Hijos, S.L.", "%s AS", "Atelier %s SARL", "%s Logistics, Inc.", "%s's Bakery",
}

var domains = []string{"example.com", "example.org", "example.net", "mail.example.com"}

var line2s = []string{"Apt 4, 2nd floor", "c/o Müller", "Bâtiment B, 3e étage", `Unit 12 "The Yard"`, "PO Box 77"}

var notes = []string{
	`Prefers "evening" calls, not mornings.`,
	"Met at the Zürich fair; wants a quote by Friday.",
	"Client since 2019 – l'ancien client d'Émile.",
	"Calls only, no emails: O'Neill's rule.",
	"Ñandú order, 3 units, 50% deposit.",
	`Exports live in C:\exports\2024; ask for "v2".`,
	"Speaks 日本語 and English.",
}

var tags = []string{"VIP", "newsletter", "Café, Bar", `said "call back"`, "l'été 2024", "B2B", "wholesale", "Ödland"}

var words = []string{"Gold", "Silver, annual", "Trial – 30 days", "Référence client", "Partner's pick", `"Priority"`, "Standard"}

// person is who record i is: the name, company and country its fields
// share, so that a record's email, name and address belong together.
type person struct {
	first, last, company, slug string
	firstASCII, lastASCII      string
	domain                     string
	country                    *country
}

func newPerson(r *rand.Rand, _ int) *person {
	f, l := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
	return &person{
		first: f.text, last: l.text, firstASCII: f.ascii, lastASCII: l.ascii,
		company: fmt.Sprintf(companies[r.IntN(len(companies))], l.text),
		slug:    l.ascii,
		domain:  domains[r.IntN(len(domains))],
		country: &countries[r.IntN(len(countries))],
	}
}

// email is record i's address: unique by its number, in lower case so
// that it stays unique however a target folds case.
func (p *person) email(_ string, i int) string {
	return fmt.Sprintf("%s.%s.%d@%s", p.firstASCII, p.lastASCII, i+1, p.domain)
}

// national returns the national digits of a mobile number, valid by
// the country's numbering plan (a draw that is not is drawn again).
func (p *person) national(r *rand.Rand) string {
	c := p.country
	b := make([]byte, len(c.mobile)+c.digits)
	copy(b, c.mobile)
	for range 20 {
		for k := len(c.mobile); k < len(b); k++ {
			b[k] = byte('0' + r.IntN(10))
		}
		if validPhone(c.dial + string(b)) {
			break
		}
	}
	return string(b)
}

// e164 is a phone number in E.164: "+" and the digits.
func (p *person) e164(r *rand.Rand) string { return "+" + p.country.dial + p.national(r) }

// phone is a phone number as people write it: "+49 301 234 5678".
func (p *person) phone(r *rand.Rand) string {
	d := p.national(r)
	return fmt.Sprintf("+%s %s %s %s", p.country.dial, d[:3], d[3:6], d[6:])
}

// validPhone reports whether digits (the calling code and the national
// number) are a number of the plan the calling code names.
func validPhone(digits string) bool {
	n, err := phonenumbers.Parse("+"+digits, "")
	return err == nil && phonenumbers.IsValidNumber(n)
}
