package mappings

import (
	"strings"
	"testing"
)

func TestTranslateLayout(t *testing.T) {
	for in, want := range map[string]string{
		"YYYY-MM-DD":           "2006-01-02",
		"DD/MM/YYYY":           "02/01/2006",
		"dd/MM/yyyy":           "02/01/2006",
		"D.M.YY":               "2.1.06",
		"YYYY-MM-DDTHH:mm:ssZ": "2006-01-02T15:04:05Z07:00",
		"HH:mm:ss.SSS ZZ":      "15:04:05.000 -0700",
		"MMMM D, YYYY h:mm A":  "January 2, 2006 3:04 PM",
		"MMM D [at] hh:mm a":   "Jan 2 at 03:04 pm",
		"2006-01-02":           "2006-01-02",
		"02.01.2006 15:04":     "02.01.2006 15:04",
		"[Day] DD":             "Day 02",
		"YYYY[T]HH":            "2006T15",
		"iso":                  "2006-01-02T15:04:05Z07:00",
	} {
		l, err := translateLayout(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if l.goLayout != want {
			t.Errorf("%q → %q, want %q", in, l.goLayout, want)
		}
	}
	for in, msg := range map[string]string{
		"dd/mm/yyyy":   "minutes (mm) but no hour",
		"qqq":          "no date or time fields",
		"":             "no date or time fields",
		"[YYYY":        "without its ]",
		"[YYYY-MM-DD]": "no date or time fields",
	} {
		if _, err := translateLayout(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: error %v, want …%s…", in, err, msg)
		}
	}
	if l, err := translateLayout("UNIX"); err != nil || !l.unix {
		t.Errorf("UNIX: %+v %v", l, err)
	}
}

func TestLayoutCacheBounded(t *testing.T) {
	long := strings.Repeat("YYYY", 40)
	if _, err := parseLayout(long); err != nil {
		t.Fatal(err)
	}
	if _, ok := layoutCache.Load(long); ok {
		t.Error("a long layout was cached")
	}
	if _, err := parseLayout("YYYY"); err != nil {
		t.Fatal(err)
	}
	if _, ok := layoutCache.Load("YYYY"); !ok {
		t.Error("a short layout was not cached")
	}
}
