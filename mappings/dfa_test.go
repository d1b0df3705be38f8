package mappings

import (
	"math/rand/v2"
	"regexp"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// TestDigitDFAAgrees compares the automaton with package regexp on every
// general pattern of libphonenumber's metadata, for random digit strings
// of every length a national number can have.
func TestDigitDFAAgrees(t *testing.T) {
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	compiled, fallback := 0, 0
	for _, md := range coll.Metadata {
		for _, desc := range []*phonenumbers.PhoneNumberDesc{md.GetGeneralDesc(), md.GetFixedLine(), md.GetMobile(), md.GetTollFree()} {
			pattern := desc.GetNationalNumberPattern()
			if pattern == "" {
				continue
			}
			re := regexp.MustCompile("^(?:" + pattern + ")$")
			d, ok := compileDigitDFA(pattern)
			if !ok {
				fallback++
				continue
			}
			compiled++
			try := func(s []byte) {
				if got, want := d.match(s), re.Match(s); got != want {
					t.Fatalf("%s pattern %q on %q: automaton %v, regexp %v", md.GetId(), pattern, s, got, want)
				}
			}
			if ex := desc.GetExampleNumber(); ex != "" {
				try([]byte(ex))
				try([]byte(ex[:len(ex)-1]))
				try([]byte(ex + "0"))
			}
			for range 300 {
				b := make([]byte, rng.IntN(18))
				for i := range b {
					b[i] = byte('0' + rng.IntN(10))
				}
				try(b)
			}
		}
	}
	t.Logf("%d patterns compiled, %d left to regexp", compiled, fallback)
	if fallback > compiled/10 {
		t.Errorf("%d of %d patterns could not be compiled", fallback, compiled+fallback)
	}
}

func TestDigitDFA(t *testing.T) {
	d, ok := compileDigitDFA(`(?:1[2-4]\d{2}|5)?9`)
	if !ok {
		t.Fatal("not compiled")
	}
	for s, want := range map[string]bool{"9": true, "59": true, "12009": true, "1509": false, "": false, "a9": false, "99": false} {
		if got := d.match([]byte(s)); got != want {
			t.Errorf("%q: %v, want %v", s, got, want)
		}
	}
	if _, ok := compileDigitDFA(`^1$`); ok {
		t.Error("anchors accepted")
	}
	if _, ok := compileDigitDFA(`(`); ok {
		t.Error("bad pattern accepted")
	}
	// An automaton that would need too many states is refused.
	if _, ok := compileDigitDFA(`[0-9]*1[0-9]{13}`); ok {
		t.Error("state explosion not caught")
	}
}
