package tiquotest

// apply writes the patch onto c, a copy the caller owns, as a JSON merge
// patch: an absent field stays, null clears an optional field, a value
// replaces it. address merges part by part (null clears one part; an
// address left without parts becomes null), tags replaces the whole list
// (null or [] clears it). The read-only fields are not in a patch at all.
func (p *patch) apply(c *customer) {
	for _, f := range []struct {
		m   member[string]
		dst *string
	}{{p.firstName, &c.FirstName}, {p.lastName, &c.LastName}, {p.email, &c.Email}} {
		// readBody refused null and "" for these.
		if f.m.set {
			*f.dst = f.m.v
		}
	}
	for _, f := range []struct {
		m   member[string]
		dst **string
	}{
		{p.phone, &c.Phone}, {p.dateOfBirth, &c.DateOfBirth}, {p.notes, &c.Notes},
		{p.preferredLocationID, &c.PreferredLocationID}, {p.companyID, &c.CompanyID},
	} {
		setOptional(f.m, f.dst)
	}
	setOptional(p.marketingConsent, &c.MarketingConsent)
	if p.tags.set {
		c.Tags = p.tags.v
		if c.Tags == nil {
			c.Tags = []string{}
		}
	}
	if p.address.set {
		if p.address.null {
			c.Address = nil
		} else {
			a := c.Address.clone()
			if a == nil {
				a = &address{}
			}
			for i, ap := range addressParts {
				setOptional(p.address.v[i], ap.get(a))
			}
			if a.empty() {
				a = nil
			}
			c.Address = a
		}
	}
}

func setOptional[T any](m member[T], dst **T) {
	switch {
	case !m.set:
	case m.null:
		*dst = nil
	default:
		v := m.v
		*dst = &v
	}
}
