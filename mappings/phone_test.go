package mappings

import (
	"sort"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// TestFastPhoneAgrees holds the fast path to libphonenumber's Parse: for
// every region's example numbers, in every format and with typical
// damage, whatever fastPhone accepts must be read exactly as Parse reads
// it, and judged valid exactly as Parse's reading is.
func TestFastPhoneAgrees(t *testing.T) {
	p := plans()
	types := []phonenumbers.PhoneNumberType{phonenumbers.FIXED_LINE, phonenumbers.MOBILE, phonenumbers.TOLL_FREE,
		phonenumbers.PREMIUM_RATE, phonenumbers.VOIP, phonenumbers.PERSONAL_NUMBER, phonenumbers.UAN}
	var regions []string
	for r := range phonenumbers.GetSupportedRegions() {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	checked, fast := 0, 0
	for i, region := range regions {
		if (raceEnabled || testing.Short()) && i%5 != 0 {
			continue // a sample still covers every code path
		}
		for _, typ := range types {
			ex := phonenumbers.GetExampleNumberForType(region, typ)
			if ex == nil {
				continue
			}
			for _, format := range []phonenumbers.PhoneNumberFormat{phonenumbers.E164, phonenumbers.INTERNATIONAL, phonenumbers.NATIONAL} {
				s := phonenumbers.Format(ex, format)
				variants := []string{s, s[:len(s)-1], s + "5", s + "55", strings.ReplaceAll(s, " ", ""),
					strings.ReplaceAll(s, " ", "-"), strings.ReplaceAll(s, " ", "/"), "(" + s + ")"}
				if format == phonenumbers.INTERNATIONAL {
					if i := strings.IndexByte(s, ' '); i > 0 {
						variants = append(variants, s[:i]+" (0)"+s[i:], s[:i]+" 0"+s[i+1:], s[:i]+" 1"+s[i+1:])
					}
				}
				if format == phonenumbers.NATIONAL {
					variants = append(variants, "0"+s, "1"+s, "00"+s, "+"+s)
				}
				for _, v := range variants {
					for _, in := range []string{region, "DE", "US", ""} {
						checked++
						if agree(t, p, v, in) {
							fast++
						}
					}
				}
			}
		}
	}
	t.Logf("%d inputs, %d taken by the fast path", checked, fast)
	if fast < checked/3 {
		t.Errorf("the fast path took only %d of %d inputs", fast, checked)
	}
}

// agree compares fastPhone with Parse for one input; it reports whether
// the fast path took it.
func agree(t *testing.T, p *phonePlans, s, region string) bool {
	t.Helper()
	var digits [24]byte
	f, ok := fastPhone(s, p.byRegion[region], p, &digits)
	if !ok {
		return false
	}
	num, err := phonenumbers.Parse(s, region)
	if err != nil {
		t.Errorf("phone %q in %q: fast path read +%d %s, Parse failed: %v", s, region, f.cc, f.nsn, err)
		return true
	}
	cc, nsn := int(num.GetCountryCode()), phonenumbers.GetNationalSignificantNumber(num)
	if f.cc != cc || string(f.nsn) != nsn {
		t.Errorf("phone %q in %q: fast path read +%d %s, Parse +%d %s", s, region, f.cc, f.nsn, cc, nsn)
		return true
	}
	if got, want := p.planValid(f.cc, f.nsn, f.known, f.knownMatch), p.planValid(cc, []byte(nsn), nil, false); got != want {
		t.Errorf("phone %q in %q: fast path says valid=%v, Parse's reading %v", s, region, got, want)
	}
	return true
}

// TestPhonePlanMatchesLibrary checks that the numbering-plan test accepts
// every number libphonenumber calls valid.
func TestPhonePlanMatchesLibrary(t *testing.T) {
	p := plans()
	for r := range phonenumbers.GetSupportedRegions() {
		for _, typ := range []phonenumbers.PhoneNumberType{phonenumbers.FIXED_LINE, phonenumbers.MOBILE} {
			ex := phonenumbers.GetExampleNumberForType(r, typ)
			if ex == nil || !phonenumbers.IsValidNumber(ex) {
				continue
			}
			nsn := phonenumbers.GetNationalSignificantNumber(ex)
			if !p.planValid(int(ex.GetCountryCode()), []byte(nsn), nil, false) {
				t.Errorf("%s %s: valid for libphonenumber, not for the plan", r, phonenumbers.Format(ex, phonenumbers.E164))
			}
		}
	}
}
