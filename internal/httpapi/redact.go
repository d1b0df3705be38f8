package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Redacted stands in for a secret removed from a text.
const Redacted = "[redacted]"

// A Redactor removes secrets from the text a server answers (an error
// body may echo the request's Authorization header, or the key itself)
// before the text is kept in an error, a reject, a log line, summary.json
// or report.html. A nil *Redactor removes only the generic credential
// forms (see String).
type Redactor struct {
	r *strings.Replacer
}

// NewRedactor returns a redactor for secrets (API keys, client secrets,
// tokens); empty ones are ignored.
func NewRedactor(secrets ...string) *Redactor {
	var forms []string
	for _, s := range secrets {
		if s == "" {
			continue
		}
		// The forms a server may echo it in: as sent, escaped in JSON
		// (some encoders escape '/'), in a URL, and in a Basic header.
		js, _ := json.Marshal(s)
		forms = append(forms, s, string(js[1:len(js)-1]), strings.ReplaceAll(string(js[1:len(js)-1]), "/", `\/`),
			url.QueryEscape(s), url.PathEscape(s), base64.StdEncoding.EncodeToString([]byte(s)))
	}
	slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) }) // longest first: one form may hold another
	forms = slices.Compact(forms)
	if len(forms) == 0 {
		return &Redactor{}
	}
	pairs := make([]string, 0, 2*len(forms))
	for _, f := range forms {
		pairs = append(pairs, f, Redacted)
	}
	return &Redactor{r: strings.NewReplacer(pairs...)}
}

// Credentials in a text, whoever's they are (a server that echoes
// headers may echo a proxy's too): the value of an Authorization header
// (after its scheme word), and a bearer token wherever it stands.
var (
	authHeader  = regexp.MustCompile(`(?i)(authorization["']?\s*[:=]\s*["']?)((?:bearer|basic|token|digest)\s+)?[^\s"',;}\[\]]+`)
	bearerToken = regexp.MustCompile(`(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}`)
)

// String returns s with every secret, and any credential in the forms
// above, replaced by Redacted.
func (r *Redactor) String(s string) string {
	if r != nil && r.r != nil {
		s = r.r.Replace(s)
	}
	s = authHeader.ReplaceAllString(s, "${1}${2}"+Redacted)
	return bearerToken.ReplaceAllString(s, "${1}"+Redacted)
}

// Bytes is String for a body.
func (r *Redactor) Bytes(b []byte) []byte { return []byte(r.String(string(b))) }
