package rowsink

import (
	"strings"
	"testing"
)

// matchKey gives two match values one key exactly when the target, which
// compares them as strings.EqualFold does, takes them for one: ASCII and
// other scripts alike, the Kelvin sign and the long s included.
func TestMatchKeyFoldsAsEqualFold(t *testing.T) {
	vals := []string{
		"ann@example.com", "Ann@Example.COM", "ANN@EXAMPLE.COM", "ann@example.co",
		"kim@example.com", "\u212Aim@example.com", "KIM@example.com",
		"ſam@example.com", "sam@example.com", "SAM@example.com",
		"σίσυφος@example.gr", "ΣΊΣΥΦΟΣ@example.gr", "ςίσυφος@example.gr",
		"straße@example.de", "STRASSE@example.de", "  ann@example.com ",
	}
	for _, a := range vals {
		for _, b := range vals {
			same := strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
			if got := matchKey(a, true) == matchKey(b, true); got != same {
				t.Errorf("matchKey(%q) == matchKey(%q) is %v, EqualFold says %v", a, b, got, same)
			}
			if got := matchKey(a, false) == matchKey(b, false); got != (strings.TrimSpace(a) == strings.TrimSpace(b)) {
				t.Errorf("without folding, %q and %q: %v", a, b, got)
			}
		}
	}
}
