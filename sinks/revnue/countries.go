package revnue

import (
	"strconv"
	"strings"

	"crmsync/sinks/revnue/internal/isocountry"
)

// countryCodes maps each name of isocountry.Names, in lower case, to its code.
var countryCodes = func() map[string]int {
	m := make(map[string]int, len(isocountry.Names))
	for code, name := range isocountry.Names {
		m[strings.ToLower(name)] = code
	}
	return m
}()

// countryCode returns the ISO 3166-1 numeric code of a country as Revnue
// reads it back: its English short name as ISO gives it, in any case (or
// its code, should Revnue answer one). ok is false for a name without a
// code: the connector cannot send such a country back (CodeCarryOver).
func countryCode(name string) (int, bool) {
	name = strings.TrimSpace(name)
	if code, ok := countryCodes[strings.ToLower(name)]; ok {
		return code, true
	}
	if n, err := strconv.Atoi(name); err == nil {
		if _, ok := isocountry.Names[n]; ok {
			return n, true
		}
	}
	return 0, false
}
